// Package browsertest locates the Chromium that tests start. Every package
// whose tests need a real browser goes through it, so they all follow one
// rule:
//
//   - With -short, tests that start Chromium are skipped.
//   - The binary is $CHROMIUM, or /usr/bin/chromium when CHROMIUM is unset
//     or empty. A $CHROMIUM that is not an executable file counts as
//     missing: it is never swapped for the default, so a test runs the
//     browser it was given or none.
//   - When the binary is missing, the test fails if
//     STOREPROBE_REQUIRE_CHROMIUM is set to any non-empty value (`make test`
//     sets it, so CI cannot pass without the browser tests having run), and
//     is skipped otherwise. Both messages name the variables and `make deps`.
//
// The same rule, with its own variables, finds Google's web-vitals library,
// which the collector's tests compare with (see WebVitals).
//
// It imports nothing from storeprobe, so probe/browser's own tests can use it.
package browsertest

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

// The variables the rule reads; the Makefile passes exactly these.
const (
	PathVar    = "CHROMIUM"
	RequireVar = "STOREPROBE_REQUIRE_CHROMIUM"
)

// DefaultPath is the binary used when CHROMIUM is unset: Debian's chromium,
// what `make deps` installs. It equals browser.DefaultPath (a test in
// probe/browser keeps them together; this package cannot import it).
const DefaultPath = "/usr/bin/chromium"

// Result is the rule's verdict. Exactly one field is set: Path when there is
// a Chromium to start, else Skip or Fail with the message to report.
type Result struct {
	Path string
	Skip string
	Fail string
}

// Find applies the rule to this process's environment and flags, for a
// TestMain that has no testing.TB: it must fail (exit non-zero) on Fail and
// leave the tests that need the browser to skip on Skip.
func Find() Result {
	// testing.Short panics before the flags are parsed, and a TestMain runs
	// before m.Run parses them.
	if !flag.Parsed() {
		flag.Parse()
	}
	return lookup(os.Getenv, testing.Short(), DefaultPath)
}

// Chromium returns the path of the Chromium to start, or skips or fails tb
// as the rule says.
func Chromium(tb testing.TB) string {
	tb.Helper()
	return apply(tb, Find())
}

// apply reports r on tb: Fatal on Fail, Skip on Skip, else r.Path. It
// returns "" after Skip or Fatal, for a tb whose Skip and Fatal return.
func apply(tb testing.TB, r Result) string {
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

// lookup is the rule itself, over an environment lookup (os.Getenv), the
// -short flag and the default path (a parameter so tests can point it at a
// file they control).
func lookup(getenv func(string) string, short bool, defaultPath string) Result {
	return component{pathVar: PathVar, requireVar: RequireVar, name: "Chromium", check: executable}.lookup(getenv, short, defaultPath)
}

// component is what a test needs from outside Go: the variable naming its
// file, the variable that makes its absence a failure, and what makes the
// file usable.
type component struct {
	pathVar, requireVar, name string
	check                     func(path string) error
}

func (c component) lookup(getenv func(string) string, short bool, defaultPath string) Result {
	if short {
		return Result{Skip: "-short: this test starts Chromium"}
	}
	path, from := getenv(c.pathVar), "from "+c.pathVar
	if path == "" {
		path, from = defaultPath, "the default; set "+c.pathVar+" to use another"
	}
	err := c.check(path)
	if err == nil {
		return Result{Path: path}
	}
	missing := fmt.Sprintf("no %s at %s (%s): %v", c.name, path, from, err)
	if getenv(c.requireVar) != "" {
		return Result{Fail: missing + "; " + c.requireVar + " is set, so this fails: run `make deps` to install " + c.name + ", or point " + c.pathVar + " at it"}
	}
	return Result{Skip: missing + "; skipped because " + c.requireVar + " is unset (set it to fail instead; `make deps` installs " + c.name + ")"}
}

// executable reports why path is not an executable regular file, or nil.
func executable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", path)
	}
	return nil
}
