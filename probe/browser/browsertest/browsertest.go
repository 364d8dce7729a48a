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
// The rule itself is probe/componenttest's, shared by every component; this
// package imports nothing else from storeprobe, so probe/browser's own tests
// can use it. The same rule, with its own variables, finds Google's
// web-vitals library, which the collector's tests compare with (see
// WebVitals).
package browsertest

import (
	"testing"

	"github.com/storeprobe/storeprobe/probe/componenttest"
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
type Result = componenttest.Result

// component is Chromium under the repository's one rule for components.
func component(defaultPath string) componenttest.Component {
	return componenttest.Component{Name: "Chromium", PathVar: PathVar, RequireVar: RequireVar,
		Defaults: componenttest.At(defaultPath), Install: "installs Debian's chromium"}
}

// Find applies the rule to this process's environment and flags, for a
// TestMain that has no testing.TB: it must fail (exit non-zero) on Fail and
// leave the tests that need the browser to skip on Skip.
func Find() Result { return component(DefaultPath).Find() }

// Chromium returns the path of the Chromium to start, or skips or fails tb
// as the rule says.
func Chromium(tb testing.TB) string {
	tb.Helper()
	return apply(tb, Find())
}

func apply(tb testing.TB, r Result) string {
	tb.Helper()
	return componenttest.Apply(tb, r)
}

// lookup is the rule over an environment lookup, the -short flag and the
// default path (a parameter so tests can point it at a file they control).
func lookup(getenv func(string) string, short bool, defaultPath string) Result {
	return component(defaultPath).Lookup(getenv, short)
}
