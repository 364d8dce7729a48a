package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// chromeSandboxRules are what deploy/seccomp/chrome.json adds to Docker's
// default profile (as Docker applies it, with its default capabilities):
// clone may create the user, PID and network namespaces of Chrome's
// namespace sandbox, and unshare a user namespace — Docker allows neither
// without SYS_ADMIN. The other namespace flags stay denied.
func chromeSandboxRules() []specs.LinuxSyscall {
	return []specs.LinuxSyscall{
		{Names: []string{"clone"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: cloneNewNS | cloneNewCgroup | cloneNewUTS | cloneNewIPC, Op: specs.OpMaskedEqual}}},
		{Names: []string{"unshare"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: cloneNewNS | cloneNewCgroup | cloneNewUTS | cloneNewIPC | cloneNewPID | cloneNewNet, Op: specs.OpMaskedEqual}}},
	}
}

// chrootRule is Docker's rule for its default SYS_CHROOT capability, which
// Chrome's sandbox needs too (it chroots into an empty directory to give up
// the filesystem). A runtime default generated for a container that drops
// every capability, as the manifests' pods do, lacks it.
func chrootRule() specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{"chroot"}, Action: specs.ActAllow}
}

// dockerCloneRule is Docker's: clone without any namespace flag.
func dockerCloneRule() specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{"clone"}, Action: specs.ActAllow,
		Args: []specs.LinuxSeccompArg{{Index: 0, Value: cloneNewNS | cloneNewCgroup | cloneNewUTS | cloneNewIPC | cloneNewUser | cloneNewPID | cloneNewNet, Op: specs.OpMaskedEqual}}}
}

// sysAdminRules are what Docker's profile (and containerd's and CRI-O's
// runtime default) adds for a container given CAP_SYS_ADMIN — the
// capabilities route: clone and clone3 unfiltered, unshare, setns, mount and
// the rest; clone3 no longer answers ENOSYS.
func sysAdminRules() []specs.LinuxSyscall {
	return []specs.LinuxSyscall{{Action: specs.ActAllow, Names: []string{"bpf", "clone", "clone3", "fanotify_init",
		"fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount",
		"open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
		"syslog", "umount", "umount2", "unshare"}}}
}

func clone3Rule() specs.LinuxSyscall {
	enosys := uint(syscall.ENOSYS)
	return specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys}
}

// Namespace flags of clone(2).
const (
	cloneNewNS     = 0x00020000
	cloneNewCgroup = 0x02000000
	cloneNewUTS    = 0x04000000
	cloneNewIPC    = 0x08000000
	cloneNewUser   = 0x10000000
	cloneNewPID    = 0x20000000
	cloneNewNet    = 0x40000000
)

const chromeProfile = "../../deploy/seccomp/chrome.json"

