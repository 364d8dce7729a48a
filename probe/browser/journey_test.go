package browser

import (
	"context"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func runJourney(t *testing.T, j probe.Journey, dir string) probe.Result {
	shared := sharedBrowser(t)
	t.Helper()
	res := shared.RunJourney(context.Background(), probe.Check{Name: j.Name, Type: probe.TypeJourney}, j, dir)
	if testing.Verbose() {
		out, _ := json.MarshalIndent(res, "", " ")
		t.Logf("%s", out)
	}
	return res
}

func TestJourneyKeepsVitalsPerPage(t *testing.T) {
	shop := newShop(t)
	dir := t.TempDir()
	const secret = "shopper@example.com-s3cret"
	j := probe.Journey{Name: "checkout", Timeout: 60 * time.Second, Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/j/home", Page: "home"},
		{Action: probe.ActionClick, Selector: "#to-product", Page: "product"},
		{Action: probe.ActionClick, Selector: "#to-cart", Page: "cart"},
		{Action: probe.ActionClick, Selector: "#accept-cookies", Optional: true},
		{Action: probe.ActionClick, Selector: "#slow"},
		{Action: probe.ActionWaitFor, Text: "Added to cart"},
		{Action: probe.ActionType, Selector: "#email", Text: secret, Secret: true},
		{Action: probe.ActionSelect, Selector: "#country", Value: "DE"},
		{Action: probe.ActionAssertText, Selector: "#chosen", Text: "ship to DE"},
		{Action: probe.ActionAssertText, Selector: "h1", Text: "Cart"},
		{Action: probe.ActionAssertURL, URL: "/j/cart$"},
		{Action: probe.ActionWaitFor, Selector: "#email"},
		{Action: probe.ActionWaitFor, URLMatch: "cart"},
		{Action: probe.ActionScreenshot, Shot: "cart"},
		{Action: probe.ActionSleep, Sleep: 50 * time.Millisecond},
	}}
	res := runJourney(t, j, dir)
	if !res.OK {
		t.Fatalf("journey failed: %v", res.Failure)
	}
	if res.Type != probe.TypeJourney || len(res.Steps) != len(j.Steps) {
		t.Fatalf("type %q, %d steps", res.Type, len(res.Steps))
	}
	if !res.Steps[3].Skipped || !res.Steps[3].OK {
		t.Errorf("optional absent step: %+v, want skipped", res.Steps[3])
	}
	if len(res.Pages) != 3 {
		t.Fatalf("%d pages, want home, product, cart", len(res.Pages))
	}
	home, product, cart := res.Pages[0], res.Pages[1], res.Pages[2]
	if home.Name != "home" || product.Name != "product" || cart.Name != "cart" {
		t.Errorf("page names %q %q %q", home.Name, product.Name, cart.Name)
	}
	// Each page has the vitals of its own known behaviour.
	within(t, "home lcp_ms", must(t, home.Vitals.LCP, "home lcp"), 800, 2800)
	if home.LCPElement != "img#hero" {
		t.Errorf("home lcp_element %q", home.LCPElement)
	}
	wantCLS := (700.0 / 940.0) * (300.0 / 1350.0)
	within(t, "product cls", must(t, product.Vitals.CLS, "product cls"), wantCLS-0.003, wantCLS+0.003)
	within(t, "home cls", must(t, home.Vitals.CLS, "home cls"), 0, 0.001)
	within(t, "cart inp_ms", must(t, cart.Vitals.INP, "cart inp"), 300, 400)
	if product.Vitals.INP != nil && *product.Vitals.INP > 200 {
		// The click on the product page's link is fast: under Event
		// Timing's 16 ms floor, or at most a few frames.
		t.Errorf("product inp %v, want a fast interaction", *product.Vitals.INP)
	}
	for _, p := range res.Pages {
		if p.LoadMS <= 0 || p.Requests < 1 || p.TransferBytes <= 0 {
			t.Errorf("page %s: load %.0f requests %d bytes %d", p.Name, p.LoadMS, p.Requests, p.TransferBytes)
		}
	}
	raw, _ := json.Marshal(res)
	if strings.Contains(string(raw), "s3cret") {
		t.Errorf("the typed secret leaked into the result: %s", raw)
	}
	if len(res.Artifacts) != 1 || !strings.HasSuffix(res.Artifacts[0], "cart.png") {
		t.Fatalf("artifacts %q, want the cart screenshot", res.Artifacts)
	}
	if _, err := os.Stat(filepath.Join(dir, res.Artifacts[0])); err != nil {
		t.Error(err)
	}
	if res.Steps[6].Name != "type #email" {
		t.Errorf("type step named %q", res.Steps[6].Name)
	}
}

