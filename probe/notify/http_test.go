package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

var testStart = time.Date(2026, 3, 1, 10, 4, 5, 0, time.UTC)

// firing is a down alert as the engine sends it, with every field set.
func firing() alert.Notification {
	return alert.Notification{
		Status: alert.Firing, Alert: alert.RuleDown, Check: "checkout", Location: "eu-west", Probe: "fra-1",
		Severity: alert.Critical, Summary: "checkout down", StartedAt: testStart,
		FailureKind: "timeout", Message: "GET https://shop.example/checkout: no response within 10s",
		URL: "https://shop.example/checkout", RunbookURL: "https://wiki.example/runbooks/checkout",
		Screenshot: "artifacts/2026/03/01/checkout-1.png", Key: "down/checkout",
	}
}

func resolved() alert.Notification {
	n := firing()
	n.Status = alert.Resolved
	end := testStart.Add(7 * time.Minute)
	n.EndedAt = &end
	return n
}

// request is what a test receiver saw.
type request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
	User, Pass   string
	HasAuth      bool
}

// receiver is a loopback HTTP endpoint that records every request and
// answers with status(i) for the i-th (0-based).
type receiverServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []request
}

func newReceiver(t *testing.T, answer func(i int, w http.ResponseWriter, r *http.Request)) *receiverServer {
	t.Helper()
	rs := &receiverServer{}
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body)) // for answer to read again
		user, pass, ok := r.BasicAuth()
		rs.mu.Lock()
		i := len(rs.reqs)
		rs.reqs = append(rs.reqs, request{r.Method, r.URL.Path, r.Header.Clone(), body, user, pass, ok})
		rs.mu.Unlock()
		if answer != nil {
			answer(i, w, r)
		}
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *receiverServer) requests() []request {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]request(nil), rs.reqs...)
}

func mustNew(t *testing.T, n probe.Notifier, opts ...Option) Notifier {
	t.Helper()
	nt, err := New(n, append([]Option{WithVersion("test"), WithClock(func() time.Time { return testStart.Add(time.Minute) })}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return nt
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, b)
	}
	return v
}

func wantJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	g, w := decodeJSON(t, got), decodeJSON(t, []byte(want))
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body:\n%s\nwant:\n%s", got, want)
	}
}

func TestWebhookPayloadAndSignature(t *testing.T) {
	const secret = "hmac-key-0123456789"
	for _, tc := range []struct {
		name   string
		secret string
		n      alert.Notification
	}{
		{"firing, signed", secret, firing()},
		{"resolved, signed", secret, resolved()},
		{"unsigned", "", firing()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := newReceiver(t, nil)
			nt := mustNew(t, probe.Notifier{Name: "hook", Type: probe.NotifierWebhook, URL: rs.URL + "/hooks/alerts",
				Secret: tc.secret, SendResolved: true,
				Headers: []probe.Header{{Name: "X-Api-Key", Value: "api-key-value"}}})
			if err := nt.Notify(context.Background(), tc.n); err != nil {
				t.Fatal(err)
			}
			reqs := rs.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			want, _ := json.Marshal(tc.n)
			if !bytes.Equal(r.Body, want) {
				t.Errorf("body is not the Notification's JSON:\n%s\nwant:\n%s", r.Body, want)
			}
			var back alert.Notification
			if err := json.Unmarshal(r.Body, &back); err != nil || !reflect.DeepEqual(back, tc.n) {
				t.Errorf("body decodes to %+v (%v), want %+v", back, err, tc.n)
			}
			for k, v := range map[string]string{"Content-Type": "application/json", "User-Agent": "storeprobe/test", "X-Api-Key": "api-key-value"} {
				if got := r.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if r.Method != http.MethodPost || r.Path != "/hooks/alerts" {
				t.Errorf("%s %s, want POST /hooks/alerts", r.Method, r.Path)
			}
			sig := r.Header.Get("X-Storeprobe-Signature")
			if tc.secret == "" {
				if sig != "" {
					t.Errorf("unsigned webhook carries a signature %q", sig)
				}
				return
			}
			// Verified as a receiver would, without the package's code.
			got, err := hex.DecodeString(strings.TrimPrefix(sig, "sha256="))
			if !strings.HasPrefix(sig, "sha256=") || err != nil {
				t.Fatalf("signature %q is not sha256=<hex>", sig)
			}
			m := hmac.New(sha256.New, []byte(tc.secret))
			m.Write(r.Body)
			if !hmac.Equal(got, m.Sum(nil)) {
				t.Errorf("signature %q does not verify", sig)
			}
		})
	}
}

