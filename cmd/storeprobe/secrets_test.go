package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
	"github.com/storeprobe/storeprobe/probe/daemon"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
)

// lockedBuffer is a log destination written by many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// recorder keeps every request body (and URL) a test server was sent.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) add(req *http.Request, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, req.Method+" "+req.URL.String()+"\n"+string(body))
}

func (r *recorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.seen, "\n")
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// canaryForms is a secret as it could appear: as is, URL-escaped, HTML-
// escaped, and base64 (standard and URL alphabets) at each of the three
// alignments it could have inside a longer encoded string (Basic auth).
func canaryForms(secret string) []string {
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret), html.EscapeString(secret)}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
		for shift := range 3 {
			in := strings.Repeat("\x00", shift) + secret
			e := enc.EncodeToString([]byte(in))
			start, end := (shift+2)/3*4, len(in)/3*4
			if end-start >= 8 {
				forms = append(forms, e[start:end])
			}
		}
	}
	return forms
}

// TestSecretsCanary runs the daemon with a distinct canary secret in every
// place a secret enters (header values, URL userinfo, a token-like query
// parameter, a journey's secret input when Chromium is there, the
// webhook's HMAC key, the InfluxDB token), makes every check fail so the
// secrets are echoed into responses, failure messages and artifacts, and
// then looks for each canary, raw and encoded, in everything storeprobe
// wrote: stdout, stderr, the log, every byte of the store directory (the
// SQLite database, its WAL, the artifacts), the points written to a real
// influxd and the webhook's requests.
func TestSecretsCanary(t *testing.T) {
	if testing.Short() {
		t.Skip("starts influxd and the daemon")
	}
	nonce := make([]byte, 6)
	rand.Read(nonce)
	tag := hex.EncodeToString(nonce)
	canaries := map[string]string{}
	for _, path := range []string{"HEADER", "SECRET_HEADER", "BEARER", "USERINFO", "QUERY", "JOURNEY", "HOOK", "INFLUX"} {
		canaries[path] = "Cnry" + strings.ToLower(path[:3]) + tag + "Zq"
	}

	// The shop echoes everything it is sent back, in a header and the body,
	// and redirects the first hop so the token also rides a Location.
	var receivedMu sync.Mutex
	var received strings.Builder // what the shop was sent: proof the secrets went out
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		echo := strings.Join([]string{r.Header.Get("X-Api-Key"), r.Header.Get("X-Shop-Auth"), r.Header.Get("Authorization"),
			user, pass, r.URL.RawQuery, r.URL.Query().Get("pass")}, " ")
		receivedMu.Lock()
		received.WriteString(echo + "\n")
		receivedMu.Unlock()
		switch r.URL.Path {
		case "/login":
			http.Redirect(w, r, "/home?"+r.URL.RawQuery, http.StatusFound)
		case "/home":
			w.Header().Set("X-Echo", echo)
			io.WriteString(w, "<h1>Shop</h1> echo: "+echo)
		case "/form":
			io.WriteString(w, `<html><head><title>Log in</title></head><body><form action="/welcome" method="get">`+
				`<input id="pass" name="pass" type="text"><button id="go" type="submit">Go</button></form></body></html>`)
		case "/welcome":
			p := html.EscapeString(r.URL.Query().Get("pass"))
			fmt.Fprintf(w, `<html><head><title>Welcome %s</title></head><body><h1>Welcome %s</h1></body></html>`, p, p)
		}
	}))
	defer shop.Close()

	hooks := &recorder{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := r.Header.Clone()
		h.Del("X-Storeprobe-Signature") // an HMAC made with the key, not the key
		var hb bytes.Buffer
		h.Write(&hb)
		hooks.add(r, append(hb.Bytes(), body...))
	}))
	defer hook.Close()

	influxd := influxtest.Start(t)
	target, _ := url.Parse(influxd.URL)
	points := &recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	influxFront := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if strings.Contains(r.URL.Path, "write") {
			points.add(r, body)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	defer influxFront.Close()

	dir := t.TempDir()
	storeDir := filepath.Join(dir, "store")
	if err := os.MkdirAll(storeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shopURL, _ := url.Parse(shop.URL)
	journey := ""
	chrome := browsertest.Find()
	switch {
	case chrome.Fail != "":
		t.Fatal(chrome.Fail)
	case chrome.Skip != "":
		t.Logf("no journey secret: %s", chrome.Skip)
	default:
		writeFile(t, filepath.Join(dir, "login.yaml"), `name: login
params:
  base_url: ""
  pass: ""
steps:
  - goto: "{{base_url}}/form"
    page: form
  - type: {selector: "#pass", text: "{{pass}}", secret: true}
  - click: "#go"
    page: welcome
  - wait_for: {selector: "h1"}
  - assert_text: {selector: "h1", text: "Never shown"}
    timeout: 2s
`)
		journey = fmt.Sprintf(`  - name: login-journey
    type: journey
    journey: login.yaml
    params: {base_url: %q, pass: "${CANARY_JOURNEY}"}
    schedule: "@every 5s"
    timeout: 30s
`, shop.URL)
	}
	cfg := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfg, fmt.Sprintf(`defaults: {location: eu-test, probe: eu-test-1}
influxdb:
  url: %s
  bucket: %s
  token_env: CANARY_INFLUX
  flush_interval: 200ms
notifiers:
  - {name: hook, type: webhook, url: "%s/hook", secret_env: CANARY_HOOK}
alerting:
  notify: [hook]
checks:
  - name: login
    url: "http://shopper:${CANARY_USERINFO}@%s/login?access_token=${CANARY_QUERY}&page=1"
    schedule: "* * * * * *"
    headers:
      X-Api-Key: "${CANARY_HEADER}"
      X-Shop-Auth: "${CANARY_SECRET_HEADER}"
    secret_headers: [X-Shop-Auth]
    expect:
      headers: {X-Echo: "^never$"}
      body: ["never"]
  - name: bearer
    url: "http://%s/home"
    schedule: "* * * * * *"
    headers: {Authorization: "Bearer ${CANARY_BEARER}"}
    expect:
      headers: {X-Echo: "^never$"}
%s`, influxFront.URL, influxd.Bucket, hook.URL, shopURL.Host, shopURL.Host, journey))

	a, stdout, stderr := testApp()
	a.getenv = func(k string) string {
		if v, ok := strings.CutPrefix(k, "CANARY_"); ok {
			return canaries[v]
		}
		return ""
	}
	var logs lockedBuffer
	var mu sync.Mutex
	runs := map[string]int{}
	d, err := startDaemon(context.Background(), a, daemon.Options{ConfigPath: cfg, StorePath: filepath.Join(storeDir, "s.db"),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Chrome: chrome.Path,
		HostResolverRules: "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		OnRun:             func(r probe.Run) { mu.Lock(); runs[r.Check]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			d.Shutdown()
		}
	}()
	ready := func() bool {
		mu.Lock()
		defer mu.Unlock()
		return runs["login"] >= 3 && runs["bearer"] >= 3 && (journey == "" || runs["login-journey"] >= 1) &&
			hooks.count() > 0 && points.count() > 0
	}
	for deadline := time.Now().Add(60 * time.Second); !ready(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			mu.Lock()
			t.Fatalf("not everything happened within 60s: runs %v, %d notifications, %d writes", runs, hooks.count(), points.count())
		}
	}

	// Everything the store directory holds while running (the WAL), then
	// again after shutdown (checkpointed into the database).
	storeBytes := func() map[string][]byte {
		out := map[string][]byte{}
		filepath.WalkDir(storeDir, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() {
				if b, err := os.ReadFile(p); err == nil {
					out[p] = b
				}
			}
			return nil
		})
		return out
	}
	places := map[string]string{}
	for p, b := range storeBytes() {
		places["running: "+p] = string(b)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	artifacts := 0
	for p, b := range storeBytes() {
		places[p] = string(b)
		if strings.Contains(p, "artifacts") {
			artifacts++
		}
	}
	places["stdout"], places["stderr"], places["log"] = stdout.String(), stderr.String(), logs.String()
	places["influx writes"], places["webhook requests"] = points.text(), hooks.text()

	for path, secret := range canaries {
		if path == "JOURNEY" && journey == "" {
			continue
		}
		for _, form := range canaryForms(secret) {
			for where, text := range places {
				if i := strings.Index(text, form); i >= 0 {
					t.Errorf("the %s secret leaks into %s as %q: …%s…", path, where, form, clip(text[max(0, i-200):min(len(text), i+200)]))
				}
			}
		}
	}
	// The test proves something only if the secrets were really sent and
	// the outputs are really there.
	mu.Lock()
	t.Logf("runs %v, %d notifications, %d influx writes, %d artifact files, %d bytes of log", runs, hooks.count(), points.count(), artifacts, len(logs.String()))
	mu.Unlock()
	if !strings.Contains(logs.String(), "login") || !strings.Contains(points.text(), "login") || !strings.Contains(hooks.text(), "login") {
		t.Error("the log, influx writes or notifications do not mention the check: nothing was looked at")
	}
	receivedMu.Lock()
	for _, path := range []string{"HEADER", "SECRET_HEADER", "BEARER", "USERINFO", "QUERY", "JOURNEY"} {
		if !strings.Contains(received.String(), canaries[path]) && (path != "JOURNEY" || journey != "") {
			t.Errorf("the shop never received the %s secret: the test sent nothing to leak", path)
		}
	}
	receivedMu.Unlock()
	if journey != "" && artifacts == 0 {
		t.Error("the failed journey kept no artifacts to look at")
	}
}
