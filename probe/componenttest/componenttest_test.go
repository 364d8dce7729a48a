package componenttest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRule(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "tool")
	os.MkdirAll(filepath.Dir(exe), 0o755)
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	c := Component{Name: "Tool", PathVar: "TOOL", OlderVars: []string{"OLD_TOOL"}, RequireVar: "REQUIRE_TOOL",
		Defaults: InGOPATH("tool"), Install: "builds the tool"}
	for _, tc := range []struct {
		name             string
		env              map[string]string
		short            bool
		path, skip, fail string
	}{
		{"variable", map[string]string{"TOOL": exe}, false, exe, "", ""},
		{"older variable", map[string]string{"OLD_TOOL": exe}, false, exe, "", ""},
		{"the variable wins over an older one", map[string]string{"TOOL": plain, "OLD_TOOL": exe}, false, "", "from TOOL", ""},
		{"default", map[string]string{"GOPATH": dir}, false, exe, "", ""},
		{"short skips even when required", map[string]string{"TOOL": exe, "REQUIRE_TOOL": "1"}, true, "", "-short", ""},
		{"not executable, not required", map[string]string{"TOOL": plain, "GOPATH": dir}, false, "", "REQUIRE_TOOL is unset", ""},
		{"not executable is never swapped for the default", map[string]string{"TOOL": plain, "GOPATH": dir, "REQUIRE_TOOL": "1"}, false, "", "", "make deps"},
		{"missing default, required", map[string]string{"GOPATH": filepath.Join(dir, "none"), "REQUIRE_TOOL": "x"}, false, "", "", "REQUIRE_TOOL is set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.Lookup(func(k string) string { return tc.env[k] }, tc.short)
			set := 0
			for _, s := range []string{r.Path, r.Skip, r.Fail} {
				if s != "" {
					set++
				}
			}
			if set != 1 {
				t.Fatalf("%+v: want exactly one field set", r)
			}
			if r.Path != tc.path || !strings.Contains(r.Skip, tc.skip) || (tc.skip == "") != (r.Skip == "") ||
				!strings.Contains(r.Fail, tc.fail) || (tc.fail == "") != (r.Fail == "") {
				t.Errorf("%+v, want path %q skip ~%q fail ~%q", r, tc.path, tc.skip, tc.fail)
			}
		})
	}
}