func TestSlackPayload(t *testing.T) {
	rs := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	nt := mustNew(t, probe.Notifier{Name: "chat", Type: probe.NotifierSlack, URL: rs.URL + "/services/T0/B0/tok3n", SendResolved: true})
	n := firing()
	n.Message = "body had <b>5 & 6</b>"
	if err := nt.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	r := rs.requests()[0]
	if r.Path != "/services/T0/B0/tok3n" || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("POST %s as %s", r.Path, r.Header.Get("Content-Type"))
	}
	wantJSON(t, r.Body, `{
	  "text": "[FIRING] checkout down (eu-west)",
	  "blocks": [
	    {"type": "section", "text": {"type": "mrkdwn",
	      "text": "*[FIRING] checkout down (eu-west)*\ntimeout: body had &lt;b&gt;5 &amp; 6&lt;/b&gt;"}},
	    {"type": "section", "fields": [
	      {"type": "mrkdwn", "text": "*Check*\ncheckout"},
	      {"type": "mrkdwn", "text": "*Alert*\ndown"},
	      {"type": "mrkdwn", "text": "*Severity*\ncritical"},
	      {"type": "mrkdwn", "text": "*Location*\neu-west"},
	      {"type": "mrkdwn", "text": "*Probe*\nfra-1"},
	      {"type": "mrkdwn", "text": "*Started*\n2026-03-01T10:04:05Z"},
	      {"type": "mrkdwn", "text": "*URL*\n<https://shop.example/checkout|https://shop.example/checkout>"},
	      {"type": "mrkdwn", "text": "*Runbook*\n<https://wiki.example/runbooks/checkout|https://wiki.example/runbooks/checkout>"},
	      {"type": "mrkdwn", "text": "*Screenshot*\nartifacts/2026/03/01/checkout-1.png"}
	    ]}
	  ]
	}`)
}

func TestPagerDutyTriggerThenResolve(t *testing.T) {
	rs := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		io.WriteString(w, `{"status":"success","message":"Event processed","dedup_key":"down/checkout"}`)
	})
	nt := mustNew(t, probe.Notifier{Name: "pager", Type: probe.NotifierPagerDuty, URL: rs.URL + "/v2/enqueue",
		Secret: "R0UT1NGKEY0123456789abcdefabcdef", SendResolved: true})
	for _, n := range []alert.Notification{firing(), resolved()} {
		if err := nt.Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rs.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	wantJSON(t, reqs[0].Body, `{
	  "routing_key": "R0UT1NGKEY0123456789abcdefabcdef",
	  "event_action": "trigger",
	  "dedup_key": "down/checkout",
	  "client": "storeprobe",
	  "payload": {
	    "summary": "[FIRING] checkout down (eu-west)",
	    "source": "shop.example",
	    "severity": "critical",
	    "timestamp": "2026-03-01T10:04:05Z",
	    "component": "checkout",
	    "group": "eu-west",
	    "class": "down",
	    "custom_details": {
	      "check": "checkout", "alert": "down", "location": "eu-west", "status": "firing", "probe": "fra-1",
	      "failure_kind": "timeout", "message": "GET https://shop.example/checkout: no response within 10s",
	      "url": "https://shop.example/checkout", "runbook_url": "https://wiki.example/runbooks/checkout",
	      "screenshot": "artifacts/2026/03/01/checkout-1.png", "started_at": "2026-03-01T10:04:05Z"
	    }
	  },
	  "links": [
	    {"href": "https://wiki.example/runbooks/checkout", "text": "Runbook"},
	    {"href": "https://shop.example/checkout", "text": "Checked URL"}
	  ]
	}`)
	wantJSON(t, reqs[1].Body, `{"routing_key": "R0UT1NGKEY0123456789abcdefabcdef", "event_action": "resolve", "dedup_key": "down/checkout"}`)
	for _, r := range reqs {
		if r.Path != "/v2/enqueue" {
			t.Errorf("path %s", r.Path)
		}
	}
}

func TestPagerDutyLimits(t *testing.T) {
	n := firing()
	n.Key = strings.Repeat("k", 300)
	n.Summary = strings.Repeat("é", 2000)
	n.Severity = "page-me"
	ev := pagerDutyEvent("key", n)
	if len(ev.DedupKey) > pdDedupMax || ev.DedupKey != pagerDutyEvent("key", n).DedupKey {
		t.Errorf("dedup_key %q: over 255 or unstable", ev.DedupKey)
	}
	if got := len([]rune(ev.Payload.Summary)); got != pdSummaryMax {
		t.Errorf("summary is %d characters, want %d", got, pdSummaryMax)
	}
	if ev.Payload.Severity != "error" {
		t.Errorf("unknown severity maps to %q, want error", ev.Payload.Severity)
	}
}

