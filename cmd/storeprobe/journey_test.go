package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const checkoutJourney = `name: checkout
timeout: 60s
params: {base_url: "", email: ""}
steps:
  - goto: "{{base_url}}/"
    page: home
  - click: "a.product-card"
    page: product
  - click: "#accept-cookies"
    optional: true
  - click: "#add-to-cart"
  - wait_for: {text: "Added to cart"}
  - type: {selector: "#email", text: "{{email}}", secret: true}
  - select: {selector: "#country", value: "DE"}
  - goto: "{{base_url}}/cart"
    page: cart
  - assert_text: {selector: "h1", text: "Checkout"}
  - assert_url: "/cart$"
  - screenshot: cart
`

func writeJourney(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "checkout.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJourneyCommand(t *testing.T) {
	shop := browserShop(t)
	file := writeJourney(t, checkoutJourney)
	dir := t.TempDir()
	const secret = "buyer+s3cret@example.com"

	code, out, errOut := browserCLI(t, "journey", file, "--param", "base_url="+shop.URL, "--param", "email="+secret,
		"--output", "json", "--artifacts", dir)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s, out %s", code, errOut, out)
	}
	if strings.Contains(out+errOut, "s3cret") {
		t.Fatal("the secret param was printed")
	}
	var res struct {
		OK         bool    `json:"ok"`
		Failure    any     `json:"failure"`
		DurationMS float64 `json:"duration_ms"`
		Steps      []struct {
			Name, Action string
			OK           bool `json:"ok"`
			Skipped      bool `json:"skipped"`
		} `json:"steps"`
		Pages []struct {
			Name   string         `json:"name"`
			URL    string         `json:"url"`
			Vitals map[string]any `json:"vitals"`
			LoadMS float64        `json:"load_ms"`
		} `json:"pages"`
		Artifacts     []string `json:"artifacts"`
		ConsoleErrors []string `json:"console_errors"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.ConsoleErrors == nil {
		t.Errorf("console_errors null, want []: %s", out)
	}
	if !res.OK || len(res.Steps) != 11 || res.DurationMS <= 0 {
		t.Fatalf("ok %v, %d steps, duration %v", res.OK, len(res.Steps), res.DurationMS)
	}
	if !res.Steps[2].Skipped {
		t.Errorf("absent optional consent click not skipped: %+v", res.Steps[2])
	}
	var names []string
	for _, p := range res.Pages {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "home,product,cart" {
		t.Fatalf("pages %v", names)
	}
	// The product page's slow add-to-cart click is its INP.
	if inp, _ := res.Pages[1].Vitals["inp_ms"].(float64); inp < 250 || inp >= 400 {
		t.Errorf("product inp_ms %v, want [250, 400)", res.Pages[1].Vitals["inp_ms"])
	}
	if len(res.Artifacts) != 1 || !strings.HasSuffix(res.Artifacts[0], "cart.png") {
		t.Errorf("artifacts %v", res.Artifacts)
	}

	// Text output names steps and pages.
	code, out, _ = browserCLI(t, "journey", file, "--param", "base_url="+shop.URL, "--param", "email=a@b.c")
	if code != exitOK || !strings.Contains(out, "PASS  checkout") || !strings.Contains(out, "pages:") || !strings.Contains(out, "skip") {
		t.Errorf("exit %d, text:\n%s", code, out)
	}
}

func TestJourneyCommandFailures(t *testing.T) {
	shop := browserShop(t)
	broken := writeJourney(t, strings.Replace(checkoutJourney, `- click: "#add-to-cart"`, "- click: \"#buy-now\"\n    timeout: 2s", 1))
	dir := t.TempDir()
	code, out, _ := browserCLI(t, "journey", broken, "--param", "base_url="+shop.URL, "--param", "email=a@b.c",
		"--output", "json", "--artifacts", dir, "--timeout", "20s")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1: %s", code, out)
	}
	var res struct {
		Failure struct{ Kind, Phase string } `json:"failure"`
		Steps   []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"steps"`
		Pages     []any    `json:"pages"`
		Artifacts []string `json:"artifacts"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if res.Failure.Kind != "selector" || !strings.Contains(res.Failure.Phase, "click #buy-now") {
		t.Errorf("failure %+v", res.Failure)
	}
	if len(res.Steps) != 4 || len(res.Pages) != 2 || len(res.Artifacts) != 2 {
		t.Errorf("%d steps, %d pages, artifacts %v: want the completed ones and the evidence", len(res.Steps), len(res.Pages), res.Artifacts)
	}

	usage := []struct {
		name string
		args []string
	}{
		{"no file", []string{"journey"}},
		{"missing file", []string{"journey", filepath.Join(dir, "nope.yaml")}},
		{"unknown param", []string{"journey", broken, "--param", "colour=red"}},
		{"bad param", []string{"journey", broken, "--param", "novalue"}},
		{"missing param value", []string{"journey", broken}},
		{"bad yaml", []string{"journey", writeJourney(t, "name: x\nsteps:\n  - fly: away\n")}},
	}
	for _, tc := range usage {
		t.Run(tc.name, func(t *testing.T) {
			if code, out, errOut := browserCLI(t, tc.args...); code != exitUsage {
				t.Errorf("exit %d, want 2; out %q stderr %q", code, out, errOut)
			}
		})
	}
}

// A malformed --param is shown without its value, which may be a secret,
// and cut between characters.
func TestJourneyBadParamRedacted(t *testing.T) {
	tests := []struct{ param, want string }{
		{"novalue", `--param "novalue": want key=value`},
		{"averylongsecretvalue", `--param "aver…": want key=value`},
		{"aсекретный-пароль", `--param "aсек…": want key=value`},
	}
	for _, tt := range tests {
		a, _, errb := testApp()
		code := run(context.Background(), a, []string{"journey", "j.yaml", "--param", tt.param})
		if code != exitUsage || !strings.Contains(errb.String(), tt.want) {
			t.Errorf("--param %s: exit %d, stderr %q; want 2 and %s", tt.param, code, errb.String(), tt.want)
		}
	}
}