func TestJourneyINPOfClickThatNavigatesAway(t *testing.T) {
	shop := newShop(t)
	res := runJourney(t, probe.Journey{Name: "pay", Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/j/cart", Page: "cart"},
		{Action: probe.ActionClick, Selector: "#checkout", Page: "done"},
		{Action: probe.ActionAssertText, Selector: "h1", Text: "Thank you"},
	}}, "")
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	if len(res.Pages) != 2 || res.Pages[0].Name != "cart" || res.Pages[1].Name != "done" {
		t.Fatalf("pages %+v", res.Pages)
	}
	// The cart page was gone when the journey ended: its INP came through
	// the pagehide flush.
	within(t, "cart inp_ms", must(t, res.Pages[0].Vitals.INP, "cart inp"), 300, 400)
	if raw, _ := json.Marshal(res); !strings.Contains(string(raw), `"console_errors":[]`) {
		t.Errorf("console_errors must be [], not null: %s", raw)
	}
	if res.Pages[1].Vitals.INP != nil {
		t.Errorf("done page had no interaction, inp %v", *res.Pages[1].Vitals.INP)
	}
}

func TestJourneyFailures(t *testing.T) {
	shop := newShop(t)
	tests := []struct {
		name      string
		timeout   time.Duration
		steps     []probe.Step
		kind      probe.FailureKind
		failAt    int           // index of the failing step
		maxTook   time.Duration // well under the 60 s default: fails fast, artifacts included, on a busy CI machine
		wantPages int
	}{
		{"missing selector", 0, []probe.Step{
			{Action: probe.ActionGoto, URL: shop.URL + "/j/cart", Page: "cart"},
			{Action: probe.ActionClick, Selector: "#slow"},
			{Action: probe.ActionClick, Selector: "#no-such-button", Timeout: time.Second},
			{Action: probe.ActionClick, Selector: "#checkout"},
		}, probe.FailureSelector, 2, 15 * time.Second, 1},
		{"assertion", 0, []probe.Step{
			{Action: probe.ActionGoto, URL: shop.URL + "/j/home", Page: "home"},
			{Action: probe.ActionAssertText, Selector: "p", Text: "Sold out", Timeout: time.Second},
		}, probe.FailureAssertion, 1, 15 * time.Second, 1},
		{"journey deadline", 3 * time.Second, []probe.Step{
			{Action: probe.ActionGoto, URL: shop.URL + "/j/cart", Page: "cart"},
			{Action: probe.ActionWaitFor, Selector: "#never-there", Timeout: 30 * time.Second},
		}, probe.FailureTimeout, 1, 3*time.Second + 6*time.Second, 1},
		{"navigation status", 0, []probe.Step{
			{Action: probe.ActionGoto, URL: shop.URL + "/j/home", Page: "home"},
			{Action: probe.ActionGoto, URL: shop.URL + "/missing"},
		}, probe.FailureStatus, 1, 15 * time.Second, 2},
		{"dns", 0, []probe.Step{
			{Action: probe.ActionGoto, URL: "http://shop.test/"},
		}, probe.FailureDNS, 0, 15 * time.Second, 0},
		// The deadline hits while a navigation is pending: the failure
		// screenshot must not wait for it.
		{"deadline during navigation", 3 * time.Second, []probe.Step{
			{Action: probe.ActionGoto, URL: shop.URL + "/plain", Page: "plain"},
			{Action: probe.ActionGoto, URL: shop.URL + "/never"},
		}, probe.FailureTimeout, 1, 3*time.Second + 6*time.Second, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			start := time.Now()
			res := runJourney(t, probe.Journey{Name: "fail", Timeout: tc.timeout, Steps: tc.steps}, dir)
			took := time.Since(start)
			if res.OK || res.Failure == nil || res.Failure.Kind != tc.kind {
				t.Fatalf("failure %v, want %s", res.Failure, tc.kind)
			}
			if len(res.Steps) != tc.failAt+1 {
				t.Fatalf("%d steps reported, want the %d completed and the failing one", len(res.Steps), tc.failAt)
			}
			for i, st := range res.Steps[:tc.failAt] {
				if !st.OK {
					t.Errorf("completed step %d reported as %+v", i, st)
				}
			}
			failing := res.Steps[tc.failAt]
			if failing.OK || failing.Failure == nil || failing.Failure.Kind != tc.kind ||
				!strings.Contains(string(res.Failure.Phase), failing.Name) {
				t.Errorf("failing step %+v, journey failure phase %q", failing, res.Failure.Phase)
			}
			if len(res.Pages) != tc.wantPages {
				t.Errorf("%d pages, want %d", len(res.Pages), tc.wantPages)
			}
			if took > tc.maxTook {
				t.Errorf("took %s, want <= %s", took, tc.maxTook)
			}
			if tc.timeout > 0 && (res.DurationMS < probe.Millis(tc.timeout) || res.DurationMS > probe.Millis(tc.timeout)+1500) {
				t.Errorf("duration_ms %.0f for a %s journey timeout", res.DurationMS, tc.timeout)
			}
			// Failure evidence: a screenshot and the request log.
			var shot, log bool
			for _, a := range res.Artifacts {
				fi, err := os.Stat(filepath.Join(dir, a))
				if err != nil || fi.Size() == 0 {
					t.Errorf("artifact %s: %v", a, err)
				}
				shot = shot || strings.HasSuffix(a, ScreenshotFile)
				log = log || strings.HasSuffix(a, RequestLogFile)
			}
			if !shot || !log {
				t.Errorf("artifacts %q, want screenshot and request log", res.Artifacts)
			}
		})
	}
}

