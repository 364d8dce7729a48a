package browser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// Artifact file names inside a run's directory.
const (
	ScreenshotFile = "screenshot.png"
	RequestLogFile = "requests.har.json"
)

// runDir creates a fresh directory for one run's artifacts under dir and
// returns its path and its name relative to dir.
func runDir(dir, check string) (string, string, error) {
	var rnd [3]byte
	_, _ = rand.Read(rnd[:])
	name := fmt.Sprintf("%s-%s-%s", safeName(check), time.Now().UTC().Format("20060102T150405.000Z"), hex.EncodeToString(rnd[:]))
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(path, 0o750); err != nil {
		return "", "", fmt.Errorf("artifacts dir: %w", err)
	}
	return path, name, nil
}

// artifactDir is the run's artifact directory, created on first use.
func (s *session) artifactDir(dir, check string) (string, string, error) {
	if s.artPath == "" {
		p, n, err := runDir(dir, check)
		if err != nil {
			return "", "", err
		}
		s.artPath, s.artName = p, n
	}
	return s.artPath, s.artName, nil
}

// safeName keeps a check name usable as a file name.
func safeName(s string) string {
	if s == "" {
		s = "run"
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.TrimLeft(b.String(), ".")
}

// keepArtifacts writes a failed run's full-page screenshot and HAR-like
// request log (with the final URL, failure and console errors) under dir,
// and returns their paths relative to dir. It has its own time budget past
// the run's deadline. A timed-out run's pending navigation must have been
// stopped (stopLoading) first, or the capture would wait for it.
func (s *session) keepArtifacts(dir, check string, f *probe.Failure) []string {
	ctx, cancel := s.afterCtx(artifactBudget)
	defer cancel()
	path, name, err := s.artifactDir(dir, check)
	if err != nil {
		s.b.log.Warn("keep artifacts", "err", err)
		return nil
	}
	var out []string
	// A hung page would hold the run for the whole budget and answer
	// nothing: it has its request log only.
	if (f == nil || f.Kind != probe.FailureBrowserCrash) && !s.hung {
		if f == nil || f.Kind != probe.FailureTimeout {
			// An error page may still be committing; let it, then retry
			// once (capture fails on a frame that is being replaced).
			wctx, wcancel := context.WithTimeout(ctx, 2*time.Second)
			_ = s.tr.wait(wctx, func() bool { return !s.tr.loading })
			wcancel()
		}
		// The journey is over: typed secrets can simply be emptied.
		s.blankSecrets(ctx)
		sh, err := s.screenshot(ctx)
		if err != nil && ctx.Err() == nil {
			time.Sleep(300 * time.Millisecond)
			sh, err = s.screenshot(ctx)
		}
		if err == nil {
			if err := os.WriteFile(filepath.Join(path, ScreenshotFile), sh.png, 0o640); err == nil {
				out = append(out, filepath.Join(name, ScreenshotFile))
			} else {
				s.b.log.Warn("failure screenshot", "check", check, "err", err)
			}
			if sh.clipped {
				s.b.log.Info("failure screenshot cut to its maximum height", "check", check,
					"max_px", MaxScreenshotHeight, "page_css_px", sh.height)
			}
		} else {
			s.b.log.Warn("failure screenshot", "check", check, "err", err)
		}
	}
	snap := s.tr.snapshot()
	har := buildHAR(s.tr.requestLog(), snap, s.redact, f, s.b.opts.Version)
	if data, err := json.MarshalIndent(har, "", "  "); err == nil {
		if err := os.WriteFile(filepath.Join(path, RequestLogFile), data, 0o640); err == nil {
			out = append(out, filepath.Join(name, RequestLogFile))
		} else {
			s.b.log.Warn("request log", "check", check, "err", err)
		}
	}
	return out
}

// Typed secrets in screenshots. A field a journey typed secret text into
// is emptied before a failure screenshot, and hidden by a style sheet (its
// value kept) during a screenshot step. Only those fields are covered: a
// page that echoes the value elsewhere (a greeting, the next page) still
// shows it.
const (
	blankSecretsJS = `(sels) => {
  for (const sel of sels) {
    let els = [];
    try { els = document.querySelectorAll(sel); } catch (_) { continue; }
    for (const el of els) {
      if ('value' in el) el.value = ''; else el.textContent = '';
      if (el === document.activeElement && el.blur) el.blur();
    }
  }
  return true;
}`
	hideSecretsJS = `(sels, id) => {
  const st = document.createElement('style');
  st.id = id;
  st.textContent = sels.map(s => s + '{color:transparent!important;-webkit-text-security:disc!important;' +
    'text-shadow:none!important;caret-color:transparent!important}').join('\n');
  (document.head || document.documentElement).appendChild(st);
  return true;
}`
	showSecretsJS = `(id) => { const st = document.getElementById(id); if (st) st.remove(); return true; }`
)

// blankSecrets empties the fields typed secret text into.
func (s *session) blankSecrets(ctx context.Context) {
	if len(s.secretFields) == 0 {
		return
	}
	if _, err := evalJSON[bool](ctx, s, blankSecretsJS, s.secretFields); err != nil {
		s.b.log.Debug("blank secret fields", "err", err)
	}
}

// screenshotHidingSecrets is screenshot with the secret fields hidden, and
// shown again afterwards. It fails rather than risk showing them.
func (s *session) screenshotHidingSecrets(ctx context.Context) (shot, error) {
	if len(s.secretFields) == 0 {
		return s.screenshot(ctx)
	}
	const id = "storeprobe-secret-mask"
	if _, err := evalJSON[bool](ctx, s, hideSecretsJS, s.secretFields, id); err != nil {
		return shot{}, fmt.Errorf("hide secret fields: %w", err)
	}
	defer func() { _, _ = evalJSON[bool](ctx, s, showSecretsJS, id) }()
	return s.screenshot(ctx)
}

// The HAR 1.2 subset we write. Headers, cookies and bodies are left out on
// purpose: they are where secrets live.
type harLog struct {
	Log struct {
		Version       string         `json:"version"`
		Creator       harNameVersion `json:"creator"`
		Entries       []harEntry     `json:"entries"`
		FinalURL      string         `json:"_final_url"`
		Failure       *probe.Failure `json:"_failure"`
		ConsoleErrors []string       `json:"_console_errors"`
		Failed        []string       `json:"_failed_requests"`
		// Dropped counts requests past the log's cap: counted in the
		// result's totals, not listed here.
		Dropped int `json:"_entries_dropped"`
	} `json:"log"`
}

type harNameVersion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type harEntry struct {
	Started  string      `json:"startedDateTime"`
	Time     float64     `json:"time"`
	Request  harRequest  `json:"request"`
	Response harResponse `json:"response"`
	Cache    struct{}    `json:"cache"`
	Timings  harTimings  `json:"timings"`
	ServerIP string      `json:"serverIPAddress,omitempty"`
	Type     string      `json:"_resourceType"`
	Error    string      `json:"_error,omitempty"`
}

type harRequest struct {
	Method      string   `json:"method"`
	URL         string   `json:"url"`
	HTTPVersion string   `json:"httpVersion"`
	Headers     []string `json:"headers"`
	QueryString []string `json:"queryString"`
	Cookies     []string `json:"cookies"`
	HeadersSize int      `json:"headersSize"`
	BodySize    int      `json:"bodySize"`
}

type harResponse struct {
	Status       int64      `json:"status"`
	StatusText   string     `json:"statusText"`
	HTTPVersion  string     `json:"httpVersion"`
	Headers      []string   `json:"headers"`
	Cookies      []string   `json:"cookies"`
	Content      harContent `json:"content"`
	RedirectURL  string     `json:"redirectURL"`
	HeadersSize  int        `json:"headersSize"`
	BodySize     int        `json:"bodySize"`
	TransferSize int64      `json:"_transferSize"`
}

type harContent struct {
	Size     int    `json:"size"`
	MimeType string `json:"mimeType"`
}

type harTimings struct {
	Blocked float64 `json:"blocked"`
	DNS     float64 `json:"dns"`
	Connect float64 `json:"connect"`
	SSL     float64 `json:"ssl"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
}

func buildHAR(reqs []requestEntry, snap snapshot, redact *probe.Redactor, f *probe.Failure, version string) harLog {
	var h harLog
	h.Log.Version = "1.2"
	h.Log.Creator = harNameVersion{Name: "storeprobe", Version: version}
	h.Log.FinalURL = redact.URL(snap.url)
	h.Log.Failure = f
	h.Log.ConsoleErrors = snap.consoleErrors
	h.Log.Entries = []harEntry{}
	h.Log.Failed = []string{}
	h.Log.Dropped = snap.dropped
	for _, r := range reqs {
		e := harEntry{
			Started: r.Started.Format(time.RFC3339Nano), Time: round(max(r.DurationMS, 0), 2),
			Request: harRequest{Method: r.Method, URL: r.URL, HTTPVersion: r.Protocol, Headers: []string{},
				QueryString: []string{}, Cookies: []string{}, HeadersSize: -1, BodySize: -1},
			Response: harResponse{Status: r.Status, HTTPVersion: r.Protocol, Headers: []string{}, Cookies: []string{},
				Content: harContent{Size: -1, MimeType: r.MimeType}, HeadersSize: -1, BodySize: -1, TransferSize: r.Bytes},
			ServerIP: r.RemoteIP, Type: r.Type, Error: r.Error,
			Timings: harTimings{Blocked: -1, DNS: -1, Connect: -1, SSL: -1, Send: 0, Wait: 0, Receive: 0},
		}
		if tm := r.timing; tm != nil {
			span := func(a, b float64) float64 {
				if a < 0 || b < 0 {
					return -1
				}
				return round(b-a, 2)
			}
			e.Timings.DNS = span(tm.DNSStart, tm.DNSEnd)
			e.Timings.Connect = span(tm.ConnectStart, tm.ConnectEnd)
			e.Timings.SSL = span(tm.SslStart, tm.SslEnd)
			e.Timings.Send = max(span(tm.SendStart, tm.SendEnd), 0)
			e.Timings.Wait = max(span(tm.SendEnd, tm.ReceiveHeadersEnd), 0)
			e.Timings.Receive = max(round(r.DurationMS-tm.ReceiveHeadersEnd, 2), 0)
		}
		if r.Failed {
			msg := r.URL
			if r.Error != "" {
				msg += " " + r.Error
			} else if r.Status > 0 {
				msg += fmt.Sprintf(" HTTP %d", r.Status)
			}
			h.Log.Failed = append(h.Log.Failed, msg)
		}
		h.Log.Entries = append(h.Log.Entries, e)
	}
	return h
}

// runDirName matches the directories runDir makes, and nothing else.
var runDirName = regexp.MustCompile(`-\d{8}T\d{6}\.\d{3}Z-[0-9a-f]{6}$`)

// PruneArtifacts keeps at most keep run directories under dir and removes
// those older than maxAge (0: no age limit). It returns how many it removed.
// Only directories that look like run directories are touched.
func PruneArtifacts(dir string, keep int, maxAge time.Duration) (int, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("prune artifacts: %w", err)
	}
	type run struct {
		path string
		mod  time.Time
	}
	var runs []run
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if !runDirName.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			continue
		}
		runs = append(runs, run{p, info.ModTime()})
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].mod.After(runs[j].mod) })
	removed := 0
	for i, r := range runs {
		if (keep > 0 && i >= keep) || (maxAge > 0 && time.Since(r.mod) > maxAge) {
			if err := os.RemoveAll(r.path); err != nil {
				return removed, fmt.Errorf("prune artifacts: %w", err)
			}
			removed++
		}
	}
	return removed, nil
}