func loadProfile(t *testing.T) specs.LinuxSeccomp {
	t.Helper()
	data, err := os.ReadFile(chromeProfile)
	if err != nil {
		t.Fatal(err)
	}
	var p specs.LinuxSeccomp
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// without returns p without the given rules, and with the extra ones; it
// fails the test when p lacks one of them.
func without(t *testing.T, p specs.LinuxSeccomp, drop []specs.LinuxSyscall, extra ...specs.LinuxSyscall) specs.LinuxSeccomp {
	t.Helper()
	out := p
	out.Syscalls = nil
	removed := 0
	for _, r := range p.Syscalls {
		if slices.ContainsFunc(drop, func(c specs.LinuxSyscall) bool { return sameRule(r, c) }) {
			removed++
			continue
		}
		out.Syscalls = append(out.Syscalls, r)
	}
	if removed != len(drop) {
		t.Fatalf("%s holds %d of the %d rules expected", chromeProfile, removed, len(drop))
	}
	out.Syscalls = append(out.Syscalls, extra...)
	return out
}

func sameRule(a, b specs.LinuxSyscall) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestChromeSandbox runs the real Chromium through `storeprobe browse` the
// way the image runs it — as an unprivileged user, under a seccomp profile,
// with no_new_privs — for the routes the README describes:
//
//   - chrome.json with STOREPROBE_CHROME_FLAGS emptied: Chrome's own
//     sandbox is on (its renderers in their own user, PID and network
//     namespaces, under their own seccomp-bpf filter) and the page loads;
//   - chrome.json without any one of its rules for Chrome: Chrome does not
//     start, so each rule is needed;
//   - Docker's default profile: the sandboxed Chrome cannot start; with
//     SYS_ADMIN's rules added (the capabilities route) it can; with the
//     image's --no-sandbox it runs, unsandboxed.
func TestChromeSandbox(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	chromium := browsertest.Chromium(t)
	if reason := userNamespacesForbidden(); reason != "" {
		t.Skip("this kernel does not let an unprivileged user create user namespaces, which Chrome's sandbox needs: " + reason)
	}
	profile := loadProfile(t)
	dir := sandboxDir(t)
	bin := filepath.Join(dir, "storeprobe")
	copyFile(t, storeprobeBinary(t), bin)
	write := func(name string, p specs.LinuxSeccomp) string {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name+".json")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	chromeJSON := write("chrome", profile)
	dockerJSON := write("docker-default", without(t, profile, chromeSandboxRules(), dockerCloneRule()))
	imageFlags := dockerfileEnv(t)["STOREPROBE_CHROME_FLAGS"]

	t.Run("chrome.json, sandbox on", func(t *testing.T) {
		r := browseConfined(t, bin, chromium, chromeJSON, dir, "")
		if !r.ok {
			t.Fatalf("the sandboxed browser failed under chrome.json:\n%s", r.output)
		}
		if !r.sandboxed {
			t.Errorf("the renderer ran without Chrome's sandbox: %s", r.why)
		}
		t.Log(r.why)
	})
	needed := map[string]specs.LinuxSeccomp{
		"clone with namespaces": without(t, profile, chromeSandboxRules()[:1], dockerCloneRule()),
		"unshare":               without(t, profile, chromeSandboxRules()[1:]),
		"chroot":                without(t, profile, []specs.LinuxSyscall{chrootRule()}),
	}
	for name, p := range needed {
		t.Run("chrome.json without "+name, func(t *testing.T) {
			r := browseConfined(t, bin, chromium, write(strings.ReplaceAll(name, " ", "-"), p), dir, "")
			if r.ok {
				t.Fatalf("the sandboxed browser works without %s: chrome.json allows more than Chrome needs", name)
			}
		})
	}
	t.Run("Docker default, sandbox on", func(t *testing.T) {
		r := browseConfined(t, bin, chromium, dockerJSON, dir, "")
		if r.ok {
			t.Fatalf("Chrome's sandbox started under Docker's default profile; chrome.json's rules would be unneeded:\n%s", r.output)
		}
		if !strings.Contains(r.output, "namespace") {
			t.Errorf("the failure does not name the namespaces it was denied:\n%s", r.output)
		}
		t.Log(lastLines(r.output, 1))
	})
	t.Run("Docker default with SYS_ADMIN, sandbox on", func(t *testing.T) {
		// The capability itself does nothing for the image's non-root user
		// (the test's user has none either): what the route changes is the
		// profile the runtime derives from the capability set.
		p := without(t, profile, append(chromeSandboxRules(), clone3Rule()), sysAdminRules()...)
		r := browseConfined(t, bin, chromium, write("docker-sys-admin", p), dir, "")
		if !r.ok || !r.sandboxed {
			t.Fatalf("ok %v, sandboxed %v (%s):\n%s", r.ok, r.sandboxed, r.why, r.output)
		}
	})
	t.Run("Docker default, the image's flags", func(t *testing.T) {
		r := browseConfined(t, bin, chromium, dockerJSON, dir, imageFlags)
		if !r.ok {
			t.Fatalf("%q under Docker's default profile failed:\n%s", imageFlags, r.output)
		}
		if r.sandboxed {
			t.Errorf("with %q the renderer is still sandboxed: %s", imageFlags, r.why)
		}
		t.Log(r.why)
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// userNamespacesForbidden says why an unprivileged process may not create
// a user namespace here, or "" if it may.
func userNamespacesForbidden() string {
	for file, forbid := range map[string]string{
		"/proc/sys/user/max_user_namespaces":                     "0",
		"/proc/sys/kernel/unprivileged_userns_clone":             "0", // Debian and Ubuntu kernels
		"/proc/sys/kernel/apparmor_restrict_unprivileged_userns": "1", // Ubuntu 23.10+
	} {
		if b, err := os.ReadFile(file); err == nil && strings.TrimSpace(string(b)) == forbid {
			return file + " is " + forbid
		}
	}
	return ""
}

// sandboxDir is a directory the unprivileged user can use: the binary,
// the profiles, HOME and TMPDIR. Short, because Chrome's sockets live under
// TMPDIR and a Unix socket path has at most 107 bytes (t.TempDir's names are
// too long: Chrome's zygote then dies at start).
func sandboxDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sbx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// unprivilegedUID is nobody's uid: the test may run as root, the image's
// user never is.
const unprivilegedUID = 65534

type confinedBrowse struct {
	ok        bool
	output    string
	sandboxed bool   // the renderer had its own namespaces and filter
	why       string // what showed it
}

// browseConfined runs `storeprobe browse` confined by profile, with
// STOREPROBE_CHROME_FLAGS set to flags. The page holds one image until
// the renderer's confinement has been read from /proc.
func browseConfined(t *testing.T, bin, chromium, profile, dir, flags string) confinedBrowse {
	t.Helper()
	arrived, release := make(chan struct{}, 1), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			io.WriteString(w, `<!doctype html><title>sandbox</title><h1>sandbox</h1><img src="/held.png" alt="">`)
		case "/held.png":
			select {
			case arrived <- struct{}{}:
			default:
			}
			select {
			case <-release:
			case <-time.After(30 * time.Second):
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	argv, _ := json.Marshal([]string{bin, "browse", srv.URL + "/", "--output", "json", "--chrome", chromium,
		"--host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"})
	home, err := os.MkdirTemp(dir, "home")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o777); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSandboxSeccompHelper$", "-test.v=false")
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home, "TMPDIR=" + home,
		"STOREPROBE_CHROME_FLAGS=" + flags,
		helperProfileVar + "=" + profile, helperArgvVar + "=" + string(argv)}
	if os.Getuid() == 0 {
		cmd.Env = append(cmd.Env, helperUIDVar+"="+strconv.Itoa(unprivilegedUID))
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var r confinedBrowse
	select {
	case <-arrived:
		// The exec keeps the helper's pid: it is storeprobe now.
		r.sandboxed, r.why = rendererConfinement(t, cmd.Process.Pid)
		close(release)
	case err := <-exited:
		r.output = fmt.Sprintf("%v\n%s", err, out.String())
		return r
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-exited
		t.Fatalf("the page was never requested:\n%s", out.String())
	}
	err = <-exited
	r.output = out.String()
	var res struct {
		OK bool `json:"ok"`
	}
	jsonStart := strings.Index(r.output, "{")
	if err == nil && jsonStart >= 0 && json.Unmarshal([]byte(r.output[jsonStart:]), &res) == nil {
		r.ok = res.OK
	}
	return r
}

// rendererConfinement compares a renderer of the Chromium that storeprobe
// (pid) started with storeprobe itself: Chrome's sandbox puts renderers in
// new user, PID and network namespaces and adds its own seccomp filter.
func rendererConfinement(t *testing.T, pid int) (bool, string) {
	t.Helper()
	var chrome int
	for deadline := time.Now().Add(5 * time.Second); chrome == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		chrome = childOf(pid)
	}
	if chrome == 0 {
		t.Fatal("storeprobe started no Chromium")
	}
	var renderer int
	for _, p := range browser.GroupPIDs(chrome) {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
		if bytes.Contains(cmdline, []byte("--no-sandbox")) && !bytes.Contains(cmdline, []byte("--type=")) {
			return false, "Chromium was started with --no-sandbox"
		}
		if bytes.Contains(cmdline, []byte("--type=renderer")) {
			renderer = p
		}
	}
	if renderer == 0 {
		t.Fatal("no renderer while the page loads")
	}
	var differ []string
	for _, ns := range []string{"user", "pid", "net"} {
		a, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		b, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", renderer, ns))
		if a != b {
			differ = append(differ, ns)
		}
	}
	own, theirs := statusKB(pid, "Seccomp_filters:"), statusKB(renderer, "Seccomp_filters:")
	why := fmt.Sprintf("renderer %d: namespaces of its own %v, seccomp filters %d (storeprobe %d)", renderer, differ, theirs, own)
	return len(differ) == 3 && theirs > own, why
}

// childOf returns a child process of pid, or 0.
func childOf(pid int) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		c, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStatFields(c); len(f) > 1 && f[1] == strconv.Itoa(pid) {
			return c
		}
	}
	return 0
}
