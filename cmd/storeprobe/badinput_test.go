package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// TestValidateHostileFiles feeds `storeprobe validate` files that are
// broken on purpose, from a typo to a billion laughs: each must exit 2 with
// every problem as FILE:LINE: message, without a panic and with bounded
// memory (what the whole call allocated, not only what it kept).
func TestValidateHostileFiles(t *testing.T) {
	const check = "checks:\n  - name: home\n    url: https://shop.example/\n    schedule: \"@every 1m\"\n"
	junk := make([]byte, 64<<10)
	rng := rand.NewChaCha8([32]byte{1})
	rng.Read(junk)
	laughs := "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
	for i := 'b'; i <= 'j'; i++ {
		laughs += fmt.Sprintf("%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	laughs += "checks: *j\n"
	blockNest := "checks:\n"
	for i := range 2000 {
		blockNest += strings.Repeat(" ", i+2) + "- \n"
	}
	tests := []struct {
		name string
		data string // or path, for /dev/zero
		path string
		// journey, if set, is a journey file's text; the config is one
		// journey check naming it.
		journey string
		want    string // a substring of one problem
	}{
		{name: "syntax error", data: "checks:\n  - name: home\n   url: x\n", want: ":2: YAML syntax: did not find expected '-' indicator"},
		{name: "unknown key", data: check + "    retires: 2\n", want: `:5: check "home": unknown key "retires" (did you mean "retries"?)`},
		{name: "wrong types", data: check + "    timeout: 10\n    insecure: yes\n", want: ":5: check \"home\": timeout: want a duration"},
		{name: "bad cron", data: strings.Replace(check, "@every 1m", "*/5 * * *", 1), want: `:4: check "home": invalid schedule`},
		{name: "deep flow nesting", data: "checks: " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n", want: ":1: checks[0]: want a mapping"},
		{name: "nesting past the parser's limit", data: "checks: " + strings.Repeat("[", 20000) + "\n", want: ":1: YAML syntax: exceeded max depth"},
		{name: "deep block nesting", data: blockNest, want: "want a mapping"},
		{name: "billion laughs", data: laughs, want: ":9: checks[0]: want a mapping, got a list"},
		{name: "10 MB file", data: check + "# " + strings.Repeat("x", 10<<20) + "\n", want: ":5: the file is over 8 MiB"},
		{name: "a million list items", data: "checks:\n" + strings.Repeat("- a\n", 1<<20), want: ":300001: the file holds over 300000 lines and values"},
		{name: "just under the token limit", data: "checks:\n" + strings.Repeat("- a\n", 299_000), want: "want a mapping"},
		{name: "binary junk", data: string(junk), want: ": YAML syntax"},
		{name: "NUL bytes", data: check + "    method: GE\x00T\n", want: ":5: YAML syntax: control characters are not allowed"},
		{name: "endless file", path: "/dev/zero", want: ":1: "},
		// The same hostility in a journey file a config names: its
		// problems are the journey file's lines.
		{name: "journey syntax error", journey: "name: j\nsteps:\n  - goto: https://x/\n   click: y\n", want: ":3: YAML: did not find expected '-' indicator"},
		{name: "journey unknown key", journey: "name: j\nsteps:\n  - goto: https://x/\n    tiemout: 5s\n", want: ":4: "},
		{name: "journey billion laughs", journey: strings.Replace(laughs, "checks: *j", "name: j\nsteps: *j", 1), want: ":1: unknown key \"a\""},
		{name: "journey over 1 MiB", journey: "name: j\nsteps:\n" + strings.Repeat("  - goto: https://x/\n", 100_000), want: ":1: file is larger than 1048576 bytes"},
		{name: "journey binary junk", journey: string(junk), want: ":1: YAML"},
		{name: "journey deep nesting", journey: "name: j\nsteps: " + strings.Repeat("[", 20000) + "\n", want: ":2: "},
	}
	problemLine := regexp.MustCompile(`^[^:]+:\d+: \S`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, prefix := tt.path, tt.path
			if tt.journey != "" {
				dir := t.TempDir()
				path, prefix = filepath.Join(dir, "storeprobe.yaml"), filepath.Join(dir, "j.yaml")
				cfg := "checks:\n  - name: buy\n    type: journey\n    journey: j.yaml\n    schedule: \"@every 1m\"\n"
				if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(prefix, []byte(tt.journey), 0o600); err != nil {
					t.Fatal(err)
				}
			} else if path == "" {
				path = filepath.Join(t.TempDir(), "storeprobe.yaml")
				prefix = path
				if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			code, out, errOut := runWithEnv(t, nil, "validate", "--config", path)
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d problem lines, %d MiB allocated", strings.Count(errOut, "\n"), allocated>>20)
			if code != exitUsage || out != "" {
				t.Fatalf("exit %d, stdout %q; want 2 and nothing", code, out)
			}
			lines := strings.Split(strings.TrimRight(errOut, "\n"), "\n")
			if len(lines) < 2 || !strings.Contains(errOut, tt.want) {
				t.Fatalf("stderr does not hold %q:\n%s", tt.want, clip(errOut))
			}
			for _, l := range lines[:len(lines)-1] { // the last is the summary
				if !strings.HasPrefix(l, prefix+":") || !problemLine.MatchString(l) {
					t.Errorf("not FILE:LINE: message: %q", clip(l))
				}
			}
			// What parsing the largest file it accepts (just under the
			// token limit) costs, with room to spare; a runaway is gigabytes.
			// make test also runs this without -race, where the tight bound
			// holds.
			bound := uint64(200 << 20)
			if raceEnabled {
				bound *= 2
			}
			if allocated > bound {
				t.Errorf("allocated %d MiB, want at most %d MiB", allocated>>20, bound>>20)
			}
		})
	}
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}
