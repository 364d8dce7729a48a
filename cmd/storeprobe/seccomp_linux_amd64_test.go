package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// What a container runtime does with a seccomp profile, without the
// runtime: the profile (the OCI runtime-spec's LinuxSeccomp, what runc,
// crun and containerd load) compiled into the classic-BPF filter the kernel
// runs, installed with no_new_privs and inherited across exec, as in a
// container. Only what deploy/seccomp/chrome.json uses is supported: x86-64,
// the allow and errno actions, and the EQ, NE and MASKED_EQ comparisons.

// Classic BPF opcodes and the seccomp ABI (linux/filter.h, linux/seccomp.h).
const (
	bpfLdAbsW  = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK    = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK    = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfAndK    = 0x54 // BPF_ALU | BPF_AND | BPF_K
	bpfRetK    = 0x06 // BPF_RET | BPF_K
	retAllow   = 0x7fff0000
	retErrno   = 0x00050000
	auditArchX = 0xc000003e // AUDIT_ARCH_X86_64
	x32Bit     = 0x40000000 // __X32_SYSCALL_BIT

	offNr   = 0
	offArch = 4
	offArgs = 16 // then 8 bytes per argument, low half first (little endian)

	seccompSetModeFilter = 1
	prSetNoNewPrivs      = 38
)

// syscallNumbers parses amd64SyscallTable.
func syscallNumbers() map[string]uint32 {
	f := strings.Fields(amd64SyscallTable)
	out := make(map[string]uint32, len(f)/2)
	for i := 0; i+1 < len(f); i += 2 {
		n, _ := strconv.ParseUint(f[i+1], 10, 32)
		out[f[i]] = uint32(n)
	}
	return out
}