func TestSMSOneRequestPerRecipient(t *testing.T) {
	rs := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, `{"sid":"SM00000000000000000000000000000000","status":"queued"}`)
	})
	nt := mustNew(t, probe.Notifier{Name: "oncall", Type: probe.NotifierSMS, URL: rs.URL,
		AccountSID: "AC0123456789abcdef0123456789abcdef", Secret: "auth-token-0123", From: "+15005550006",
		To: []string{"+15005550001", "+15005550002"}, SendResolved: true})
	n := firing()
	n.Message = strings.Repeat("x", 1000)
	if err := nt.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	reqs := rs.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want one per recipient", len(reqs))
	}
	for i, r := range reqs {
		if r.Path != "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json" {
			t.Errorf("path %s", r.Path)
		}
		if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("content type %s", r.Header.Get("Content-Type"))
		}
		if !r.HasAuth || r.User != "AC0123456789abcdef0123456789abcdef" || r.Pass != "auth-token-0123" {
			t.Errorf("basic auth %q:%q (%v)", r.User, r.Pass, r.HasAuth)
		}
		form, err := url.ParseQuery(string(r.Body))
		if err != nil {
			t.Fatal(err)
		}
		body := form.Get("Body")
		want := url.Values{"To": {[]string{"+15005550001", "+15005550002"}[i]}, "From": {"+15005550006"}, "Body": {body}}
		if !reflect.DeepEqual(form, want) {
			t.Errorf("form %v, want %v", form, want)
		}
		if n := len([]rune(body)); n != SMSMax {
			t.Errorf("body is %d characters, want it cut to %d", n, SMSMax)
		}
		if !strings.HasPrefix(body, "[FIRING] checkout down (eu-west): timeout: xxx") ||
			!strings.HasSuffix(body, "… Runbook: https://wiki.example/runbooks/checkout") {
			t.Errorf("body %q", body)
		}
	}
}

