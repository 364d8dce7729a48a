package alert

import "time"

// Rule names: the `alert` of a notification and Alertmanager's alertname.
// Users route and silence on them, so they are never renamed.
const (
	RuleDown           = "down"
	RuleBurnRateFast   = "burn_rate_fast"
	RuleBurnRateSlow   = "burn_rate_slow"
	RuleCertExpiry     = "cert_expiry"
	RuleLoadTime       = "load_time"
	RuleCWVGood        = "cwv_good"
	RuleProbeUnhealthy = "probe_unhealthy"
	RuleProbeSilent    = "probe_silent"
	RuleFlapping       = "flapping"
)

// Status of an alert in a notification.
type Status string

// Statuses.
const (
	Firing   Status = "firing"
	Resolved Status = "resolved"
)

// Severity says how urgent an alert is; receivers route on it.
type Severity string

// Severities, from most urgent.
const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Notification is one message about one alert to one or more notifiers. Its
// JSON form is the webhook body, a public contract: keys are added, never
// renamed.
type Notification struct {
	Status   Status   `json:"status"`
	Alert    string   `json:"alert"` // the rule
	Check    string   `json:"check"`
	Location string   `json:"location"` // where it was seen; "eu,us" when several locations agree
	Probe    string   `json:"probe,omitempty"`
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"` // one line for a human
	// StartedAt is when the alert's condition began (the first failed run
	// of a down alert); EndedAt when it ended, for resolved ones.
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// The failure of the run that fired (or last confirmed) the alert.
	FailureKind string `json:"failure_kind,omitempty"`
	Message     string `json:"message,omitempty"`
	URL         string `json:"url,omitempty"` // the check's URL, redacted
	RunbookURL  string `json:"runbook_url,omitempty"`
	// Screenshot is the path of the failure's screenshot when one was
	// kept, relative to the store's artifact directory.
	Screenshot string `json:"screenshot,omitempty"`
	// Key identifies the alert across its notifications (firing, repeats,
	// resolved): PagerDuty's dedup_key, the receiver's de-duplication key.
	Key string `json:"key"`
	// Repeat marks a renotification of an alert already sent as firing.
	Repeat bool `json:"repeat,omitempty"`
}

// Event is a notification as it was handed to its notifiers: the alert
// history a report lists.
type Event struct {
	At        time.Time
	Receivers []string
	Notification
}
