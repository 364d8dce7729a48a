package probe

import (
	"fmt"
	"time"
)

// Alerting is how checks are watched and who is told: the config's
// `alerting:` section, with every default applied. A check's own Watch
// fields refine it.
type Alerting struct {
	// Notify names the notifiers that receive every check's alerts; a
	// check's own Notify replaces the list.
	Notify []string
	// DownAfter consecutive failed runs fire `down`; UpAfter passing runs
	// resolve it (default 2 each).
	DownAfter, UpAfter int
	// Renotify repeats a firing alert's notification this often (default
	// 4h); 0 never repeats.
	Renotify time.Duration
	// CertWarningDays fires `cert_expiry` when the certificate of an HTTPS
	// check has fewer days left (default 14).
	CertWarningDays int
	BurnRate        BurnRatePolicy
	Breach          BreachPolicy
	Flapping        FlappingPolicy
	// Quorum is how many locations must agree before the fleet evaluator
	// declares a check down (default 1; a lone probe is one location).
	Quorum int
	// SilentAfter raises `probe_silent` for a location or probe that wrote
	// no result for this long (the fleet evaluator's dead man's switch;
	// default 10m).
	SilentAfter time.Duration
	Maintenance []Maintenance
}

// BurnRatePolicy bounds the multi-window burn-rate alerts on the uptime
// target. The windows and factors are the SRE workbook's: fast 14.4× over
// 1h and 5m, slow 6× over 6h and 30m.
type BurnRatePolicy struct {
	// MinRuns is the fewest eligible runs the long window needs before it
	// is judged (default 20).
	MinRuns int
	// MinFailures is the fewest failed runs in the long window that can
	// fire (default 3): at one run a minute, a single failure is a 16×
	// burn of a 99.9 % target over an hour, and must not page.
	MinFailures int
}

// BreachPolicy judges the load_time and cwv_good targets over a rolling
// window: a breach for the whole window is sustained, not a blip.
type BreachPolicy struct {
	Window     time.Duration // default 1h
	MinSamples int           // default 10
}

// FlappingPolicy detects a check whose down alert keeps firing and
// resolving: Changes state changes within Window (defaults 4 and 1h).
type FlappingPolicy struct {
	Changes int
	Window  time.Duration
}

// Maintenance is a window during which runs are stored but judged by
// nothing: no budget, no alert. One-off (Start, End) or recurring (Schedule,
// a cron spec, lasting Duration), in Location. With neither Checks nor Tags
// it covers every check.
type Maintenance struct {
	Name       string
	Start, End time.Time // one-off
	Schedule   string    // recurring: cron spec of each start
	Duration   time.Duration
	Location   *time.Location
	Checks     []string          // by name
	Tags       map[string]string // every tag must match
}

// Notifier types.
const (
	NotifierWebhook      = "webhook"
	NotifierSlack        = "slack"
	NotifierPagerDuty    = "pagerduty"
	NotifierEmail        = "email"
	NotifierSMS          = "sms"
	NotifierAlertmanager = "alertmanager"
)

// NotifierTypes lists the notifier types in documentation order.
func NotifierTypes() []string {
	return []string{NotifierWebhook, NotifierSlack, NotifierPagerDuty, NotifierEmail, NotifierSMS, NotifierAlertmanager}
}

// Notifier is one receiver of alerts (the config's `notifiers:`). Secret
// fields hold values read from the environment at load time; they are never
// logged, printed or stored, and String leaves them out.
type Notifier struct {
	Name string
	Type string // one of the Notifier* constants
	// URL is the endpoint: the webhook, the Slack incoming webhook, the
	// PagerDuty Events API, the Twilio API base, the Alertmanager base.
	// A Slack webhook URL is itself a credential: it is shown as its host.
	URL     string
	Headers []Header // extra request headers (webhook); values are secret
	Timeout time.Duration
	// SendResolved sends `resolved` notifications (default true).
	SendResolved bool

	// Secret signs webhook bodies (X-Storeprobe-Signature, HMAC-SHA256);
	// the PagerDuty routing key; the SMTP password; the Twilio auth token.
	Secret    string
	SecretEnv string // where Secret came from, for messages

	// Email: the SMTP server host:port, STARTTLS unless TLS is "none"
	// ("tls": implicit TLS), and auth when Username is set.
	SMTP     string
	TLS      string // starttls (default) | tls | none
	CAFile   string // PEM CAs to trust for the SMTP server, else the system's
	Username string
	From     string
	To       []string // email addresses, or phone numbers for sms

	// SMS (Twilio Messages API shape): the account SID; Secret is the
	// auth token.
	AccountSID string
}

// String describes the notifier without its secrets.
func (n Notifier) String() string {
	s := fmt.Sprintf("%s notifier %q", n.Type, n.Name)
	if n.Secret != "" {
		s += " (secret from $" + n.SecretEnv + ")"
	}
	return s
}

// GoString keeps %#v from printing secrets.
func (n Notifier) GoString() string { return n.String() }
