package browsertest

import (
	"fmt"
	"os"
	"testing"
)

// The tests that compare storeprobe's collector with Google's web-vitals
// library (the field definition of the vitals) load its IIFE build into
// their pages, by the same rule as Chromium: $WEBVITALS, or DefaultWebVitals
// when unset or empty; a missing file skips the test, or fails it when
// STOREPROBE_REQUIRE_WEBVITALS is set (`make test` sets it; `make deps`
// installs the library).
const (
	WebVitalsVar        = "WEBVITALS"
	RequireWebVitalsVar = "STOREPROBE_REQUIRE_WEBVITALS"
	DefaultWebVitals    = "/opt/webvitals/node_modules/web-vitals/dist/web-vitals.iife.js"
)

var webVitals = component{pathVar: WebVitalsVar, requireVar: RequireWebVitalsVar, name: "web-vitals", check: readable}

// WebVitals returns the path of web-vitals' IIFE build, or skips or fails
// tb as the rule says.
func WebVitals(tb testing.TB) string {
	tb.Helper()
	return apply(tb, webVitals.lookup(os.Getenv, testing.Short(), DefaultWebVitals))
}

// readable reports why path is not a readable regular file, or nil.
func readable(path string) error {
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
