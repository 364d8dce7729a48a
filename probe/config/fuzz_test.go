package config

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe"
)

// FuzzParse: whatever the bytes, Parse returns a config or probe.Problems whose
// every problem has a position, and never panics.
func FuzzParse(f *testing.F) {
	full, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(full)
	for _, tc := range problemCases {
		f.Add([]byte(tc.yaml))
	}
	f.Add([]byte("checks:\n  - <<: [*a, {b: c}]\n"))
	f.Add([]byte("a: &a {name: x}\nchecks: [*a, *a, {<<: *a}]\n"))
	f.Add([]byte("checks:\n  - {name: x, url: \"http://x/${A}\", schedule: \"TZ=X 1 * * * *\"}\n"))
	env := testEnv(map[string]string{"A": "1"})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, env, withHostname(fixedHost))
		if err == nil {
			if cfg == nil || len(cfg.Checks) == 0 {
				t.Fatalf("no error and no checks: %+v", cfg)
			}
			return
		}
		var errs probe.Problems
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error %v is not a non-empty probe.Problems", err)
		}
		for _, p := range errs {
			if p.Line < 1 || p.Message == "" || strings.Contains(p.Message, "\n") && p.File == "f.yaml" {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}
