// Package componenttest finds the real components that tests start
// (Chromium, influxd, mailpit, Alertmanager, Prometheus), so that every
// package follows one rule:
//
//   - With -short, tests that start a component are skipped.
//   - The binary is $PathVar (or one of its older names), else the first
//     default that is an executable file. A variable that names something
//     that is not an executable file counts as missing: it is never swapped
//     for a default, so a test runs the binary it was given or none.
//   - When the binary is missing, the test fails if RequireVar is set to any
//     non-empty value (`make test` sets it, so CI cannot pass without the
//     component's tests having run), and is skipped otherwise. Both messages
//     name the variables and what `make deps` does about it.
//
// It imports only the standard library, so any package's tests can use it.
package componenttest

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Component is a binary tests start.
type Component struct {
	Name       string   // for messages: "Chromium"
	PathVar    string   // the variable naming the binary: "CHROMIUM"
	OlderVars  []string // older names of PathVar, read when it is unset
	RequireVar string   // "STOREPROBE_REQUIRE_CHROMIUM"
	// Defaults lists where to look when no variable names the binary.
	Defaults func(getenv func(string) string) []string
	Install  string // what `make deps` does about it: "installs Debian's chromium"
	// Usable reports why a path is not the component; nil: Executable.
	// A library loaded as a file (web-vitals) uses Readable.
	Usable func(path string) error
}

func (c Component) usable(path string) error {
	if c.Usable != nil {
		return c.Usable(path)
	}
	return Executable(path)
}

// Result is the rule's verdict. Exactly one field is set: Path when there
// is a binary to start, else Skip or Fail with the message to report.
type Result struct {
	Path string
	Skip string
	Fail string
}

// Find applies the rule to this process's environment and flags, for a
// TestMain that has no testing.TB: it must fail on Fail and leave the tests
// that need the component to skip on Skip.
func (c Component) Find() Result {
	// testing.Short panics before the flags are parsed, and a TestMain runs
	// before m.Run parses them.
	if !flag.Parsed() {
		flag.Parse()
	}
	return c.Lookup(os.Getenv, testing.Short())
}

// Require returns the binary's path, or skips or fails tb as the rule says.
func (c Component) Require(tb testing.TB) string {
	tb.Helper()
	return Apply(tb, c.Find())
}

// Apply reports r on tb: Fatal on Fail, Skip on Skip, else r.Path. It
// returns "" after Skip or Fatal, for a tb whose Skip and Fatal return.
func Apply(tb testing.TB, r Result) string {
	tb.Helper()
	switch {
	case r.Fail != "":
		tb.Fatal(r.Fail)
		return ""
	case r.Skip != "":
		tb.Skip(r.Skip)
		return ""
	}
	return r.Path
}

// Lookup is the rule itself, over an environment lookup and the -short flag.
func (c Component) Lookup(getenv func(string) string, short bool) Result {
	if short {
		return Result{Skip: "-short: this test starts " + c.Name}
	}
	var missing string
	name, path := c.PathVar, getenv(c.PathVar)
	for _, v := range c.OlderVars {
		if path == "" {
			name, path = v, getenv(v)
		}
	}
	if path != "" {
		err := c.usable(path)
		if err == nil {
			return Result{Path: path}
		}
		missing = fmt.Sprintf("no %s at %s (from %s): %v", c.Name, path, name, err)
	} else {
		var defaults []string
		if c.Defaults != nil {
			defaults = c.Defaults(getenv)
		}
		for _, p := range defaults {
			if c.usable(p) == nil {
				return Result{Path: p}
			}
		}
		where := strings.Join(defaults, ", ")
		if where == "" {
			where = "no default location"
		}
		missing = fmt.Sprintf("no %s at %s (the default; set %s to use another)", c.Name, where, c.PathVar)
	}
	if getenv(c.RequireVar) != "" {
		return Result{Fail: fmt.Sprintf("%s; %s is set, so this fails: run `make deps` (it %s), or point %s at it",
			missing, c.RequireVar, c.Install, c.PathVar)}
	}
	return Result{Skip: fmt.Sprintf("%s; skipped because %s is unset (set it to fail instead; `make deps` %s)",
		missing, c.RequireVar, c.Install)}
}

// InGOPATH is the default of a binary `make deps` builds with go install:
// $GOPATH/bin/NAME for every GOPATH entry.
func InGOPATH(name string) func(getenv func(string) string) []string {
	return func(getenv func(string) string) []string {
		var out []string
		for _, dir := range filepath.SplitList(GOPATH(getenv)) {
			out = append(out, filepath.Join(dir, "bin", name))
		}
		return out
	}
}

// At is a fixed default location.
func At(paths ...string) func(getenv func(string) string) []string {
	return func(func(string) string) []string { return paths }
}

// GOPATH is $GOPATH, or what `go env GOPATH` says when it is unset (its
// default, $HOME/go, or a value set with `go env -w`).
func GOPATH(getenv func(string) string) string {
	if p := getenv("GOPATH"); p != "" {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err != nil {
		if home := getenv("HOME"); home != "" {
			return filepath.Join(home, "go")
		}
		return ""
	}
	return strings.TrimSpace(string(out))
}

// Executable reports why path is not an executable regular file, or nil.
func Executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}

// Readable reports why path is not a readable regular file, or nil.
func Readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", path)
	}
	return nil
}
