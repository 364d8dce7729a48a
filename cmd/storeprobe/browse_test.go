package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// browserCLI runs one browse or journey command line in-process against
// the real Chromium. Every name is answered inside Chrome (NXDOMAIN), so a
// test never reaches the system resolver.
func browserCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	chromium := browsertest.Chromium(t)
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "STOREPROBE_CHROME" {
			return chromium // the rule's Chromium; an explicit --chrome still wins
		}
		return ""
	}
	a := &app{stdout: &out, stderr: &errOut, getenv: getenv, version: "9.9.9"}
	args = append(args, "--host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
	code := run(context.Background(), a, args)
	return code, out.String(), errOut.String()
}

// browserShop serves a home page, a product page with a slow add-to-cart
// button, a cart, and a 404.
func browserShop(t *testing.T) *httptest.Server {
	page := func(title, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>%s</title></head><body>%s</body></html>`, title, body)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", page("Home", `<h1>Welcome</h1><a class="product-card" href="/product/1">Shoes</a>`))
	mux.HandleFunc("/product/1", page("Shoes", `<h1>Shoes</h1><button id="add-to-cart">Add</button><p id="msg"></p>
<input id="email"><select id="country"><option value="FR">FR</option><option value="DE">DE</option></select>
<script>document.getElementById('add-to-cart').addEventListener('click', () => {
  const end = performance.now() + 250; while (performance.now() < end) {}
  document.getElementById('msg').textContent = 'Added to cart';
});</script>`))
	mux.HandleFunc("/cart", page("Cart", `<h1>Checkout</h1>`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestBrowseCommand(t *testing.T) {
	shop := browserShop(t)
	dir := t.TempDir()
	shot := filepath.Join(dir, "home.png")

	code, out, errOut := browserCLI(t, "browse", shop.URL+"/", "--output", "json", "--screenshot", shot)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s, out %s", code, errOut, out)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// The public contract of issue 5.
	for _, k := range []string{"ok", "failure", "device", "url", "final_url", "started_at", "vitals", "ratings",
		"lcp_element", "load_ms", "dom_content_loaded_ms", "requests", "failed_requests", "transfer_bytes", "console_errors", "duration_ms"} {
		if _, ok := m[k]; !ok {
			t.Errorf("json lacks %q", k)
		}
	}
	vitals, _ := m["vitals"].(map[string]any)
	var keys []string
	for k := range vitals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "cls,fcp_ms,inp_ms,lcp_ms,ttfb_ms" {
		t.Errorf("vitals keys %v", keys)
	}
	if vitals["inp_ms"] != nil {
		t.Errorf("inp_ms %v without interaction, want null", vitals["inp_ms"])
	}
	if m["device"] != "desktop" || m["ok"] != true || m["lcp_element"] != "h1" {
		t.Errorf("device %v ok %v lcp_element %v", m["device"], m["ok"], m["lcp_element"])
	}
	if b, err := os.ReadFile(shot); err != nil || len(b) < 100 {
		t.Errorf("screenshot: %v", err)
	}
	if ce, ok := m["console_errors"].([]any); !ok || len(ce) != 0 {
		t.Errorf("console_errors %#v, want []", m["console_errors"])
	}

	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"text", []string{shop.URL + "/"}, exitOK, "PASS"},
		{"too slow", []string{shop.URL + "/", "--max-ttfb", "1ns"}, exitFailed, "too_slow"},
		{"status", []string{shop.URL + "/missing"}, exitFailed, "status"},
		{"dns", []string{"http://shop.test/"}, exitFailed, "dns"},
		{"mobile", []string{shop.URL + "/", "--device", "mobile", "--output", "json"}, exitOK, `"device":"mobile"`},
		{"bad device", []string{shop.URL + "/", "--device", "tablet"}, exitUsage, ""},
		{"bad payment", []string{shop.URL + "/", "--payment", "adyen"}, exitUsage, ""},
		// No gateway on the page: the wait runs out, and says so.
		{"payment never ready", []string{shop.URL + "/", "--payment", "square", "--timeout", "4s"}, exitFailed, "payment: square not ready"},
		// The shop has no analytics tag: an expected one fails as assertion.
		{"analytics missing", []string{shop.URL + "/", "--expect-analytics", "ga4,adobe"}, exitFailed, "assertion"},
		{"bad analytics vendor", []string{shop.URL + "/", "--expect-analytics", "matomo"}, exitUsage, ""},
		{"bad url", []string{"ftp://x/"}, exitUsage, ""},
		{"no url", nil, exitUsage, ""},
		{"bad output", []string{shop.URL + "/", "--output", "xml"}, exitUsage, ""},
		{"bad chrome", []string{shop.URL + "/", "--chrome", "/nonexistent/chrome"}, exitInternal, ""},
		// A screenshot that cannot be written is an error, not silence.
		{"screenshot unwritable", []string{shop.URL + "/", "--screenshot", filepath.Join(dir, "no-dir", "x.png")}, exitInternal, "PASS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := browserCLI(t, append([]string{"browse"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("exit %d (want %d), out %q, stderr %q", code, tc.code, out, errOut)
			}
		})
	}
}
