package notify

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

// New reports every problem of a notifier, each as a *probe.FieldError
// naming the config key, and quotes no secret or URL while doing so.
func TestNewValidates(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	const secretURL = "https://hooks.slack.example/services/T0/B0/" + canary
	tests := []struct {
		name   string
		n      probe.Notifier
		fields []string // sorted; none: valid
	}{
		{"nothing", probe.Notifier{}, []string{"name", "type"}},
		{"unknown type", probe.Notifier{Name: "x", Type: "pigeon"}, []string{"type"}},
		{"negative timeout", probe.Notifier{Name: "x", Type: "webhook", URL: "https://h.example/", Timeout: -time.Second}, []string{"timeout"}},

		{"webhook", probe.Notifier{Name: "x", Type: "webhook", URL: "https://h.example/hook"}, nil},
		{"webhook signed", probe.Notifier{Name: "x", Type: "webhook", URL: "https://h.example/hook", Secret: "k", SecretEnv: "K"}, nil},
		{"webhook without url", probe.Notifier{Name: "x", Type: "webhook"}, []string{"url"}},
		{"webhook ftp url", probe.Notifier{Name: "x", Type: "webhook", URL: "ftp://h.example/" + canary}, []string{"url"}},
		{"webhook relative url", probe.Notifier{Name: "x", Type: "webhook", URL: "/hook"}, []string{"url"}},
		{"webhook secret env empty", probe.Notifier{Name: "x", Type: "webhook", URL: "https://h.example/", SecretEnv: "HOOK_KEY"}, []string{"secret_env"}},
		{"webhook bad headers", probe.Notifier{Name: "x", Type: "webhook", URL: "https://h.example/", Headers: []probe.Header{
			{Name: "Content-Type", Value: "text/plain"}, {Name: "Bad Name", Value: "v"}, {Name: "X-Key", Value: canary + "\n"},
			{Name: "X-Storeprobe-Signature", Value: "forged"}}}, []string{"headers", "headers", "headers", "headers"}},

		{"slack", probe.Notifier{Name: "x", Type: "slack", URL: secretURL}, nil},
		{"slack with headers", probe.Notifier{Name: "x", Type: "slack", URL: secretURL, Headers: []probe.Header{{Name: "X-A", Value: "b"}}}, []string{"headers"}},
		{"slack bad url", probe.Notifier{Name: "x", Type: "slack", URL: "hooks.slack.example/services/" + canary}, []string{"url"}},

		{"pagerduty", probe.Notifier{Name: "x", Type: "pagerduty", Secret: "rk"}, nil},
		{"pagerduty without key", probe.Notifier{Name: "x", Type: "pagerduty"}, []string{"secret_env"}},

		{"email", probe.Notifier{Name: "x", Type: "email", SMTP: "smtp.example:587", From: "a@b.example", To: []string{"c@d.example"},
			Username: "u", Secret: "p"}, nil},
		{"email empty", probe.Notifier{Name: "x", Type: "email"}, []string{"from", "smtp", "to"}},
		{"email bad addresses", probe.Notifier{Name: "x", Type: "email", SMTP: "smtp.example", From: "nobody", To: []string{"c@d.example", "not an address"}},
			[]string{"from", "smtp", "to"}},
		{"email credentials in plain text", probe.Notifier{Name: "x", Type: "email", SMTP: "smtp.example:25", TLS: "none",
			From: "a@b.example", To: []string{"c@d.example"}, Username: "u", Secret: canary}, []string{"tls"}},
		{"email unknown tls", probe.Notifier{Name: "x", Type: "email", SMTP: "smtp.example:25", TLS: "ssl", From: "a@b.example", To: []string{"c@d.example"}}, []string{"tls"}},
		{"email user without password", probe.Notifier{Name: "x", Type: "email", SMTP: "s.example:587", From: "a@b.example", To: []string{"c@d.example"},
			Username: "u", SecretEnv: "SMTP_PASSWORD"}, []string{"secret_env"}},
		{"email password without user", probe.Notifier{Name: "x", Type: "email", SMTP: "s.example:587", From: "a@b.example", To: []string{"c@d.example"},
			Secret: canary}, []string{"username"}},
		{"email ca_file", probe.Notifier{Name: "x", Type: "email", SMTP: "s.example:587", From: "a@b.example", To: []string{"c@d.example"},
			CAFile: notPEM}, []string{"ca_file"}},
		{"email ca_file unused", probe.Notifier{Name: "x", Type: "email", SMTP: "s.example:25", TLS: "none", From: "a@b.example", To: []string{"c@d.example"},
			CAFile: notPEM}, []string{"ca_file"}},

		{"sms", probe.Notifier{Name: "x", Type: "sms", AccountSID: "AC1", Secret: "t", From: "+1", To: []string{"+2"}}, nil},
		{"sms empty", probe.Notifier{Name: "x", Type: "sms"}, []string{"account_sid", "from", "secret_env", "to"}},
		{"sms sid with a slash", probe.Notifier{Name: "x", Type: "sms", AccountSID: "../AC1", Secret: "t", From: "+1", To: []string{"+2", " "}},
			[]string{"account_sid", "to"}},

		{"alertmanager", probe.Notifier{Name: "x", Type: "alertmanager", URL: "http://am.example:9093",
			Headers: []probe.Header{{Name: "Authorization", Value: "Bearer t"}}}, nil},
		{"alertmanager without url", probe.Notifier{Name: "x", Type: "alertmanager"}, []string{"url"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nt, err := New(tc.n)
			var fields []string
			for _, e := range probe.LeafErrors(err) {
				var fe *probe.FieldError
				if !errors.As(e, &fe) {
					t.Errorf("%v is not a *probe.FieldError", e)
					continue
				}
				fields = append(fields, fe.Field)
				if strings.Contains(fe.Error(), canary) {
					t.Errorf("message quotes a secret: %v", fe)
				}
			}
			slices.Sort(fields)
			if !slices.Equal(fields, tc.fields) {
				t.Errorf("fields %v, want %v (err: %v)", fields, tc.fields, err)
			}
			if err == nil && (nt.Name() != tc.n.Name || nt.Type() != tc.n.Type) {
				t.Errorf("notifier %s/%s", nt.Name(), nt.Type())
			}
		})
	}
}

