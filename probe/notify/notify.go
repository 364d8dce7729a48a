package notify

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// Notifier delivers notifications to one receiver. Notify makes one attempt
// (an SMS notifier: one per recipient) bounded by the notifier's timeout and
// ctx, and returns an *Error on failure; retrying is the Dispatcher's job.
// Implementations are safe for concurrent use.
type Notifier interface {
	Name() string // the config's name, e.g. "ops"
	Type() string // one of the probe.Notifier* constants
	Notify(ctx context.Context, n alert.Notification) error
}

// DefaultTimeout bounds one delivery attempt when the notifier sets none.
const DefaultTimeout = 10 * time.Second

// DefaultAlertmanagerHold is how long Alertmanager keeps a firing alert that
// is not sent again (its endsAt): past the engine's default renotify
// interval of 4h with room to spare, so a firing alert does not resolve in
// Alertmanager between two sends.
const DefaultAlertmanagerHold = 24 * time.Hour

// Option configures New.
type Option func(*options)

type options struct {
	version string
	now     func() time.Time
	hold    time.Duration
	helo    string
}

// WithVersion sets the storeprobe version sent in User-Agent
// ("storeprobe/VERSION").
func WithVersion(v string) Option { return func(o *options) { o.version = v } }

// WithClock sets the wall clock (email Date, Alertmanager endsAt).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithAlertmanagerHold sets how far in the future a firing alert's endsAt
// is (default DefaultAlertmanagerHold). Keep it above the renotify interval:
// Alertmanager resolves an alert whose endsAt passed without a new send.
func WithAlertmanagerHold(d time.Duration) Option { return func(o *options) { o.hold = d } }

// WithHELO sets the name the email notifier greets SMTP servers with
// (default: the host name).
func WithHELO(name string) Option { return func(o *options) { o.helo = name } }

// New validates n and returns the notifier of its type. Every problem is
// returned (joined), each a *probe.FieldError naming the config key (url,
// to, secret_env ...); messages never contain a secret.
func New(n probe.Notifier, opts ...Option) (Notifier, error) {
	o := options{now: time.Now, hold: DefaultAlertmanagerHold}
	for _, opt := range opts {
		opt(&o)
	}
	if o.hold <= 0 {
		o.hold = DefaultAlertmanagerHold
	}
	if o.helo == "" {
		o.helo, _ = os.Hostname()
		o.helo = cmp.Or(o.helo, "localhost")
	}
	v := &validator{}
	if n.Name == "" {
		v.bad("name", "missing")
	}
	if n.Timeout < 0 {
		v.bad("timeout", "must not be negative")
	}
	b := base{name: n.Name, typ: n.Type, sendResolved: n.SendResolved,
		timeout: cmp.Or(n.Timeout, DefaultTimeout), red: redactor(n), opts: o}
	var nt Notifier
	switch n.Type {
	case probe.NotifierWebhook:
		nt = newWebhook(b, n, v)
	case probe.NotifierSlack:
		nt = newSlack(b, n, v)
	case probe.NotifierPagerDuty:
		nt = newPagerDuty(b, n, v)
	case probe.NotifierEmail:
		nt = newEmail(b, n, v)
	case probe.NotifierSMS:
		nt = newSMS(b, n, v)
	case probe.NotifierAlertmanager:
		nt = newAlertmanager(b, n, v)
	case "":
		v.bad("type", "missing")
	default:
		v.bad("type", "unknown type %q: want one of %v", n.Type, probe.NotifierTypes())
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return nt, nil
}

// base is what every notifier has.
type base struct {
	name, typ    string
	sendResolved bool
	timeout      time.Duration
	red          *probe.Redactor // the notifier's own secrets
	opts         options
}

func (b *base) Name() string { return b.name }
func (b *base) Type() string { return b.typ }

// skips reports whether n is not for this notifier: a resolved
// notification when send_resolved is off.
func (b *base) skips(n alert.Notification) bool {
	return n.Status == alert.Resolved && !b.sendResolved
}

// scrub returns n with the notifier's own secrets (its secret, header values,
// URL credentials) replaced in every text, should a check's message ever
// quote one. The check's own secrets are the engine's to redact.
func (b *base) scrub(n alert.Notification) alert.Notification {
	r := b.red.String
	n.Alert, n.Check, n.Location, n.Probe = r(n.Alert), r(n.Check), r(n.Location), r(n.Probe)
	n.Summary, n.FailureKind, n.Message = r(n.Summary), r(n.FailureKind), r(n.Message)
	n.URL, n.RunbookURL, n.Screenshot, n.Key = r(n.URL), r(n.RunbookURL), r(n.Screenshot), r(n.Key)
	return n
}

// redactor knows every secret of n: its secret, every header value (all
// are secret: they are how receivers authenticate us), the URL's userinfo
// and token parameters, and for Slack the URL's path, which holds the
// credential.
func redactor(n probe.Notifier) *probe.Redactor {
	r := probe.NewRedactor()
	r.AddValue(n.Secret)
	for _, h := range n.Headers {
		r.AddValue(h.Value)
		// "Bearer TOKEN": the token may show without its scheme.
		if _, cred, ok := strings.Cut(h.Value, " "); ok {
			r.AddValue(cred)
		}
	}
	r.LearnURL(n.URL)
	if u, err := url.Parse(n.URL); err == nil && n.Type == probe.NotifierSlack {
		// The last segment is the webhook's token.
		r.AddValue(u.EscapedPath())
		r.AddValue(u.Path)
		r.AddValue(path.Base(u.Path))
	}
	return r
}

// validator collects the problems of one notifier.
type validator struct{ errs []error }

func (v *validator) bad(field, format string, args ...any) {
	v.errs = append(v.errs, &probe.FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}

func (v *validator) err() error { return errors.Join(v.errs...) }

// httpURL checks that raw (the value of key field) is an absolute http or
// https URL, quoting no part of it: a Slack or webhook URL is a credential.
func (v *validator) httpURL(field, raw string) *url.URL {
	if raw == "" {
		v.bad(field, "missing")
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		v.bad(field, "not a valid URL")
		return nil
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		v.bad(field, "want an absolute http:// or https:// URL")
		return nil
	}
	return u
}

// secret checks that the secret the notifier needs was read.
func (v *validator) secret(n probe.Notifier, what string) {
	switch {
	case n.Secret != "":
	case n.SecretEnv != "":
		v.bad("secret_env", "$%s is empty or unset; it must hold the %s", n.SecretEnv, what)
	default:
		v.bad("secret_env", "missing: name the environment variable holding the %s", what)
	}
}

// origin is scheme://host of u: how messages and logs name a receiver.
// Paths, queries and userinfo can be credentials (a Slack webhook's path
// is), so they are never shown.
func origin(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
