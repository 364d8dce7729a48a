package browser

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/runtime"

	"github.com/storeprobe/storeprobe/probe"
)

func TestNetFailure(t *testing.T) {
	tests := []struct {
		text string
		kind probe.FailureKind
	}{
		{"net::ERR_NAME_NOT_RESOLVED", probe.FailureDNS},
		{"net::ERR_CONNECTION_REFUSED", probe.FailureConnect},
		{"net::ERR_CONNECTION_RESET", probe.FailureConnect},
		{"net::ERR_ADDRESS_UNREACHABLE", probe.FailureConnect},
		{"net::ERR_CERT_AUTHORITY_INVALID", probe.FailureTLS},
		{"net::ERR_CERT_DATE_INVALID", probe.FailureTLS},
		{"net::ERR_SSL_PROTOCOL_ERROR", probe.FailureTLS},
		{"net::ERR_TIMED_OUT", probe.FailureTimeout},
		{"net::ERR_CONNECTION_TIMED_OUT", probe.FailureTimeout},
		{"net::ERR_TOO_MANY_REDIRECTS", probe.FailureRedirectLoop},
		{"net::ERR_EMPTY_RESPONSE", probe.FailureProtocol},
		{"net::ERR_HTTP2_PROTOCOL_ERROR", probe.FailureProtocol},
		{"net::ERR_BLOCKED_BY_CLIENT", probe.FailureNavigation},
		{"net::ERR_ABORTED", probe.FailureNavigation},
	}
	for _, tc := range tests {
		f := netFailure(tc.text, probe.PhaseNavigation)
		if f.Kind != tc.kind || f.Message != tc.text || f.Phase != probe.PhaseNavigation {
			t.Errorf("%s: %+v, want %s", tc.text, f, tc.kind)
		}
	}
}

func TestUserAgent(t *testing.T) {
	chrome := "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.8078.108 Safari/537.36"
	tests := []struct {
		dev  Device
		want string
	}{
		{Mobile(), "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.108 Mobile Safari/537.36 storeprobe/1.2"},
		{Desktop(), "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.108 Safari/537.36 storeprobe/1.2"},
		{Device{}, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.108 Safari/537.36 storeprobe/1.2"},
	}
	for _, tc := range tests {
		if got := userAgent(tc.dev, chrome, "1.2"); got != tc.want {
			t.Errorf("%s: %q", tc.dev.Name, got)
		}
	}
}

func TestDevices(t *testing.T) {
	b := &Browser{opts: Options{Devices: map[string]Device{"mobile": {Width: 390, Height: 844, DPR: 3, Mobile: true}, "tablet": {Width: 820, Height: 1180, DPR: 2}}}}
	m := Mobile()
	// Lighthouse's mobile throttling: 150 ms RTT x 3.75, 1.6 Mbps x 0.9 down,
	// 750 Kbps x 0.9 up, 4x CPU.
	if m.Latency != 562500*time.Microsecond || m.DownloadKbps != 1474.56 || m.UploadKbps != 675 || m.CPUSlowdown != 4 {
		t.Errorf("mobile throttling %+v", m)
	}
	if d := Desktop(); d.Width != 1350 || d.Height != 940 || d.DPR != 1 || d.Latency != 0 || d.CPUSlowdown != 0 {
		t.Errorf("desktop %+v", d)
	}
	if d, err := b.device("mobile"); err != nil || d.Width != 390 || d.Name != "mobile" {
		t.Errorf("override: %+v %v", d, err)
	}
	if d, err := b.device(""); err != nil || d.Name != probe.DeviceDesktop {
		t.Errorf("default: %+v %v", d, err)
	}
	if d, err := b.device("tablet"); err != nil || d.Width != 820 {
		t.Errorf("added device: %+v %v", d, err)
	}
	if _, err := b.device("watch"); err == nil {
		t.Error("unknown device accepted")
	}
}

func TestShmDetection(t *testing.T) {
	if !shmTooSmall(filepath.Join(t.TempDir(), "missing")) {
		t.Error("a missing /dev/shm must count as too small")
	}
	// t.TempDir's filesystem size is the machine's business; only check
	// that a real mount gives an answer consistent with its size.
	if shmTooSmall("/dev/shm") != (dirSize(t, "/dev/shm") < smallShm) {
		t.Error("/dev/shm size misjudged")
	}
}

func TestTooSlow(t *testing.T) {
	v := func(f float64) *float64 { return &f }
	m := probe.PageMetrics{LoadMS: 2500, Vitals: probe.Vitals{LCP: v(2600), CLS: v(0.3), INP: nil}}
	spec := probe.BrowserSpec{MaxLoad: 3 * time.Second, MaxVitals: map[probe.Vital]float64{probe.VitalLCP: 2600, probe.VitalCLS: 0.25, probe.VitalINP: 100}}
	f := tooSlow(spec, m, "home")
	if f == nil || f.Kind != probe.FailureTooSlow || f.Message != "cls 0.300 > 0.250" {
		t.Errorf("%+v: the limit itself passes, CLS over fails, unmeasured INP is no failure", f)
	}
	spec.MaxLoad = 2 * time.Second
	if f := tooSlow(spec, m, ""); f == nil || !strings.HasPrefix(f.Message, "load 2500 ms > 2000 ms") {
		t.Errorf("%+v", f)
	}
}

func TestStepNames(t *testing.T) {
	r := probe.NewRedactor()
	tests := []struct {
		step probe.Step
		want string
	}{
		{probe.Step{Action: probe.ActionGoto, URL: "https://shop.example/?token=abc123xyz"}, "goto https://shop.example/?token=REDACTED"},
		{probe.Step{Action: probe.ActionType, Selector: "#pw", Text: "hunter22", Secret: true}, "type #pw"},
		{probe.Step{Action: probe.ActionWaitFor, Text: "Added"}, `wait_for text "Added"`},
		{probe.Step{Action: probe.ActionWaitFor, URLMatch: "/cart"}, "wait_for url /cart"},
		{probe.Step{Action: probe.ActionSleep, Sleep: 500 * time.Millisecond}, "sleep 500ms"},
		{probe.Step{Action: probe.ActionClick, Selector: "#buy", Name: "buy it"}, "buy it"},
	}
	for _, tc := range tests {
		if got := stepName(tc.step, r); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.step, got, tc.want)
		}
	}
}