func TestJourneyMobileTaps(t *testing.T) {
	shop := newShop(t)
	res := runJourney(t, probe.Journey{Name: "m", Device: probe.DeviceMobile, Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/j/cart", Page: "cart"},
		{Action: probe.ActionClick, Selector: "#slow"},
		{Action: probe.ActionWaitFor, Text: "Added to cart"},
	}}, "")
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	if res.Device != probe.DeviceMobile || len(res.Pages) != 1 {
		t.Fatalf("device %q pages %d", res.Device, len(res.Pages))
	}
	// A 300 ms handler under a 4x CPU slowdown: the slowdown does not
	// stretch a wall-clock busy loop, but the rest of the frame does.
	if inp := must(t, res.Pages[0].Vitals.INP, "inp"); inp < 300 {
		t.Errorf("mobile tap inp %.0f ms, want >= 300", inp)
	}
}

// TestJourneyHostilePageCannotForgeVitals: a page calling the collector's
// binding thousands of times, from itself and from frames, adds no page
// and changes no value; what it sends is not kept anywhere.
func TestJourneyHostilePageCannotForgeVitals(t *testing.T) {
	shop := newShop(t)
	res := runJourney(t, probe.Journey{Name: "spoof", Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/spoof", Page: "spoof"},
		{Action: probe.ActionSleep, Sleep: 700 * time.Millisecond},
	}}, "")
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	if len(res.Pages) != 1 {
		t.Fatalf("%d pages, want the one visited (forged reports were kept)", len(res.Pages))
	}
	p := res.Pages[0]
	if p.Name != "spoof" || !strings.HasSuffix(p.URL, "/spoof") || strings.Contains(p.LCPElement, "zzz") {
		t.Errorf("page %q %q lcp_element %q", p.Name, p.URL, p.LCPElement)
	}
	if p.Vitals.INP != nil || must(t, p.Vitals.CLS, "cls") > 0.01 || must(t, p.Vitals.FCP, "fcp") < 2 {
		t.Errorf("forged values in the page's vitals: %+v", p.Vitals)
	}
	raw, _ := json.Marshal(res)
	if strings.Contains(string(raw), "evil") || len(raw) > 64<<10 {
		t.Errorf("forged reports in the result (%d bytes)", len(raw))
	}
}

