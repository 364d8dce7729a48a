package browsertest

import (
	"testing"

	"github.com/storeprobe/storeprobe/probe/componenttest"
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

// webVitals is web-vitals under the rule, found at defaultPath when
// WEBVITALS is unset: a readable file, not an executable.
func webVitals(defaultPath string) componenttest.Component {
	return componenttest.Component{Name: "web-vitals", PathVar: WebVitalsVar, RequireVar: RequireWebVitalsVar,
		Defaults: componenttest.At(defaultPath), Install: "installs web-vitals with npm", Usable: componenttest.Readable}
}

// WebVitals returns the path of web-vitals' IIFE build, or skips or fails
// tb as the rule says.
func WebVitals(tb testing.TB) string {
	tb.Helper()
	return webVitals(DefaultWebVitals).Require(tb)
}