func TestPruneArtifacts(t *testing.T) {
	dir := t.TempDir()
	var made []string
	for i := range 5 {
		p, _, err := runDir(dir, "checkout/eu")
		if err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-time.Duration(5-i) * time.Hour)
		os.Chtimes(p, old, old)
		made = append(made, p)
	}
	os.Mkdir(filepath.Join(dir, "not-ours"), 0o755)
	if n, err := PruneArtifacts(dir, 3, 0); err != nil || n != 2 {
		t.Fatalf("pruned %d: %v", n, err)
	}
	if _, err := os.Stat(made[0]); !os.IsNotExist(err) {
		t.Error("the oldest run survived")
	}
	if n, _ := PruneArtifacts(dir, 0, 90*time.Minute); n != 2 {
		t.Errorf("age pruning removed %d, want 2", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "not-ours")); err != nil {
		t.Error("pruning touched a directory it did not make")
	}
	if !strings.HasPrefix(filepath.Base(made[4]), "checkout_eu-") {
		t.Errorf("run dir %s", made[4])
	}
}

// FuzzCollect feeds arbitrary binding payloads (the page controls them) to
// the tracker: it must never panic and must keep only well-formed reports.
func FuzzCollect(f *testing.F) {
	f.Add(`{"id":"1-a","url":"http://x/","seq":1,"lcp":12.5,"cls":0.1,"inp":null}`)
	f.Add(`{"id":"","seq":-1}`)
	f.Add(`[1,2]`)
	f.Add(`{"id":"x","lcp":"NaN","seq":1e309}`)
	f.Add(`{"id":"d~1","doc":"d","soft":"heuristics","seq":2,"start":583.6,"lcp":321.5,"end":2100,"end_reason":"quiet","tbt":30,` +
		`"long_tasks":1,"longest_task":80,"tasks":[{"start":-5,"duration":80,"script":"http://x/a.js"}],"scripts":[{"url":"http://x/a.js","blocking":30}],` +
		`"render_blocking":1,"render_blocking_list":[{"url":"http://x/a.css","type":"css","start":1,"end":300}],"lcp_request_start":10,"lcp_response_end":20}`)
	f.Add(`{"id":"d","seq":1,"soft":"bogus","end_reason":"later"}`)
	f.Fuzz(func(t *testing.T, payload string) {
		tr := newTracker(probe.NewRedactor(), "")
		tr.mu.Lock()
		tr.collectLocked(payload)
		tr.collectLocked(payload)
		tr.mu.Unlock()
		s := tr.snapshot()
		if len(s.docs) > 1 {
			t.Fatalf("one id made %d documents", len(s.docs))
		}
		for _, d := range s.docs {
			if d.id == "" {
				t.Fatal("a report without id was kept")
			}
			measure(s, probe.NewRedactor())
		}
	})
}

