package prober

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

func server(t *testing.T, body string) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	t.Cleanup(s.Close)
	return s
}

func httpCheck(name, url string) probe.Check {
	return probe.Check{Name: name, Type: probe.TypeHTTP, URL: url, Timeout: 5 * time.Second,
		HTTP: probe.HTTPSpec{FollowRedirects: true, MaxRedirects: probe.DefaultMaxRedirects}}
}

// TestExecuteDispatch: each check type goes to its probe, and what the
// prober cannot run is a classified probe fault, not a Go error.
func TestExecuteDispatch(t *testing.T) {
	shop := server(t, "Add to cart")
	p := New(Options{Version: "test"})
	for _, tc := range []struct {
		name    string
		check   probe.Check
		ok      bool
		kind    probe.FailureKind
		message string
	}{
		{"http", httpCheck("home", shop.URL+"/"), true, "", ""},
		{"browser without a browser", probe.Check{Name: "b", Type: probe.TypeBrowser, URL: shop.URL}, false, probe.FailureBrowserCrash, "no browser"},
		{"journey without a browser", probe.Check{Name: "j", Type: probe.TypeJourney, Journey: probe.JourneySpec{Template: "custom"}}, false, probe.FailureBrowserCrash, "no browser"},
		{"unknown type", probe.Check{Name: "x", Type: "smtp", URL: "smtp://127.0.0.1:1"}, false, probe.FailureProbeError, `unknown check type "smtp"`},
		{"unpreparable http check", probe.Check{Name: "c", Type: probe.TypeHTTP, URL: shop.URL, HTTP: probe.HTTPSpec{CAFile: "/nonexistent/ca.pem"}}, false, probe.FailureProbeError, "prepare http check"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := p.Execute(context.Background(), tc.check, 2)
			if res.OK != tc.ok {
				t.Fatalf("ok = %v, failure %+v", res.OK, res.Failure)
			}
			if tc.ok {
				if res.Attempt != 2 || res.HTTPDetails == nil || res.StatusCode != 200 {
					t.Errorf("result %+v: want attempt 2 with HTTP details", res)
				}
				return
			}
			if res.Failure == nil || res.Failure.Kind != tc.kind || !strings.Contains(res.Failure.Message, tc.message) {
				t.Errorf("failure %+v, want %s mentioning %q", res.Failure, tc.kind, tc.message)
			}
			if !res.Failure.Kind.ProbeFault() {
				t.Errorf("%s is not a probe fault: it would count against the shop", res.Failure.Kind)
			}
			if res.Check != tc.check.Name || res.Type != tc.check.Type || res.StartedAt.IsZero() {
				t.Errorf("fault result does not say which check: %+v", res)
			}
		})
	}
}

// TestPreparedChecksAreUsedAndSwapped: Execute runs the checker prepared at
// load time, and Install swaps the whole set at once (the old one comes
// back when a reload is refused).
func TestPreparedChecksAreUsedAndSwapped(t *testing.T) {
	first, second := server(t, "first"), server(t, "second")
	p := New(Options{Version: "test"})
	bodyOf := func(c probe.Check) int64 { return p.Execute(context.Background(), c, 1).Bytes }
	prep1, err := p.Prepare([]probe.Check{httpCheck("home", first.URL)})
	if err != nil {
		t.Fatal(err)
	}
	p.Install(prep1)
	// The check passed to Execute names the other server: the prepared one wins.
	if n := bodyOf(httpCheck("home", second.URL+"/longer")); n != int64(len("first")) {
		t.Fatalf("read %d bytes, want the prepared check's %d", n, len("first"))
	}
	prep2, err := p.Prepare([]probe.Check{httpCheck("home", second.URL)})
	if err != nil {
		t.Fatal(err)
	}
	old := p.Install(prep2)
	if n := bodyOf(httpCheck("home", first.URL)); n != int64(len("second")) {
		t.Fatalf("after Install: read %d bytes, want %d", n, len("second"))
	}
	p.Install(old)
	if n := bodyOf(httpCheck("home", second.URL)); n != int64(len("first")) {
		t.Fatalf("after putting the old set back: read %d bytes, want %d", n, len("first"))
	}
}

// TestPrepareRefusesBrokenChecks: a check that cannot be prepared refuses
// the whole set, naming the check, and secrets stay out of fault results.
func TestPrepareRefusesBrokenChecks(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("steps: [1]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := New(Options{})
	for _, tc := range []struct {
		name  string
		check probe.Check
		want  string
	}{
		{"missing journey", probe.Check{Name: "gone", Type: probe.TypeJourney, Journey: probe.JourneySpec{File: filepath.Join(dir, "gone.yaml")}}, "check gone:"},
		{"invalid journey", probe.Check{Name: "broken", Type: probe.TypeJourney, Journey: probe.JourneySpec{File: bad}}, "check broken:"},
		{"unknown template", probe.Check{Name: "tpl", Type: probe.TypeJourney, Journey: probe.JourneySpec{Template: "nope"}}, "check tpl:"},
		{"http check", probe.Check{Name: "ca", Type: probe.TypeHTTP, URL: "https://127.0.0.1/", HTTP: probe.HTTPSpec{CAFile: filepath.Join(dir, "none.pem")}}, "check ca:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Prepare([]probe.Check{httpCheck("fine", "http://127.0.0.1:1/"), tc.check})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Prepare error %v, want one starting %q", err, tc.want)
			}
		})
	}
	res := p.Execute(context.Background(), probe.Check{Name: "s", Type: "nope", URL: "http://user:hunter2@shop.test/?token=abc123"}, 1)
	if s := res.URL + res.Failure.Message; strings.Contains(s, "hunter2") || strings.Contains(s, "abc123") {
		t.Errorf("a fault result carries a secret: url %q message %q", res.URL, res.Failure.Message)
	}
}
