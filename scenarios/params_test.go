package scenarios

import (
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe"
)

const applySrc = `name: apply
params:
  base_url: "https://shop.example.com"
  term: "red shoes"
  email: ""
  password: "hunter2-long"
  shot: cart
steps:
  - goto: "{{base_url}}/search?q={{ term | query }}"
    page: "search {{term}}"
  - click: "a[href*='{{term}}']"
    name: "open {{term}}"
  - wait_for: {url: "^{{base_url}}/cart$"}
  - wait_for: {text: "Results for {{term}}"}
  - type: {selector: "#email", text: "{{email}}", secret: true}
  - type: {selector: "#pw", text: "{{password}}"}
  - select: {selector: "#size", value: "{{term}}"}
  - assert_url: "{{base_url}}/checkout"
  - screenshot: "{{shot}}"
  - sleep: 1s
`

func TestApply(t *testing.T) {
	j, err := Parse("apply.yaml", []byte(applySrc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	orig := slices.Clone(j.Steps)
	got, err := Apply(j, map[string]string{"email": "me@example.com", "term": "a+b (c)"})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !reflect.DeepEqual(j.Steps, orig) {
		t.Error("Apply modified its input's steps")
	}
	want := []probe.Step{
		{Line: 9, Action: probe.ActionGoto, Name: "goto https://shop.example.com/search?q=a%2Bb+%28c%29",
			URL: "https://shop.example.com/search?q=a%2Bb+%28c%29", Page: "search a+b (c)"},
		{Line: 11, Action: probe.ActionClick, Name: "open a+b (c)", Selector: "a[href*='a+b (c)']"},
		{Line: 13, Action: probe.ActionWaitFor, Name: `wait_for url ^https://shop\.example\.com/cart$`,
			URLMatch: `^https://shop\.example\.com/cart$`},
		{Line: 14, Action: probe.ActionWaitFor, Name: `wait_for text "Results for a+b (c)"`, Text: "Results for a+b (c)"},
		{Line: 15, Action: probe.ActionType, Name: "type #email", Selector: "#email", Text: "me@example.com", Secret: true},
		{Line: 16, Action: probe.ActionType, Name: "type #pw", Selector: "#pw", Text: "hunter2-long"},
		{Line: 17, Action: probe.ActionSelect, Name: "select #size", Selector: "#size", Value: "a+b (c)"},
		{Line: 18, Action: probe.ActionAssertURL, Name: `assert_url https://shop\.example\.com/checkout`,
			URL: `https://shop\.example\.com/checkout`},
		{Line: 19, Action: probe.ActionScreenshot, Name: "screenshot cart", Shot: "cart"},
		{Line: 20, Action: probe.ActionSleep, Name: "sleep 1s", Sleep: 1e9},
	}
	if !reflect.DeepEqual(got.Steps, want) {
		for i := range max(len(got.Steps), len(want)) {
			var g, w probe.Step
			if i < len(got.Steps) {
				g = got.Steps[i]
			}
			if i < len(want) {
				w = want[i]
			}
			if !reflect.DeepEqual(g, w) {
				t.Errorf("step %d:\n got %+v\nwant %+v", i+1, g, w)
			}
		}
	}
	if got.Params["term"] != "a+b (c)" || got.Params["base_url"] != "https://shop.example.com" {
		t.Errorf("params not merged: %v", got.Params)
	}
	// A substituted value matches literally inside a pattern.
	re := regexp.MustCompile(got.Steps[2].URLMatch)
	if !re.MatchString("https://shop.example.com/cart") || re.MatchString("https://shopXexample.com/cart") {
		t.Errorf("pattern %q does not treat the base URL literally", re)
	}
	if wantSecret := []string{"email", "password"}; !reflect.DeepEqual(got.SecretParams, wantSecret) {
		t.Errorf("SecretParams = %v, want %v", got.SecretParams, wantSecret)
	}
	secrets := got.SecretValues()
	for _, s := range []string{"me@example.com", "hunter2-long"} {
		if !slices.Contains(secrets, s) {
			t.Errorf("SecretValues %q misses %q", secrets, s)
		}
	}
	for _, s := range got.Steps {
		if strings.Contains(s.Name, "me@example.com") {
			t.Errorf("step name %q shows typed secret text", s.Name)
		}
	}
}

func TestApplyErrors(t *testing.T) {
	j, err := Parse("apply.yaml", []byte(applySrc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	tests := []struct {
		name   string
		params map[string]string
		want   string
	}{
		{"missing", nil,
			"journey apply.yaml: param email has no value: set it with --param email=VALUE or under params: in the config"},
		{"override with empty", map[string]string{"email": "a@b.example", "term": ""},
			"journey apply.yaml: param term has no value: set it with --param term=VALUE or under params: in the config"},
		{"several missing", map[string]string{"base_url": "", "email": ""},
			"journey apply.yaml: params base_url, email have no value: set it with --param base_url=VALUE or under params: in the config"},
		{"unknown", map[string]string{"emial": "x", "email": "a@b.example"},
			"journey apply.yaml: unknown param emial (it declares: base_url, email, password, shot, term)"},
		{"bad url after substitution", map[string]string{"email": "a@b.example", "base_url": "shop.example.com"},
			`apply.yaml:9: goto shop.example.com/search?q=red+shoes: URL "shop.example.com/search?q=red+shoes": want an absolute http:// or https:// URL`},
		{"bad selector after substitution", map[string]string{"email": "a@b.example", "term": "x']"},
			`apply.yaml:11: click: bad CSS selector "a[href*='x']']" after substitution: unclosed '`},
		{"bad screenshot name", map[string]string{"email": "a@b.example", "shot": "a/b"},
			`apply.yaml:19: screenshot: name "a/b": want letters, digits, . _ - (it becomes a file name)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(j, tt.params)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Apply error:\n got %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestApplyUnreferencedEmptyParamIsFine(t *testing.T) {
	j, err := Parse("j.yaml", []byte("params: {unused: \"\"}\nsteps:\n  - goto: http://a.example/\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Apply(j, nil); err != nil {
		t.Errorf("Apply: %v", err)
	}
}

func TestTemplates(t *testing.T) {
	names := TemplateNames()
	if want := []string{"custom", "magento", "shopify", "woocommerce"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("TemplateNames = %v, want %v", names, want)
	}
	example := map[string]string{"base_url": "https://shop.example.com", "search_term": "linen shirt"}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			j, err := Template(name)
			if err != nil {
				t.Fatalf("Template: %v", err)
			}
			if j.Description == "" || j.Timeout == 0 {
				t.Errorf("template lacks a description or timeout: %+v", j)
			}
			if _, err := Apply(j, nil); err == nil || !strings.Contains(err.Error(), "base_url") {
				t.Errorf("Apply without params: %v, want an error naming base_url", err)
			}
			a, err := Apply(j, example)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			pages := map[string]bool{}
			for _, s := range a.Steps {
				if strings.Contains(s.Name+s.URL+s.Selector+s.Text+s.URLMatch+s.Value, "{{") {
					t.Errorf("line %d: placeholder left after Apply: %+v", s.Line, s)
				}
				if s.Page != "" {
					pages[s.Page] = true
				}
				if s.Action == probe.ActionGoto && !strings.HasPrefix(s.URL, "https://shop.example.com/") {
					t.Errorf("line %d: goto %s leaves the shop", s.Line, s.URL)
				}
				if s.Secret || s.Action == probe.ActionType && strings.Contains(s.Selector, "card") {
					t.Errorf("line %d: a template must not type personal or payment data: %+v", s.Line, s)
				}
			}
			for _, p := range []string{"home", "search", "product", "cart", "checkout"} {
				if !pages[p] {
					t.Errorf("no %s page in %v", p, pages)
				}
			}
			last := a.Steps[len(a.Steps)-1]
			if last.Action != probe.ActionScreenshot {
				t.Errorf("last step %q: want a screenshot of the checkout", last.Name)
			}
			src, err := TemplateYAML(name)
			if err != nil || !strings.Contains(string(src), "{{base_url}}") {
				t.Errorf("TemplateYAML: %v", err)
			}
		})
	}
	if _, err := Template("../demo/checkout"); err == nil {
		t.Error("Template accepted a path")
	}
	if _, err := Template("bigcommerce"); err == nil ||
		err.Error() != `unknown template "bigcommerce" (want one of custom, magento, shopify, woocommerce)` {
		t.Errorf("unknown template: %v", err)
	}
}

func TestDemoJourney(t *testing.T) {
	j, err := DemoJourney()
	if err != nil {
		t.Fatalf("DemoJourney: %v", err)
	}
	a, err := Apply(j, map[string]string{"base_url": "http://127.0.0.1:8080"})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if !slices.Contains(a.SecretValues(), "shopper@example.com") {
		t.Errorf("the typed e-mail is not a secret: %v", a.SecretParams)
	}
	if len(DemoJourneyYAML()) == 0 {
		t.Error("DemoJourneyYAML is empty")
	}
}

func TestCheckSelector(t *testing.T) {
	valid := []string{"a", "#id", ".a .b", "a > b", "a>b", "h1 + p", "a ~ b", "a[href*='/products/']",
		"form[action*='/cart/add'] button[type=submit]", ".cky-btn-accept, .cmplz-accept", "li:nth-child(2n+1)",
		"a[title='a,b']", `input[value="x]"]`, "a:not(.b, .c)", `#a\.b`, `#a\,b`, "[data-role=proceed-to-checkout]"}
	for _, s := range valid {
		if err := checkSelector(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	invalid := map[string]string{
		"a[href":       `unclosed '['`,
		"a)":           `unbalanced ')'`,
		"a[x)":         `unbalanced ')'`,
		"a,":           "empty item in the selector list",
		",a":           "empty item in the selector list",
		"a,,b":         "empty item in the selector list",
		"a >, b":       "empty item in the selector list",
		"  ":           "empty item in the selector list",
		"a >":          `ends with the combinator '>'`,
		"a[title='x]":  "unclosed '",
		"a:not(.b":     `unclosed '('`,
		`a[title="x]`:  `unclosed "`,
		"button.add +": `ends with the combinator '+'`,
	}
	for s, want := range invalid {
		if err := checkSelector(s); err == nil || err.Error() != want {
			t.Errorf("%q: got %v, want %s", s, err, want)
		}
	}
}
