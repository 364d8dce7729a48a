package scenarios

import (
	"errors"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe"
)

func FuzzParse(f *testing.F) {
	for _, name := range TemplateNames() {
		src, err := TemplateYAML(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add(DemoJourneyYAML())
	f.Add([]byte(applySrc))
	f.Add([]byte("steps:\n  - goto: {{base_url}}/\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("steps:\n  - wait_for: {url: \"{{x | query}}(\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := Parse("f.yaml", data)
		if err != nil {
			var probs probe.Problems
			if !errors.As(err, &probs) || len(probs) == 0 {
				t.Fatalf("error %T without problems: %v", err, err)
			}
			for _, p := range probs {
				if p.Line < 1 || p.File != "f.yaml" || p.Message == "" {
					t.Fatalf("malformed problem %+v", p)
				}
			}
			return
		}
		if len(j.Steps) == 0 {
			t.Fatal("a journey without steps parsed")
		}
		for _, s := range j.Steps {
			if s.Line < 1 || !contains(actionKeys, s.Action) {
				t.Fatalf("bad step %+v", s)
			}
		}
		// Every placeholder Parse accepted must be substitutable.
		params := map[string]string{}
		for k := range j.Params {
			params[k] = "v"
		}
		a, err := Apply(j, params)
		if err != nil {
			var probs probe.Problems
			if errors.As(err, &probs) {
				return // a value made a URL or name invalid: reported, fine
			}
			if !strings.Contains(err.Error(), "no value") {
				t.Fatalf("Apply of a parsed journey: %v", err)
			}
			return
		}
		for _, s := range a.Steps {
			if s.Name == "" {
				t.Fatalf("step without a name after Apply: %+v", s)
			}
			if s.Action == probe.ActionGoto && strings.Contains(s.URL, "{{") && strings.Contains(s.URL, "}}") {
				if refs, _ := scanPlaceholders(s.URL); len(refs) > 0 {
					t.Fatalf("placeholder left in %q", s.URL)
				}
			}
		}
	})
}
