package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const seccompProfilePath = "seccomp/chrome.json"

// loadSeccomp decodes the profile strictly into the OCI runtime-spec type
// that runc, crun and containerd load (Docker and CRI-O read a superset):
// a key the runtimes do not know is an error here, not silently ignored.
func loadSeccomp(t *testing.T) specs.LinuxSeccomp {
	t.Helper()
	data, err := os.ReadFile(seccompProfilePath)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p specs.LinuxSeccomp
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%s: %v", seccompProfilePath, err)
	}
	if dec.More() {
		t.Fatalf("%s: data after the profile", seccompProfilePath)
	}
	return p
}

// seccompAction is what the profile does with a syscall whose first
// argument is arg0: the action of the first rule that matches, else the
// default (the profile gives no syscall two rules with different actions
// that could both match, so the order does not matter).
func seccompAction(p specs.LinuxSeccomp, name string, arg0 uint64) (specs.LinuxSeccompAction, uint) {
	for _, r := range p.Syscalls {
		if !slices.Contains(r.Names, name) {
			continue
		}
		match := true
		for _, a := range r.Args {
			if a.Index != 0 {
				match = false // the rules checked here only look at arg0
				continue
			}
			switch a.Op {
			case specs.OpEqualTo:
				match = match && arg0 == a.Value
			case specs.OpNotEqual:
				match = match && arg0 != a.Value
			case specs.OpMaskedEqual:
				match = match && arg0&a.Value == a.ValueTwo
			default:
				match = false
			}
		}
		if match {
			errno := uint(0)
			if r.ErrnoRet != nil {
				errno = *r.ErrnoRet
			}
			return r.Action, errno
		}
	}
	errno := uint(syscall.EPERM)
	if p.DefaultErrnoRet != nil {
		errno = *p.DefaultErrnoRet
	}
	return p.DefaultAction, errno
}

// TestSeccompProfile: deploy/seccomp/chrome.json is Docker's default
// profile plus exactly what Chrome's namespace sandbox needs. That Chrome
// really starts sandboxed under it, and not without each of its additions,
// is TestChromeSandbox in cmd/storeprobe, which runs the real Chromium.
func TestSeccompProfile(t *testing.T) {
	p := loadSeccomp(t)
	if p.DefaultAction != specs.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != uint(syscall.EPERM) {
		t.Errorf("default action %s/%v: want SCMP_ACT_ERRNO with EPERM, like Docker's (deny what is not listed)", p.DefaultAction, p.DefaultErrnoRet)
	}
	for _, arch := range []specs.Arch{specs.ArchX86_64, specs.ArchAARCH64} {
		if !slices.Contains(p.Architectures, arch) {
			t.Errorf("architectures %v lack %s", p.Architectures, arch)
		}
	}
	seen := map[string]specs.LinuxSeccompAction{}
	for _, r := range p.Syscalls {
		if r.Action != specs.ActAllow && r.Action != specs.ActErrno {
			t.Errorf("%v: action %s; only allow and errno are used", r.Names, r.Action)
		}
		for _, n := range r.Names {
			if a, ok := seen[n]; ok && a != r.Action {
				t.Errorf("%s has rules with different actions (%s, %s): the outcome would depend on their order", n, a, r.Action)
			}
			seen[n] = r.Action
		}
	}

	const (
		newNS, newCgroup, newUTS, newIPC = 0x00020000, 0x02000000, 0x04000000, 0x08000000
		newUser, newPID, newNet          = 0x10000000, 0x20000000, 0x40000000
		thread                           = 0x003d0f00 // what pthread_create passes
	)
	for _, tc := range []struct {
		what    string
		syscall string
		arg0    uint64
		want    specs.LinuxSeccompAction
		errno   uint
	}{
		// Chrome's namespace sandbox: the zygote in new user, PID and
		// network namespaces, then a chroot to drop the filesystem.
		{"Chrome's zygote", "clone", newUser | newPID | newNet, specs.ActAllow, 0},
		{"unshare a user namespace", "unshare", newUser, specs.ActAllow, 0},
		{"chroot (in Chrome's user namespace)", "chroot", 0, specs.ActAllow, 0},
		// What every program needs, as in Docker's profile.
		{"a thread", "clone", thread, specs.ActAllow, 0},
		{"fork", "clone", 0x01200011, specs.ActAllow, 0},
		// clone3's flags are in memory a filter cannot read: ENOSYS makes
		// glibc fall back to clone, which is filtered.
		{"clone3", "clone3", 0, specs.ActErrno, uint(syscall.ENOSYS)},
		// Namespaces Chrome does not use stay denied, with clone as with
		// unshare.
		{"a mount namespace", "clone", newUser | newNS, specs.ActErrno, uint(syscall.EPERM)},
		{"a UTS namespace", "clone", newUTS, specs.ActErrno, uint(syscall.EPERM)},
		{"an IPC namespace", "clone", newIPC, specs.ActErrno, uint(syscall.EPERM)},
		{"a cgroup namespace", "clone", newCgroup, specs.ActErrno, uint(syscall.EPERM)},
		{"unshare a mount namespace", "unshare", newUser | newNS, specs.ActErrno, uint(syscall.EPERM)},
		{"unshare a network namespace", "unshare", newNet, specs.ActErrno, uint(syscall.EPERM)},
		{"socket(AF_VSOCK)", "socket", 40, specs.ActErrno, uint(syscall.EPERM)},
		{"socket(AF_INET)", "socket", 2, specs.ActAllow, 0},
	} {
		got, errno := seccompAction(p, tc.syscall, tc.arg0)
		if got != tc.want || errno != tc.errno {
			t.Errorf("%s: %s(%#x) → %s errno %d, want %s errno %d", tc.what, tc.syscall, tc.arg0, got, errno, tc.want, tc.errno)
		}
	}
	// Docker's profile denies these without capabilities a probe never
	// has; the profile must not open them.
	for _, name := range []string{"setns", "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsmount",
		"bpf", "perf_event_open", "kexec_load", "init_module", "finit_module", "delete_module", "open_by_handle_at",
		"keyctl", "add_key", "request_key", "userfaultfd", "reboot", "swapon", "acct", "quotactl", "settimeofday",
		"clock_settime", "syslog", "lookup_dcookie", "iopl", "ioperm", "kcmp", "process_madvise", "sethostname",
		"setdomainname", "vhangup", "mbind", "set_mempolicy"} {
		if a, _ := seccompAction(p, name, 0); a != specs.ActErrno {
			t.Errorf("%s is allowed (%s); Docker's default denies it", name, a)
		}
	}
}
