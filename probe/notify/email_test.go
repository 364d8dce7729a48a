package notify

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// mailpitServer is a real mailpit on loopback ports, for one test.
type mailpitServer struct {
	SMTP string // 127.0.0.1:PORT
	API  string // http://127.0.0.1:PORT/api/v1
}

// startMailpit starts mailpit with extra flags (TLS, auth, chaos).
func startMailpit(t *testing.T, flags ...string) *mailpitServer {
	t.Helper()
	bin := mailpit().Require(t)
	smtpAddr, httpAddr := freeAddr(t), freeAddr(t)
	s := &mailpitServer{SMTP: smtpAddr, API: "http://" + httpAddr + "/api/v1"}
	args := append([]string{
		"--smtp", smtpAddr, "--listen", httpAddr,
		"--database", filepath.Join(t.TempDir(), "mailpit.db"),
		// Nothing leaves loopback: no update check, no reverse DNS.
		"--disable-version-check", "--smtp-disable-rdns",
	}, flags...)
	startProcess(t, bin, args, func() bool {
		if !httpOK(s.API + "/messages") {
			return false
		}
		c, err := net.DialTimeout("tcp", smtpAddr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return s
}

// mailpitMessage is what mailpit's API tells of one message.
type mailpitMessage struct {
	ID, MessageID, Subject, Text, HTML, Username string
	From                                         mail.Address
	To                                           []mail.Address
}

func (s *mailpitServer) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(s.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// messages returns every message mailpit holds, each read whole.
func (s *mailpitServer) messages(t *testing.T) []mailpitMessage {
	t.Helper()
	var list struct{ Messages []struct{ ID string } }
	s.getJSON(t, "/messages", &list)
	var out []mailpitMessage
	for _, m := range list.Messages {
		var full mailpitMessage
		s.getJSON(t, "/message/"+m.ID, &full)
		out = append(out, full)
	}
	return out
}

func (s *mailpitServer) headers(t *testing.T, id string) map[string][]string {
	t.Helper()
	h := map[string][]string{}
	s.getJSON(t, "/message/"+id+"/headers", &h)
	return h
}

func (s *mailpitServer) chaos(t *testing.T, recipientCode, probability int) {
	t.Helper()
	body := fmt.Sprintf(`{"Recipient":{"ErrorCode":%d,"Probability":%d}}`, recipientCode, probability)
	req, _ := http.NewRequest(http.MethodPut, s.API+"/chaos", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("PUT /chaos: %s", resp.Status)
	}
}

// authFile writes an htpasswd file mailpit reads: user with a {SHA}
// password.
func authFile(t *testing.T, user, password string) string {
	t.Helper()
	sum := sha1.Sum([]byte(password))
	path := filepath.Join(t.TempDir(), "smtp-auth")
	if err := os.WriteFile(path, []byte(user+":{SHA}"+base64.StdEncoding.EncodeToString(sum[:])+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func emailNotifier(addr, mode string) probe.Notifier {
	return probe.Notifier{Name: "mail", Type: probe.NotifierEmail, SMTP: addr, TLS: mode, SendResolved: true,
		From: "storeprobe <alerts@probe.example>", To: []string{"Ops <ops@shop.example>", "oncall@shop.example"}}
}

func TestEmailDeliveredToMailpit(t *testing.T) {
	ca := newTestCA(t)
	const user, password = "probe", "smtp-pa55word"
	tests := []struct {
		name     string
		flags    []string
		notifier func(addr string) probe.Notifier
		username string // what mailpit saw authenticate
	}{
		{
			name: "STARTTLS and AUTH PLAIN",
			flags: []string{"--smtp-tls-cert", ca.CertFile, "--smtp-tls-key", ca.KeyFile, "--smtp-require-starttls",
				"--smtp-auth-file", authFile(t, user, password)},
			notifier: func(addr string) probe.Notifier {
				n := emailNotifier(addr, "")
				n.CAFile, n.Username, n.Secret = ca.CAFile, user, password
				return n
			},
			username: user,
		},
		{
			name:  "implicit TLS",
			flags: []string{"--smtp-tls-cert", ca.CertFile, "--smtp-tls-key", ca.KeyFile, "--smtp-require-tls", "--smtp-auth-accept-any"},
			notifier: func(addr string) probe.Notifier {
				n := emailNotifier(addr, TLSImplicit)
				n.CAFile, n.Username, n.Secret = ca.CAFile, user, password
				return n
			},
			username: user,
		},
		{
			name:     "plain text relay without credentials",
			notifier: func(addr string) probe.Notifier { return emailNotifier(addr, TLSNone) },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mp := startMailpit(t, tc.flags...)
			nt := mustNew(t, tc.notifier(mp.SMTP), WithHELO("probe.example"))
			n := firing()
			n.Message = `<script>alert("x")</script> & "quotes"`
			if err := nt.Notify(context.Background(), n); err != nil {
				t.Fatal(err)
			}
			msgs := mp.messages(t)
			if len(msgs) != 1 {
				t.Fatalf("mailpit holds %d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Subject != "[FIRING] checkout down (eu-west)" {
				t.Errorf("subject %q", m.Subject)
			}
			if m.From.Address != "alerts@probe.example" || m.From.Name != "storeprobe" {
				t.Errorf("from %+v", m.From)
			}
			var to []string
			for _, a := range m.To {
				to = append(to, a.Address)
			}
			if !slices.Equal(to, []string{"ops@shop.example", "oncall@shop.example"}) {
				t.Errorf("to %v", to)
			}
			if m.Username != tc.username {
				t.Errorf("authenticated as %q, want %q", m.Username, tc.username)
			}
			for _, want := range []string{
				"[FIRING] checkout down (eu-west)",
				`timeout: <script>alert("x")</script> & "quotes"`,
				"Runbook:    https://wiki.example/runbooks/checkout",
				"Screenshot: artifacts/2026/03/01/checkout-1.png",
				"Location:   eu-west",
			} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("text part lacks %q:\n%s", want, m.Text)
				}
			}
			for _, want := range []string{
				"<h2", "[FIRING] checkout down (eu-west)</h2>",
				"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;",
				`<a href="https://wiki.example/runbooks/checkout">`,
				"artifacts/2026/03/01/checkout-1.png",
			} {
				if !strings.Contains(m.HTML, want) {
					t.Errorf("HTML part lacks %q:\n%s", want, m.HTML)
				}
			}
			if strings.Contains(m.HTML, "<script>") {
				t.Errorf("HTML part carries the message unescaped:\n%s", m.HTML)
			}
			h := mp.headers(t, m.ID)
			for k, want := range map[string]string{"Auto-Submitted": "auto-generated", "Mime-Version": "1.0"} {
				if got := strings.Join(h[k], ","); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if ct := strings.Join(h["Content-Type"], ""); !strings.HasPrefix(ct, "multipart/alternative;") {
				t.Errorf("Content-Type %q", ct)
			}
			if d, err := mail.ParseDate(strings.Join(h["Date"], "")); err != nil || !d.Equal(testStart.Add(time.Minute)) {
				t.Errorf("Date %v (%v)", h["Date"], err)
			}
			if !strings.HasSuffix(m.MessageID, "@probe.example") {
				t.Errorf("Message-ID %q", m.MessageID)
			}
		})
	}
}

// The configuration asks for STARTTLS; a server that does not offer it
// gets nothing, credentials least of all, and the failure is permanent.
func TestEmailRefusesServerWithoutSTARTTLS(t *testing.T) {
	mp := startMailpit(t, "--smtp-auth-accept-any", "--smtp-auth-allow-insecure")
	n := emailNotifier(mp.SMTP, TLSStartTLS)
	n.Username, n.Secret = "probe", canary
	err := mustNew(t, n).Notify(context.Background(), firing())
	checkErr(t, err, true, true, ReasonTLS, 0)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error %q does not say why", err)
	}
	if msgs := mp.messages(t); len(msgs) != 0 {
		t.Errorf("mailpit received %d messages", len(msgs))
	}
}

func TestEmailFailuresClassified(t *testing.T) {
	ca := newTestCA(t)
	tlsFlags := []string{"--smtp-tls-cert", ca.CertFile, "--smtp-tls-key", ca.KeyFile}

	t.Run("wrong password is permanent", func(t *testing.T) {
		mp := startMailpit(t, append(tlsFlags, "--smtp-auth-file", authFile(t, "probe", "right"))...)
		n := emailNotifier(mp.SMTP, TLSStartTLS)
		n.CAFile, n.Username, n.Secret = ca.CAFile, "probe", "wrong-password"
		err := mustNew(t, n).Notify(context.Background(), firing())
		checkErr(t, err, true, true, ReasonRejected, 0)
		if strings.Contains(err.Error(), "wrong-password") {
			t.Errorf("error shows the password: %v", err)
		}
	})
	t.Run("untrusted certificate is a TLS error", func(t *testing.T) {
		mp := startMailpit(t, tlsFlags...)
		err := mustNew(t, emailNotifier(mp.SMTP, TLSStartTLS)).Notify(context.Background(), firing())
		checkErr(t, err, true, false, ReasonTLS, 0)
	})
	t.Run("server down is a network error", func(t *testing.T) {
		err := mustNew(t, emailNotifier(freeAddr(t), TLSNone)).Notify(context.Background(), firing())
		checkErr(t, err, true, false, ReasonNetwork, 0)
	})

	// Mailpit's chaos triggers make a real server answer RCPT TO with the
	// reply code we ask for.
	mp := startMailpit(t, append(tlsFlags, "--enable-chaos")...)
	n := emailNotifier(mp.SMTP, TLSStartTLS)
	n.CAFile = ca.CAFile
	nt := mustNew(t, n)
	for _, tc := range []struct {
		code      int
		permanent bool
		reason    Reason
	}{
		{451, false, ReasonServerError},
		{550, true, ReasonRejected},
	} {
		t.Run(fmt.Sprint("RCPT TO answered ", tc.code), func(t *testing.T) {
			mp.chaos(t, tc.code, 100)
			err := nt.Notify(context.Background(), firing())
			checkErr(t, err, true, tc.permanent, tc.reason, 0)
			if !strings.Contains(err.Error(), fmt.Sprint(tc.code)) {
				t.Errorf("error %q does not quote the reply", err)
			}
		})
	}
	mp.chaos(t, 451, 0)
	if err := nt.Notify(context.Background(), firing()); err != nil {
		t.Fatalf("after chaos: %v", err)
	}
	if msgs := mp.messages(t); len(msgs) != 1 {
		t.Errorf("mailpit holds %d messages, want 1", len(msgs))
	}
}

// Whatever a notification holds, the message stays well-formed: the
// headers are ours alone, the subject one line, the HTML free of markup
// from the notification.
func FuzzEmailMessage(f *testing.F) {
	f.Add("checkout down", "checkout", "eu-west", "timeout", "<b>x</b>", "https://wiki.example/r")
	f.Add("a\r\nBcc: victim@example.com", "c\nX: y", "é\x00", "", "\r\n.\r\n", "javascript:alert(1)")
	nt, err := New(emailNotifier("127.0.0.1:25", TLSNone))
	if err != nil {
		f.Fatal(err)
	}
	e := nt.(*email)
	f.Fuzz(func(t *testing.T, summary, check, location, kind, message, runbook string) {
		n := alert.Notification{Status: alert.Firing, Alert: "down", Check: check, Location: location,
			Severity: alert.Critical, Summary: summary, FailureKind: kind, Message: message, RunbookURL: runbook, Key: "k"}
		raw, err := e.message(n, testStart)
		if err != nil {
			t.Fatal(err)
		}
		m, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("unparseable: %v\n%s", err, raw)
		}
		var keys []string
		for k := range m.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"Auto-Submitted", "Content-Type", "Date", "From", "Message-Id", "Mime-Version", "Subject", "To"}; !slices.Equal(keys, want) {
			t.Fatalf("headers %v, want %v", keys, want)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
		if err != nil || strings.ContainsAny(subject, "\r\n") {
			t.Fatalf("subject %q (%v)", subject, err)
		}
		_, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
		if err != nil {
			t.Fatal(err)
		}
		mr := multipart.NewReader(m.Body, params["boundary"])
		var types []string
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			types = append(types, p.Header.Get("Content-Type"))
			// NextPart undoes the quoted-printable itself.
			body, err := io.ReadAll(p)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
				checkHTMLIsOurs(t, body)
			}
		}
		if !slices.Equal(types, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}) {
			t.Fatalf("parts %v", types)
		}
	})
}

// checkHTMLIsOurs fails unless every element and attribute in body is one
// the template writes, and no link is a javascript: one: nothing from the
// notification became markup.
func checkHTMLIsOurs(t *testing.T, body []byte) {
	t.Helper()
	elements := map[string]bool{"html": true, "body": true, "h2": true, "p": true, "strong": true,
		"table": true, "tr": true, "th": true, "td": true, "a": true}
	attrs := map[string]bool{"style": true, "align": true, "cellpadding": true, "href": true}
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatal(z.Err())
			}
			return
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			if !elements[tok.Data] {
				t.Fatalf("HTML part has a <%s> element:\n%s", tok.Data, body)
			}
			for _, a := range tok.Attr {
				if !attrs[a.Key] || a.Key == "href" && !strings.HasPrefix(a.Val, "http://") && !strings.HasPrefix(a.Val, "https://") {
					t.Fatalf("HTML part has %s=%q:\n%s", a.Key, a.Val, body)
				}
			}
		}
	}
}