func TestAlertmanagerPayload(t *testing.T) {
	rs := newReceiver(t, nil)
	nt := mustNew(t, probe.Notifier{Name: "am", Type: probe.NotifierAlertmanager, URL: rs.URL + "/", SendResolved: true,
		Headers: []probe.Header{{Name: "Authorization", Value: "Bearer am-token"}}}, WithAlertmanagerHold(6*time.Hour))
	for _, n := range []alert.Notification{firing(), resolved()} {
		if err := nt.Notify(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	reqs := rs.requests()
	labels := `{"alertname": "down", "check": "checkout", "location": "eu-west", "severity": "critical", "probe": "fra-1"}`
	annotations := `{"summary": "checkout down", "description": "timeout: GET https://shop.example/checkout: no response within 10s",
	  "runbook_url": "https://wiki.example/runbooks/checkout", "screenshot": "artifacts/2026/03/01/checkout-1.png"}`
	// The clock says testStart+1m: a firing alert ends hold later, a
	// resolved one when it ended.
	wantJSON(t, reqs[0].Body, `[{"labels": `+labels+`, "annotations": `+annotations+`,
	  "startsAt": "2026-03-01T10:04:05Z", "endsAt": "2026-03-01T16:05:05Z", "generatorURL": "https://shop.example/checkout"}]`)
	wantJSON(t, reqs[1].Body, `[{"labels": `+labels+`, "annotations": `+annotations+`,
	  "startsAt": "2026-03-01T10:04:05Z", "endsAt": "2026-03-01T10:11:05Z", "generatorURL": "https://shop.example/checkout"}]`)
	for _, r := range reqs {
		if r.Path != "/api/v2/alerts" || r.Header.Get("Authorization") != "Bearer am-token" {
			t.Errorf("POST %s with Authorization %q", r.Path, r.Header.Get("Authorization"))
		}
	}
}

func TestSendResolvedOff(t *testing.T) {
	rs := newReceiver(t, nil)
	nt := mustNew(t, probe.Notifier{Name: "hook", Type: probe.NotifierWebhook, URL: rs.URL})
	if err := nt.Notify(context.Background(), resolved()); err != nil {
		t.Fatal(err)
	}
	if err := nt.Notify(context.Background(), firing()); err != nil {
		t.Fatal(err)
	}
	if n := len(rs.requests()); n != 1 {
		t.Errorf("%d requests, want only the firing one", n)
	}
}

// Every HTTP notifier shares one way of reading answers; each type is run
// through it so none can drift.
func TestHTTPAnswersClassified(t *testing.T) {
	types := []func(u string) probe.Notifier{
		func(u string) probe.Notifier { return probe.Notifier{Type: probe.NotifierWebhook, URL: u} },
		func(u string) probe.Notifier { return probe.Notifier{Type: probe.NotifierSlack, URL: u} },
		func(u string) probe.Notifier {
			return probe.Notifier{Type: probe.NotifierPagerDuty, URL: u, Secret: "routing-key"}
		},
		func(u string) probe.Notifier {
			return probe.Notifier{Type: probe.NotifierSMS, URL: u, AccountSID: "AC1", Secret: "tok1", From: "+1", To: []string{"+2"}}
		},
		func(u string) probe.Notifier { return probe.Notifier{Type: probe.NotifierAlertmanager, URL: u} },
	}
	tests := []struct {
		status     int
		header     map[string]string
		wantErr    bool
		permanent  bool
		reason     Reason
		retryAfter time.Duration
	}{
		{status: 200},
		{status: 201},
		{status: 202},
		{status: 301, header: map[string]string{"Location": "https://elsewhere.example/"}, wantErr: true, permanent: true, reason: ReasonRejected},
		{status: 400, wantErr: true, permanent: true, reason: ReasonRejected},
		{status: 401, wantErr: true, permanent: true, reason: ReasonRejected},
		{status: 404, wantErr: true, permanent: true, reason: ReasonRejected},
		{status: 408, wantErr: true, reason: ReasonServerError},
		{status: 429, header: map[string]string{"Retry-After": "7"}, wantErr: true, reason: ReasonRateLimited, retryAfter: 7 * time.Second},
		{status: 500, wantErr: true, reason: ReasonServerError},
		{status: 503, header: map[string]string{"Retry-After": "120"}, wantErr: true, reason: ReasonServerError, retryAfter: 2 * time.Minute},
	}
	for _, mk := range types {
		typ := mk("").Type
		for _, tc := range tests {
			t.Run(typ+"/"+http.StatusText(tc.status), func(t *testing.T) {
				rs := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
					for k, v := range tc.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.status)
				})
				n := mk(rs.URL)
				n.Name = "x"
				err := mustNew(t, n).Notify(context.Background(), firing())
				checkErr(t, err, tc.wantErr, tc.permanent, tc.reason, tc.retryAfter)
			})
		}
	}
}

func checkErr(t *testing.T, err error, wantErr, perm bool, reason Reason, retryAfter time.Duration) {
	t.Helper()
	if (err != nil) != wantErr {
		t.Fatalf("err = %v, want error: %v", err, wantErr)
	}
	if err == nil {
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("%v is not an *Error", err)
	}
	if Permanent(err) != perm || e.Reason != reason || RetryAfter(err) != retryAfter {
		t.Errorf("%v: permanent %v reason %s retry-after %v; want %v %s %v", err, Permanent(err), e.Reason, RetryAfter(err), perm, reason, retryAfter)
	}
}

func TestNetworkErrorsTransient(t *testing.T) {
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(hang)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // a port nobody listens on

	for _, tc := range []struct {
		name   string
		url    string
		reason Reason
	}{
		{"refused", down.URL, ReasonNetwork},
		{"no answer within the timeout", slow.URL, ReasonTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nt := mustNew(t, probe.Notifier{Name: "x", Type: probe.NotifierWebhook, URL: tc.url, Timeout: 50 * time.Millisecond})
			err := nt.Notify(context.Background(), firing())
			checkErr(t, err, true, false, tc.reason, 0)
		})
	}
}

func TestRetryAfterParse(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"":                              0,
		"30":                            30 * time.Second,
		"0":                             0,
		"-5":                            0,
		"soon":                          0,
		"Sun, 01 Mar 2026 10:01:30 GMT": 90 * time.Second,
		"Sun, 01 Mar 2026 09:00:00 GMT": 0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "30", "-1", "Sun, 01 Mar 2026 10:01:30 GMT", "99999999999999999999"} {
		f.Add(s)
	}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := retryAfter(v, now); d < 0 || d > time.Duration(1<<20)*time.Second && !strings.Contains(v, ",") {
			t.Errorf("retryAfter(%q) = %v", v, d)
		}
	})
}

// canary is a secret no payload, error or log line may ever show.
const canary = "CANARY-9f8e7d6c5b4a"