// compileSeccomp turns a profile into a filter for x86-64. Names the
// architecture lacks are skipped, as runtimes do. Rules are tried in order
// and the first that matches decides; the profile never gives one syscall
// two rules with different actions, so order cannot change the outcome.
func compileSeccomp(p specs.LinuxSeccomp) ([]syscall.SockFilter, error) {
	nrs := syscallNumbers()
	def, err := seccompRet(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	stmt := func(code uint16, k uint32) syscall.SockFilter { return syscall.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) syscall.SockFilter {
		return syscall.SockFilter{Code: code, K: k, Jt: jt, Jf: jf}
	}
	prog := []syscall.SockFilter{
		stmt(bpfLdAbsW, offArch),
		jump(bpfJeqK, auditArchX, 1, 0),
		stmt(bpfRetK, def),
		stmt(bpfLdAbsW, offNr),
		jump(bpfJgeK, x32Bit, 0, 1),
		stmt(bpfRetK, def),
	}
	for _, rule := range p.Syscalls {
		ret, err := seccompRet(rule.Action, rule.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", rule.Names, err)
		}
		// The argument tests of the rule; each failing test jumps to the
		// end of the block, where the syscall number is loaded again.
		var args []syscall.SockFilter
		var fails []int // indexes in args of jumps whose false branch fails
		var failsTrue []int
		for _, a := range rule.Args {
			lo, hi := uint32(offArgs+8*a.Index), uint32(offArgs+8*a.Index+4)
			switch a.Op {
			case specs.OpEqualTo:
				args = append(args, stmt(bpfLdAbsW, lo), jump(bpfJeqK, uint32(a.Value), 0, 0))
				fails = append(fails, len(args)-1)
				args = append(args, stmt(bpfLdAbsW, hi), jump(bpfJeqK, uint32(a.Value>>32), 0, 0))
				fails = append(fails, len(args)-1)
			case specs.OpNotEqual:
				// Fails only when both halves are equal.
				args = append(args, stmt(bpfLdAbsW, lo), jump(bpfJeqK, uint32(a.Value), 0, 2),
					stmt(bpfLdAbsW, hi), jump(bpfJeqK, uint32(a.Value>>32), 0, 0))
				failsTrue = append(failsTrue, len(args)-1)
			case specs.OpMaskedEqual:
				args = append(args, stmt(bpfLdAbsW, lo), stmt(bpfAndK, uint32(a.Value)), jump(bpfJeqK, uint32(a.ValueTwo), 0, 0))
				fails = append(fails, len(args)-1)
				args = append(args, stmt(bpfLdAbsW, hi), stmt(bpfAndK, uint32(a.Value>>32)), jump(bpfJeqK, uint32(a.ValueTwo>>32), 0, 0))
				fails = append(fails, len(args)-1)
			default:
				return nil, fmt.Errorf("%v: operator %s not supported here", rule.Names, a.Op)
			}
		}
		for _, name := range rule.Names {
			nr, ok := nrs[name]
			if !ok {
				continue // not an x86-64 syscall
			}
			if len(args) == 0 {
				prog = append(prog, jump(bpfJeqK, nr, 0, 1), stmt(bpfRetK, ret))
				continue
			}
			// jeq nr; args...; ret; reload nr. A mismatch skips it all.
			block := append([]syscall.SockFilter{}, args...)
			reload := len(block) + 1 // index of the reload, relative to block
			for _, i := range fails {
				block[i].Jf = uint8(reload - i - 1)
			}
			for _, i := range failsTrue {
				block[i].Jt = uint8(reload - i - 1)
			}
			block = append(block, stmt(bpfRetK, ret), stmt(bpfLdAbsW, offNr))
			if len(block) > 255 {
				return nil, fmt.Errorf("%v: rule too long", rule.Names)
			}
			prog = append(prog, jump(bpfJeqK, nr, 0, uint8(len(block))))
			prog = append(prog, block...)
		}
	}
	return append(prog, stmt(bpfRetK, def)), nil
}

func seccompRet(action specs.LinuxSeccompAction, errnoRet *uint) (uint32, error) {
	switch action {
	case specs.ActAllow:
		return retAllow, nil
	case specs.ActErrno:
		errno := uint32(syscall.EPERM)
		if errnoRet != nil {
			errno = uint32(*errnoRet)
		}
		return retErrno | errno&0xffff, nil
	}
	return 0, fmt.Errorf("action %s not supported here", action)
}

// The helper process: TestChromeSandbox runs this test binary with these
// variables set; it becomes the container's user, confines itself with the
// profile and execs the command, which then runs as it would in a container
// with that profile.
const (
	helperProfileVar = "STOREPROBE_TEST_SECCOMP_PROFILE"
	helperArgvVar    = "STOREPROBE_TEST_SECCOMP_ARGV"
	helperUIDVar     = "STOREPROBE_TEST_SECCOMP_UID"
)

func TestSandboxSeccompHelper(t *testing.T) {
	profilePath := os.Getenv(helperProfileVar)
	if profilePath == "" {
		t.Skip("the helper process of TestChromeSandbox")
	}
	fail := func(format string, a ...any) {
		fmt.Fprintf(os.Stderr, "seccomp helper: "+format+"\n", a...)
		os.Exit(3)
	}
	var argv []string
	if err := json.Unmarshal([]byte(os.Getenv(helperArgvVar)), &argv); err != nil || len(argv) == 0 {
		fail("%s: %v", helperArgvVar, err)
	}
	data, err := os.ReadFile(profilePath)
	if err != nil {
		fail("%v", err)
	}
	var profile specs.LinuxSeccomp
	if err := json.Unmarshal(data, &profile); err != nil {
		fail("%s: %v", profilePath, err)
	}
	filter, err := compileSeccomp(profile)
	if err != nil {
		fail("%v", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "STOREPROBE_TEST_SECCOMP_") {
			env = append(env, kv)
		}
	}
	// The filter is installed on this thread, which then execs: exec keeps
	// the filter and ends the other threads.
	runtime.LockOSThread()
	if s := os.Getenv(helperUIDVar); s != "" {
		id, _ := strconv.Atoi(s)
		if err := syscall.Setgroups(nil); err != nil {
			fail("setgroups: %v", err)
		}
		if err := syscall.Setresgid(id, id, id); err != nil {
			fail("setresgid: %v", err)
		}
		if err := syscall.Setresuid(id, id, id); err != nil {
			fail("setresuid: %v", err)
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0, 0, 0, 0); e != 0 {
		fail("no_new_privs: %v", e)
	}
	prog := struct {
		Len    uint16
		Filter *syscall.SockFilter
	}{uint16(len(filter)), &filter[0]}
	if _, _, e := syscall.RawSyscall(uintptr(syscallNumbers()["seccomp"]), seccompSetModeFilter, 0, uintptr(unsafe.Pointer(&prog))); e != 0 {
		fail("seccomp: %v", e)
	}
	err = syscall.Exec(argv[0], argv, env)
	fail("exec %s: %v", argv[0], err)
}