func dirSize(t *testing.T, path string) uint64 { return statfs(t, path) }

func statfs(t *testing.T, path string) uint64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		t.Fatal(err)
	}
	return uint64(st.Blocks) * uint64(st.Bsize)
}

func TestStepTimeout(t *testing.T) {
	tests := []struct {
		name string
		st   probe.Step
		want time.Duration
	}{
		{"own", probe.Step{Action: probe.ActionClick, Timeout: 2 * time.Second}, 2 * time.Second},
		{"default", probe.Step{Action: probe.ActionClick}, DefaultStepTimeout},
		{"optional", probe.Step{Action: probe.ActionClick, Optional: true}, OptionalStepTimeout},
		// A long pause is not a timeout of the step.
		{"sleep", probe.Step{Action: probe.ActionSleep, Sleep: 25 * time.Second}, 25*time.Second + DefaultStepTimeout},
		{"sleep own", probe.Step{Action: probe.ActionSleep, Sleep: 25 * time.Second, Timeout: time.Second}, time.Second},
	}
	for _, tc := range tests {
		if got := stepTimeout(tc.st); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestCollectBounds: reports with the run's nonce are still checked: the
// number of documents, string lengths and value ranges are bounded, and a
// report out of range is dropped whole.
func TestCollectBounds(t *testing.T) {
	tr := newTracker(probe.NewRedactor(), "n0nce")
	feed := func(p string) {
		tr.handle(&runtime.EventBindingCalled{Name: bindingName, Payload: p})
	}
	for i := range 1000 {
		feed(fmt.Sprintf(`n0nce{"id":"d%d","seq":1,"url":"http://x/%s","lcp_element":"%s","lcp":12}`, i,
			strings.Repeat("y", 3000), strings.Repeat("z", 3000)))
	}
	feed(`{"id":"nononce","seq":1}`)
	feed(`n0nc{"id":"badnonce","seq":1}`)
	s := tr.snapshot()
	if len(s.docs) != maxPages {
		t.Fatalf("%d documents, want the cap %d", len(s.docs), maxPages)
	}
	for _, d := range s.docs {
		if len(d.v.URL) > maxURLLen || len(d.v.LCPElement) > maxElementLen || d.id == "nononce" || d.id == "badnonce" {
			t.Fatalf("document %s: url %d bytes, lcp_element %d bytes", d.id, len(d.v.URL), len(d.v.LCPElement))
		}
	}
	for _, p := range []string{
		`{"id":"d0","seq":2,"lcp":-1}`, `{"id":"d0","seq":2,"cls":1e9}`, `{"id":"d0","seq":2,"inp":1e300}`,
		`{"id":"d0","seq":-5}`, `{"id":"d0","seq":2,"interactions":-1}`, `{"id":"` + strings.Repeat("i", 100) + `","seq":2}`,
	} {
		feed("n0nce" + p)
	}
	if d := tr.snapshot().docs[0]; d.v.Seq != 1 || *d.v.LCP != 12 {
		t.Errorf("an out-of-range report replaced a document: %+v", d.v)
	}
}

// Console messages and exceptions are stored clipped between characters: a
// cut inside one would make the stored result invalid UTF-8.
func TestTrackerClipsMessagesBetweenCharacters(t *testing.T) {
	tr := newTracker(probe.NewRedactor(), "n")
	for _, msg := range []string{"short é", "a" + strings.Repeat("é", maxMessageLen)} {
		got := tr.clip(msg)
		if !utf8.ValidString(got) {
			t.Errorf("clip(%d bytes) = invalid UTF-8 %q", len(msg), got)
		}
		if n := utf8.RuneCountInString(msg); n > maxMessageLen && (utf8.RuneCountInString(got) != maxMessageLen+1 || !strings.HasSuffix(got, "…")) {
			t.Errorf("clip(%d characters) kept %d characters: %q", n, utf8.RuneCountInString(got), got)
		}
		if utf8.RuneCountInString(msg) <= maxMessageLen && got != msg {
			t.Errorf("clip(%q) = %q, want it unchanged", msg, got)
		}
	}
}