// A receiver echoing everything it got (path, headers, body) into its
// error answer, and a check message quoting the canary, must still leave
// no trace of a secret in what we send (beyond where the receiver's API
// wants it) or in what we log.
func TestSecretsNeverLeak(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	echo := func(_ int, w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		body, _ := io.ReadAll(r.Body)
		io.WriteString(w, "refused "+r.URL.String()+" "+r.Header.Get("X-Api-Key")+" "+string(body))
	}
	type leakCase struct {
		n probe.Notifier
		// secretInBody: the receiver's API wants the secret in the body
		// (PagerDuty's routing_key); it must still appear nowhere else.
		secretInBody bool
	}
	var cases []leakCase
	var servers []*receiverServer
	for _, mk := range []func(base string) leakCase{
		func(base string) leakCase {
			u, _ := url.Parse(base + "/hook?token=" + canary)
			u.User = url.UserPassword("user", canary)
			return leakCase{n: probe.Notifier{Type: probe.NotifierWebhook, URL: u.String(), Secret: canary,
				Headers: []probe.Header{{Name: "X-Api-Key", Value: canary}}}}
		},
		func(base string) leakCase {
			return leakCase{n: probe.Notifier{Type: probe.NotifierSlack, URL: base + "/services/T0/B0/" + canary}}
		},
		func(base string) leakCase {
			return leakCase{n: probe.Notifier{Type: probe.NotifierPagerDuty, URL: base, Secret: canary}, secretInBody: true}
		},
		func(base string) leakCase {
			return leakCase{n: probe.Notifier{Type: probe.NotifierSMS, URL: base, AccountSID: "AC1", Secret: canary, From: "+1", To: []string{"+2"}}}
		},
		func(base string) leakCase {
			return leakCase{n: probe.Notifier{Type: probe.NotifierAlertmanager, URL: base,
				Headers: []probe.Header{{Name: "Authorization", Value: "Bearer " + canary}}}}
		},
	} {
		rs := newReceiver(t, echo)
		c := mk(rs.URL)
		c.n.Name, c.n.SendResolved = c.n.Type, true
		cases = append(cases, c)
		servers = append(servers, rs)
	}
	var nts []Notifier
	for _, c := range cases {
		nts = append(nts, mustNew(t, c.n))
	}
	d := NewDispatcher(nts, DispatcherOptions{Logger: log})
	n := firing()
	n.Message = "the page said " + canary // as if a check had quoted it
	var names []string
	for _, nt := range nts {
		names = append(names, nt.Name())
		if err := nt.Notify(context.Background(), n); err == nil || strings.Contains(err.Error(), canary) {
			t.Errorf("%s: error %v shows the canary (or is nil)", nt.Type(), err)
		}
	}
	d.Send(n, names)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	for i, rs := range servers {
		reqs := rs.requests()
		if len(reqs) != 2 {
			t.Errorf("%s: %d requests, want 2", cases[i].n.Type, len(reqs))
		}
		for _, r := range reqs {
			body := string(r.Body)
			if cases[i].secretInBody {
				body = strings.Replace(body, `"routing_key":"`+canary+`"`, "", 1)
			}
			if strings.Contains(body, canary) {
				t.Errorf("%s: body shows the canary: %s", cases[i].n.Type, r.Body)
			}
		}
	}
	out := logs.String()
	if !strings.Contains(out, "notification dropped") {
		t.Errorf("the refusals were not logged:\n%s", out)
	}
	if strings.Contains(out, canary) {
		t.Errorf("the log shows the canary:\n%s", out)
	}
	// Receivers are named by scheme and host; the receivers here echo
	// their path into their answer, so Slack's (a credential) must be
	// redacted from the quoted answer too.
	if strings.Contains(out, "/services/") {
		t.Errorf("the log shows the Slack webhook's path:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the dispatcher's workers to log to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSlackEscapingAndLimits(t *testing.T) {
	n := firing()
	n.Summary = "price <0 & rising"
	n.Message = strings.Repeat("&", 2000)
	m := slackPayload(n)
	if m.Text != "[FIRING] price &lt;0 &amp; rising (eu-west)" {
		t.Errorf("text %q", m.Text)
	}
	main := m.Blocks[0].Text.Text
	if got := len([]rune(main)); got > slackSectionMax {
		t.Errorf("section text is %d characters, over %d", got, slackSectionMax)
	}
	if !strings.HasSuffix(main, "&amp;…") {
		t.Errorf("section text cut inside an entity: …%s", main[len(main)-12:])
	}
}
