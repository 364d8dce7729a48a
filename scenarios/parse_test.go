package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func TestParseValid(t *testing.T) {
	src := `name: checkout
description: the issue's example
device: mobile
timeout: 60s
params: {base_url: "https://shop.example.com", email: ""}
steps:
  - goto: "{{base_url}}/"
    page: home
  - click: "a.product-card"
    page: product
  - click: "#add-to-cart"
  - wait_for: {text: "Added to cart"}
  - wait_for: {selector: "#cart"}
  - wait_for: {url: "/cart$"}
  - type: {selector: "#email", text: "{{email}}", secret: true}
  - select: {selector: "#country", value: "DE"}
  - select: {selector: "#qty", value: 2}
  - assert_text: {selector: "h1", text: "Checkout"}
  - assert_text: {text: "Total"}
  - assert_url: "/checkout"
  - click: "#accept-cookies"
    optional: true
    name: cookies
    timeout: 2s
  - screenshot: cart
  - sleep: 500ms
  - wait_for_payment: stripe
    timeout: 20s
`
	j, err := Parse("checkout.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := probe.Journey{
		Name:         "checkout",
		Description:  "the issue's example",
		File:         "checkout.yaml",
		Device:       "mobile",
		Timeout:      60 * time.Second,
		Params:       map[string]string{"base_url": "https://shop.example.com", "email": ""},
		SecretParams: []string{"email"},
		Steps: []probe.Step{
			{Line: 7, Action: probe.ActionGoto, URL: "{{base_url}}/", Page: "home"},
			{Line: 9, Action: probe.ActionClick, Selector: "a.product-card", Page: "product"},
			{Line: 11, Action: probe.ActionClick, Selector: "#add-to-cart"},
			{Line: 12, Action: probe.ActionWaitFor, Text: "Added to cart"},
			{Line: 13, Action: probe.ActionWaitFor, Selector: "#cart"},
			{Line: 14, Action: probe.ActionWaitFor, URLMatch: "/cart$"},
			{Line: 15, Action: probe.ActionType, Selector: "#email", Text: "{{email}}", Secret: true},
			{Line: 16, Action: probe.ActionSelect, Selector: "#country", Value: "DE"},
			{Line: 17, Action: probe.ActionSelect, Selector: "#qty", Value: "2"},
			{Line: 18, Action: probe.ActionAssertText, Selector: "h1", Text: "Checkout"},
			{Line: 19, Action: probe.ActionAssertText, Selector: "body", Text: "Total"},
			{Line: 20, Action: probe.ActionAssertURL, URL: "/checkout"},
			{Line: 21, Action: probe.ActionClick, Selector: "#accept-cookies", Optional: true, Name: "cookies", Timeout: 2 * time.Second},
			{Line: 25, Action: probe.ActionScreenshot, Shot: "cart"},
			{Line: 26, Action: probe.ActionSleep, Sleep: 500 * time.Millisecond},
			{Line: 27, Action: probe.ActionWaitForPayment, Payment: probe.PaymentStripe, Timeout: 20 * time.Second},
		},
	}
	if !reflect.DeepEqual(j, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", j, want)
	}
}

func TestParseDefaultsAndAliases(t *testing.T) {
	src := `params:
  base_url: &u "https://a.example"
steps:
  - &home
    goto: "{{base_url}}/"
  - *home
`
	j, err := Parse("dir/my-journey.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if j.Name != "my-journey" {
		t.Errorf("name = %q, want the file's base name", j.Name)
	}
	if len(j.Steps) != 2 || j.Steps[1].URL != "{{base_url}}/" {
		t.Errorf("aliased step not resolved: %+v", j.Steps)
	}
}

func TestParseProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // every problem, in order, without the "j.yaml:" prefix
	}{
		{"empty file", "", []string{"1: empty journey: want name, params and steps"}},
		{"only a comment", "# nothing\n", []string{"1: empty journey: want name, params and steps"}},
		{"not a mapping", "- goto: x\n", []string{"1: want a mapping with name, params and steps, got a list"}},
		{"no steps key", "name: x\n", []string{"1: no steps: a journey needs a steps list"}},
		{"empty steps", "name: x\nsteps: []\n", []string{"2: steps is empty: a journey needs at least one step"}},
		{"null steps", "name: x\nsteps:\n", []string{"2: steps is empty: a journey needs at least one step"}},
		{"steps not a list", "steps: {goto: x}\n", []string{"1: steps: want a list, got a mapping"}},
		{"unknown top key", "name: x\nstepz: []\nsteps:\n  - sleep: 1s\n",
			[]string{`2: unknown key "stepz" (want name, description, device, timeout, params, steps)`}},
		{"duplicate top key", "name: a\nname: b\nsteps:\n  - sleep: 1s\n",
			[]string{`2: key "name" repeated (first at line 1)`}},
		{"name not a string", "name: [a]\nsteps:\n  - sleep: 1s\n", []string{"1: name: want a string, got a list"}},
		{"bad device", "device: tablet\nsteps:\n  - sleep: 1s\n", []string{`1: device "tablet": want desktop or mobile`}},
		{"timeout without unit", "timeout: 60\nsteps:\n  - sleep: 1s\n",
			[]string{"1: timeout: want a duration with a unit like 500ms, 30s or 2m, got the integer 60"}},
		{"bad timeout", "timeout: soon\nsteps:\n  - sleep: 1s\n",
			[]string{`1: timeout: duration "soon": want e.g. 500ms, 30s, 5m, 2h or 90d`}},
		{"zero timeout", "timeout: 0s\nsteps:\n  - sleep: 1s\n", []string{"1: timeout: must be longer than zero"}},
		{"params not a mapping", "params: [a]\nsteps:\n  - sleep: 1s\n",
			[]string{"1: params: want a mapping of name: default value, got a list"}},
		{"bad param name", "params: {base-url: x}\nsteps:\n  - sleep: 1s\n",
			[]string{`1: param name "base-url": use letters, digits and _ (not starting with a digit)`}},
		{"placeholder in default", "params: {a: x, b: \"{{a}}\"}\nsteps:\n  - sleep: 1s\n",
			[]string{"1: param b: a default cannot contain placeholders"}},
		{"step not a mapping", "steps:\n  - goto\n",
			[]string{`2: step 1: want a mapping with one action (e.g. goto: URL), got the string "goto"`}},
		{"no action", "steps:\n  - name: x\n    page: home\n",
			[]string{"2: step 1: no action (want one of goto, click, wait_for, type, select, assert_text, assert_url, screenshot, sleep, wait_for_payment)"}},
		{"two actions", "steps:\n  - goto: http://a.example/\n    click: b\n",
			[]string{"3: step 1: two actions, goto (line 2) and click: a step has exactly one; split it in two"}},
		{"unknown step key", "steps:\n  - goto: http://a.example/\n    wait: 1s\n",
			[]string{`3: step 1: unknown key "wait" (want one action of goto, click, wait_for, type, select, assert_text, assert_url, screenshot, sleep, wait_for_payment, and optionally name, page, timeout, optional)`}},
		{"duplicate step key", "steps:\n  - click: a\n    click: b\n",
			[]string{`3: key "click" repeated (first at line 2)`}},
		{"unknown payment provider", "steps:\n  - wait_for_payment: adyen\n",
			[]string{`2: step 1: wait_for_payment: unknown payment provider "adyen" (want stripe, paypal, square)`}},
		{"payment provider not a string", "steps:\n  - wait_for_payment: {provider: stripe}\n",
			[]string{`2: step 1: wait_for_payment: want a string, got a mapping`}},
		{"relative goto", "steps:\n  - goto: /cart\n",
			[]string{`2: step 1: goto: URL "/cart": want an absolute http:// or https:// URL`}},
		{"goto without host", "steps:\n  - goto: \"http:///x\"\n",
			[]string{`2: step 1: goto: URL "http:///x" has no host`}},
		{"empty click", "steps:\n  - click: \"\"\n", []string{"2: step 1: click: empty"}},
		{"bad selector", "steps:\n  - click: \"a[href='/x'\"\n",
			[]string{`2: step 1: click: bad CSS selector "a[href='/x'": unclosed '['`}},
		{"bad selector in wait_for", "steps:\n  - wait_for: {selector: \"#cart,\"}\n",
			[]string{`2: step 1: wait_for selector: bad CSS selector "#cart,": empty item in the selector list`}},
		// Quoted clipped between characters: 60 of them, not 60 bytes,
		// which would end inside an "é" after the leading "a".
		{"long multi-byte selector", "steps:\n  - click: \"a" + strings.Repeat("é", 70) + "[\"\n",
			[]string{`2: step 1: click: bad CSS selector "a` + strings.Repeat("é", 59) + `…": unclosed '['`}},
		{"click a number is fine but a list is not", "steps:\n  - click: [a]\n",
			[]string{"2: step 1: click: want a string, got a list"}},
		{"optional not bool", "steps:\n  - click: a\n    optional: yes\n",
			[]string{`3: optional: want true or false, got the string "yes"`}},
		{"wait_for two keys", "steps:\n  - wait_for: {text: a, url: b}\n",
			[]string{"2: step 1: wait_for: want exactly one of text, selector or url"}},
		{"wait_for no key", "steps:\n  - wait_for: {}\n",
			[]string{"2: step 1: wait_for: want exactly one of text, selector or url"}},
		{"wait_for scalar", "steps:\n  - wait_for: \"#cart\"\n",
			[]string{`2: step 1: wait_for: want a mapping with selector, text, url, got the string "#cart"`}},
		{"wait_for unknown key", "steps:\n  - wait_for: {element: a}\n",
			[]string{`2: step 1: wait_for: unknown key "element" (want selector, text, url)`,
				"2: step 1: wait_for: want exactly one of text, selector or url"}},
		{"wait_for bad regex", "steps:\n  - wait_for: {url: \"[a\"}\n",
			[]string{"2: step 1: wait_for url: bad regular expression: missing closing ]: `[a`"}},
		{"assert_url bad regex", "steps:\n  - assert_url: \"(checkout\"\n",
			[]string{"2: step 1: assert_url: bad regular expression: missing closing ): `(checkout`"}},
		{"type missing text", "steps:\n  - type: {selector: \"#q\"}\n", []string{"2: step 1: type: missing text"}},
		{"type secret not bool", "steps:\n  - type: {selector: \"#q\", text: a, secret: \"true\"}\n",
			[]string{`2: step 1: type secret: want true or false, got the string "true"`}},
		{"select missing both", "steps:\n  - select: {}\n",
			[]string{"2: step 1: select: missing selector", "2: step 1: select: missing value"}},
		{"assert_text empty text", "steps:\n  - assert_text: {selector: h1, text: \"\"}\n",
			[]string{"2: step 1: assert_text text: empty"}},
		{"screenshot path", "steps:\n  - screenshot: ../etc/x\n",
			[]string{`2: step 1: screenshot: name "../etc/x": want letters, digits, . _ - (it becomes a file name)`}},
		{"sleep number", "steps:\n  - sleep: 5\n",
			[]string{"2: step 1: sleep: want a duration with a unit like 500ms, 30s or 2m, got the integer 5"}},
		{"sleep longer than journey", "timeout: 10s\nsteps:\n  - sleep: 10s\n",
			[]string{"3: step 1: sleep: 10s is not shorter than the journey's timeout 10s"}},
		{"step timeout longer than journey", "steps:\n  - click: a\n    timeout: 2m\ntimeout: 1m\n",
			[]string{"3: step 1: timeout 2m0s is longer than the journey's timeout 1m0s"}},
		{"bad page name", "steps:\n  - click: a\n    page: \"\"\n",
			[]string{`3: step 1: page name "": want 1 to 64 printable characters`}},
		{"unknown param", "params: {base_url: x}\nsteps:\n  - goto: \"{{base}}/\"\n",
			[]string{`3: unknown param "base" in {{base}} (declare it under params)`}},
		{"unknown param in selector", "steps:\n  - click: \"{{button}}\"\n",
			[]string{`2: unknown param "button" in {{button}} (declare it under params)`}},
		{"malformed placeholder", "params: {a: x}\nsteps:\n  - click: \"{{a b}}\"\n",
			[]string{"3: malformed placeholder {{a b}}: want {{name}} or {{name | query}}"}},
		{"unclosed placeholder", "params: {a: x}\nsteps:\n  - click: \"{{a\"\n",
			[]string{`3: unclosed {{ in "{{a"`}},
		{"unknown filter", "params: {a: x}\nsteps:\n  - goto: \"http://x.example/?q={{a | upper}}\"\n",
			[]string{`3: unknown filter "upper" in {{a | upper}} (want query)`}},
		{"unquoted placeholder", "params: {base_url: x}\nsteps:\n  - goto: {{base_url}}/\n",
			[]string{"3: YAML: did not find expected key (quote values that start with {{)"}},
		{"unquoted placeholder alone", "params: {base_url: x}\nsteps:\n  - goto: {{base_url}}\n",
			[]string{"3: step 1: goto: want a string, got a mapping (quote values that start with {{)"}},
		// The line where the unclosed quote opened: where the fix goes.
		{"yaml syntax", "steps:\n  - goto: \"x\n", []string{"2: YAML: found unexpected end of stream"}},
		{"yaml flow", "steps: [\n", []string{"2: YAML: did not find expected node content"}},
		{"tab indentation", "steps:\n\t- sleep: 1s\n", []string{"2: YAML: found character that cannot start any token"}},
		{"two documents", "steps:\n  - sleep: 1s\n---\nsteps: []\n",
			[]string{"3: a second YAML document; a journey file holds one journey"}},
		{"all problems collected", "name: x\ndevice: tv\nsteps:\n  - goto: /a\n  - click: \"\"\n  - bogus: 1\n",
			[]string{`2: device "tv": want desktop or mobile`,
				`4: step 1: goto: URL "/a": want an absolute http:// or https:// URL`,
				"5: step 2: click: empty",
				`6: step 3: unknown key "bogus" (want one action of goto, click, wait_for, type, select, assert_text, assert_url, screenshot, sleep, wait_for_payment, and optionally name, page, timeout, optional)`,
				"6: step 3: no action (want one of goto, click, wait_for, type, select, assert_text, assert_url, screenshot, sleep, wait_for_payment)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("j.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tt.want)
			}
			var probs probe.Problems
			if !errors.As(err, &probs) {
				t.Fatalf("error %T is not probe.Problems: %v", err, err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, "j.yaml:"+w)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, want) {
				t.Errorf("problems:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestParseCapsProblems(t *testing.T) {
	src := "steps:\n" + strings.Repeat("  - click: \"\"\n", MaxProblems+7)
	_, err := Parse("j.yaml", []byte(src))
	var probs probe.Problems
	if !errors.As(err, &probs) || len(probs) != MaxProblems+1 {
		t.Fatalf("got %d problems, want %d", len(probs), MaxProblems+1)
	}
	if got, want := probs[MaxProblems].String(), fmt.Sprintf("j.yaml:%d: 7 more problems not shown", MaxProblems+1); got != want {
		t.Errorf("last problem %q, want %q", got, want)
	}
}

func TestParseDuplicatePagesAreFine(t *testing.T) {
	src := "params: {u: \"http://a.example\"}\nsteps:\n  - goto: \"{{u}}/\"\n    page: p\n  - goto: \"{{u}}/x\"\n    page: p\n"
	if _, err := Parse("j.yaml", []byte(src)); err != nil {
		t.Fatalf("duplicate page names: %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.yaml")
	if err := os.WriteFile(path, []byte("steps:\n  - sleep: 1x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	if want := path + `:2: step 1: sleep: duration "1x": want e.g. 500ms, 30s, 5m, 2h or 90d`; err == nil || err.Error() != want {
		t.Errorf("LoadFile error = %v, want %s", err, want)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized file: %v", err)
	}
}

// yaml.v3 prints a parser error's line 0-based and a scanner error's
// 1-based; both must come out as the line the user has to look at. A parser
// error is placed where the collection it was parsing began, unless that is
// the document's first line: then where it failed.
func TestYAMLErrorLines(t *testing.T) {
	tests := []struct {
		name, src string
		want      string
	}{
		// The flow sequence opened on line 2 is never closed.
		{"unclosed flow sequence", "a: 1\nb: [1, 2\nc: 3", `j.yaml:2: YAML: did not find expected ',' or ']'`},
		// The wait_for mapping opened on line 3 runs into the next step.
		{"unclosed flow mapping", "steps:\n  - goto: \"http://a.example/\"\n  - wait_for: {text: Added\n  - click: \"#cart\"\n",
			`j.yaml:3: YAML: did not find expected ',' or '}'`},
		// timeout is indented under nothing once the steps list has ended.
		{"bad indentation", "steps:\n  - sleep: 1s\n timeout: 5s\n", `j.yaml:3: YAML: did not find expected key`},
		// A tab starts line 3, after a quoted value has ended (scanner error).
		{"tab", "steps:\n  - goto: \"http://a.example/\"\n\t- click: a\n", `j.yaml:3: YAML: found character that cannot start any token`},
		// The quote opened on line 2 never closes (scanner error).
		{"unclosed quote", "steps:\n  - goto: \"http://a.example/\n  - click: a\n", `j.yaml:2: YAML: found unexpected end of stream`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("j.yaml", []byte(tt.src))
			if err == nil || err.Error() != tt.want {
				t.Errorf("got  %v\nwant %s", err, tt.want)
			}
		})
	}
}