// TestJourneyINPOfNavigatingInteractions: a plain link and a form's submit
// button navigate after their 300 ms click listeners return; the page
// they leave still gets that INP. A click far under Event Timing's 16 ms
// threshold still counts as an interaction (INP near 0, not null).
func TestJourneyINPOfNavigatingInteractions(t *testing.T) {
	shop := newShop(t)
	res := runJourney(t, probe.Journey{Name: "nav", Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/fast", Page: "fast"},
		{Action: probe.ActionClick, Selector: "#acc"},
		{Action: probe.ActionGoto, URL: shop.URL + "/navclick", Page: "link"},
		{Action: probe.ActionClick, Selector: "#link", Page: "done1"},
		{Action: probe.ActionGoto, URL: shop.URL + "/navclick", Page: "form"},
		{Action: probe.ActionClick, Selector: "#submit", Page: "done2"},
		{Action: probe.ActionAssertText, Selector: "h1", Text: "Thank you"},
	}}, "")
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	names := make([]string, len(res.Pages))
	for i, p := range res.Pages {
		names[i] = p.Name
	}
	if strings.Join(names, ",") != "fast,link,done1,form,done2" {
		t.Fatalf("pages %q", names)
	}
	within(t, "fast inp_ms", must(t, res.Pages[0].Vitals.INP, "fast inp"), 0, 100)
	within(t, "link inp_ms", must(t, res.Pages[1].Vitals.INP, "link inp"), 300, 399.9)
	within(t, "form inp_ms", must(t, res.Pages[3].Vitals.INP, "form inp"), 300, 399.9)
}

// TestJourneySecretsNotInScreenshots: the secret field's text is pure red,
// the other field's pure blue; neither a screenshot step nor the failure
// screenshot may show red, while the blue proves text is drawn.
func TestJourneySecretsNotInScreenshots(t *testing.T) {
	shop := newShop(t)
	dir := t.TempDir()
	res := runJourney(t, probe.Journey{Name: "secret", Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: shop.URL + "/secret-form"},
		{Action: probe.ActionType, Selector: "#email", Text: "WWWWMMMMWWWWMMMM", Secret: true},
		{Action: probe.ActionType, Selector: "#name", Text: "WWWWMMMMWWWWMMMM"},
		{Action: probe.ActionScreenshot, Shot: "form"},
		{Action: probe.ActionWaitFor, Selector: "#missing", Timeout: time.Second},
	}}, dir)
	if res.OK || res.Failure.Kind != probe.FailureSelector {
		t.Fatalf("failure %v, want selector", res.Failure)
	}
	shots := 0
	for _, a := range res.Artifacts {
		if !strings.HasSuffix(a, ".png") {
			continue
		}
		shots++
		red, blue := countPixels(t, filepath.Join(dir, a))
		if red > 0 || blue < 200 {
			t.Errorf("%s: %d red (secret) pixels, %d blue (plain) pixels; want 0 and many", a, red, blue)
		}
	}
	if shots != 2 {
		t.Errorf("artifacts %q, want the step's and the failure screenshot", res.Artifacts)
	}
}

// countPixels counts strongly red and strongly blue pixels of a PNG.
func countPixels(t *testing.T, file string) (red, blue int) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if r > 180 && g < 90 && bl < 90 {
				red++
			}
			if bl > 180 && r < 90 && g < 90 {
				blue++
			}
		}
	}
	return red, blue
}

// A shift right after the journey's own click is expected, not unstable:
// CLS excludes it on desktop and on mobile, where Chrome's emulation marks
// every early shift as after input and only real input may exclude one.
func TestJourneyShiftAfterInputNotCounted(t *testing.T) {
	shop := newShop(t)
	for _, device := range []string{probe.DeviceDesktop, probe.DeviceMobile} {
		t.Run(device, func(t *testing.T) {
			res := runJourney(t, probe.Journey{Name: "panel", Device: device, Steps: []probe.Step{
				{Action: probe.ActionGoto, URL: shop.URL + "/shift-on-click", Page: "panel"},
				{Action: probe.ActionClick, Selector: "#open"},
				{Action: probe.ActionSleep, Sleep: 300 * time.Millisecond},
			}}, "")
			if !res.OK || len(res.Pages) != 1 {
				t.Fatalf("ok=%v failure=%v pages=%d", res.OK, res.Failure, len(res.Pages))
			}
			if cls := must(t, res.Pages[0].Vitals.CLS, "cls"); cls != 0 {
				t.Errorf("cls %.4f, want 0: the shift came right after the click", cls)
			}
		})
	}
}