func TestEndpoints(t *testing.T) {
	for _, tc := range []struct {
		n    probe.Notifier
		want string
	}{
		{probe.Notifier{Type: "pagerduty", Secret: "k"}, "https://events.pagerduty.com/v2/enqueue"},
		{probe.Notifier{Type: "sms", AccountSID: "AC9", Secret: "t", From: "+1", To: []string{"+2"}},
			"https://api.twilio.com/2010-04-01/Accounts/AC9/Messages.json"},
		{probe.Notifier{Type: "sms", URL: "https://sms.example/base/", AccountSID: "AC9", Secret: "t", From: "+1", To: []string{"+2"}},
			"https://sms.example/base/2010-04-01/Accounts/AC9/Messages.json"},
		{probe.Notifier{Type: "alertmanager", URL: "http://am.example:9093"}, "http://am.example:9093/api/v2/alerts"},
		{probe.Notifier{Type: "alertmanager", URL: "http://am.example/prefix/"}, "http://am.example/prefix/api/v2/alerts"},
		{probe.Notifier{Type: "alertmanager", URL: "http://am.example/api/v2/alerts"}, "http://am.example/api/v2/alerts"},
	} {
		tc.n.Name = "x"
		nt, err := New(tc.n)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		switch v := nt.(type) {
		case *pagerDuty:
			got = v.p.endpoint
		case *sms:
			got = v.p.endpoint
		case *alertmanager:
			got = v.p.endpoint
		}
		if got != tc.want {
			t.Errorf("%s %s: endpoint %s, want %s", tc.n.Type, tc.n.URL, got, tc.want)
		}
	}
}
