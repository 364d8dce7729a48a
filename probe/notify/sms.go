package notify

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// DefaultTwilioURL is the API base used when an sms notifier's url is
// unset.
const DefaultTwilioURL = "https://api.twilio.com"

// SMSMax bounds an SMS body: two GSM-7 segments. The Messages API takes up
// to 1,600 characters, but each 160 is charged and a pager-length text is
// what a phone shows at a glance.
const SMSMax = 320

// sms sends text messages in the shape of Twilio's Messages API (Twilio
// docs, Messages resource, "Create a Message resource"): a form POST of To,
// From and Body to {url}/2010-04-01/Accounts/{AccountSid}/Messages.json with
// HTTP basic auth of the account SID and the auth token (the secret), one
// request per recipient.
type sms struct {
	base
	p     *poster
	sid   string
	token string
	from  string
	to    []string
}

func newSMS(b base, n probe.Notifier, v *validator) Notifier {
	s := &sms{base: b, sid: n.AccountSID, token: n.Secret, from: n.From, to: n.To}
	v.noHeaders(n)
	switch {
	case n.AccountSID == "":
		v.bad("account_sid", "missing")
	case strings.Trim(n.AccountSID, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "":
		// It becomes a path segment of the API URL.
		v.bad("account_sid", "want letters and digits only")
	}
	v.secret(n, "auth token")
	if n.From == "" {
		v.bad("from", "missing: the sending phone number or sender ID")
	}
	if len(n.To) == 0 {
		v.bad("to", "missing: at least one phone number")
	}
	for _, to := range n.To {
		if strings.TrimSpace(to) == "" {
			v.bad("to", "an empty phone number")
		}
	}
	raw := n.URL
	if raw == "" {
		raw = DefaultTwilioURL
	}
	if u := v.httpURL("url", raw); u != nil {
		u = u.JoinPath("2010-04-01", "Accounts", n.AccountSID, "Messages.json")
		s.p = newPoster(&s.base, u, nil)
	}
	return s
}

// Notify sends the message to every recipient and returns their errors
// joined. The Dispatcher does not use it: it delivers (and retries) each
// recipient on its own through notifyOne, so a retry never texts someone
// twice.
func (s *sms) Notify(ctx context.Context, n alert.Notification) error {
	var errs []error
	for _, to := range s.to {
		errs = append(errs, s.notifyOne(ctx, n, to))
	}
	return errors.Join(errs...)
}

func (s *sms) recipients() []string { return s.to }

func (s *sms) notifyOne(ctx context.Context, n alert.Notification, to string) error {
	if s.skips(n) {
		return nil
	}
	form := url.Values{"To": {to}, "From": {s.from}, "Body": {smsBody(s.scrub(n))}}
	return s.p.post(ctx, "application/x-www-form-urlencoded", []byte(form.Encode()), func(r *http.Request) {
		r.SetBasicAuth(s.sid, s.token)
	})
}

// smsBody is the title and the failure, cut so that the runbook link
// after them (when set) arrives whole, all within SMSMax.
func smsBody(n alert.Notification) string {
	var tail string
	if n.RunbookURL != "" {
		tail = " Runbook: " + oneLine(n.RunbookURL)
		if utf8.RuneCountInString(tail) > SMSMax/2 {
			tail = ""
		}
	}
	b := title(n)
	if f := failure(n); f != "" {
		b += ": " + oneLine(f)
	}
	return clip(b, SMSMax-utf8.RuneCountInString(tail)) + tail
}
