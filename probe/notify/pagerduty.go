package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// DefaultPagerDutyURL is the Events API v2 endpoint used when url is unset.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

// pagerDuty sends alert events to the PagerDuty Events API v2 (PagerDuty
// developer docs, Events API v2, "Send an Alert Event"): trigger while
// firing, resolve when resolved, both with the alert's stable dedup_key so
// PagerDuty keeps one alert per storeprobe alert. The routing key is the
// notifier's secret; it travels in the body because the API wants it there.
type pagerDuty struct {
	base
	p          *poster
	routingKey string
}

func newPagerDuty(b base, n probe.Notifier, v *validator) Notifier {
	pd := &pagerDuty{base: b, routingKey: n.Secret}
	v.noHeaders(n)
	v.secret(n, "PagerDuty routing (integration) key")
	raw := n.URL
	if raw == "" {
		raw = DefaultPagerDutyURL
	}
	if u := v.httpURL("url", raw); u != nil {
		pd.p = newPoster(&pd.base, u, nil)
	}
	return pd
}

// Field limits ("Send an Alert Event", Parameters): dedup_key at most 255
// characters, payload.summary at most 1024.
const (
	pdDedupMax   = 255
	pdSummaryMax = 1024
)

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"` // trigger | resolve
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"` // trigger only
	Client      string     `json:"client,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

type pdPayload struct {
	Summary       string         `json:"summary"`
	Source        string         `json:"source"`
	Severity      string         `json:"severity"` // critical | error | warning | info
	Timestamp     string         `json:"timestamp,omitempty"`
	Component     string         `json:"component,omitempty"`
	Group         string         `json:"group,omitempty"`
	Class         string         `json:"class,omitempty"`
	CustomDetails map[string]any `json:"custom_details,omitempty"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text,omitempty"`
}

func (pd *pagerDuty) Notify(ctx context.Context, n alert.Notification) error {
	if pd.skips(n) {
		return nil
	}
	body, err := json.Marshal(pagerDutyEvent(pd.routingKey, pd.scrub(n)))
	if err != nil {
		return permanent(ReasonOther, "encode pagerduty event: %v", err)
	}
	return pd.p.post(ctx, "application/json", body, nil)
}

// pagerDutyEvent maps n onto an Events API v2 alert event. A resolve
// carries only the routing key, action and dedup_key, as in the docs'
// resolve example; a trigger carries the PD-CEF payload: the check as
// component, the location as group, the rule as class, and the rest in
// custom_details. The screenshot is a path on the probe, so it is a detail,
// not one of `images` (which must be HTTPS URLs).
func pagerDutyEvent(routingKey string, n alert.Notification) pdEvent {
	ev := pdEvent{RoutingKey: routingKey, EventAction: "trigger", DedupKey: dedupKey(n)}
	if n.Status == alert.Resolved {
		ev.EventAction = "resolve"
		return ev
	}
	p := &pdPayload{
		Summary:   clip(title(n), pdSummaryMax),
		Source:    pdSource(n),
		Severity:  pdSeverity(n.Severity),
		Component: n.Check,
		Group:     n.Location,
		Class:     n.Alert,
	}
	if !n.StartedAt.IsZero() {
		p.Timestamp = n.StartedAt.UTC().Format(time.RFC3339)
	}
	details := map[string]any{"check": n.Check, "alert": n.Alert, "location": n.Location, "status": string(n.Status)}
	for k, v := range map[string]string{"probe": n.Probe, "failure_kind": n.FailureKind, "message": n.Message,
		"url": n.URL, "runbook_url": n.RunbookURL, "screenshot": n.Screenshot} {
		if v != "" {
			details[k] = v
		}
	}
	if !n.StartedAt.IsZero() {
		details["started_at"] = n.StartedAt.UTC().Format(time.RFC3339)
	}
	if n.Repeat {
		details["repeat"] = true
	}
	p.CustomDetails = details
	ev.Payload, ev.Client = p, "storeprobe"
	if linkable(n.RunbookURL) {
		ev.Links = append(ev.Links, pdLink{Href: n.RunbookURL, Text: "Runbook"})
	}
	if linkable(n.URL) {
		ev.Links = append(ev.Links, pdLink{Href: n.URL, Text: "Checked URL"})
	}
	return ev
}

// dedupKey is the alert's Key, the same for its trigger and its resolve.
// A key over PagerDuty's limit is replaced by its hash (still stable); an
// empty one (never sent by the engine) by one made of the rule and check.
func dedupKey(n alert.Notification) string {
	k := n.Key
	if k == "" {
		k = "storeprobe/" + n.Alert + "/" + n.Check
	}
	if len(k) > pdDedupMax {
		sum := sha256.Sum256([]byte(k))
		k = "storeprobe-sha256-" + hex.EncodeToString(sum[:])
	}
	return k
}

// pdSource is "the unique location of the affected system, preferably a
// hostname": the checked URL's host, else the check's name.
func pdSource(n alert.Notification) string {
	if u, err := url.Parse(n.URL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	if n.Check != "" {
		return n.Check
	}
	return "storeprobe"
}

// pdSeverity maps our severities onto PagerDuty's four; anything unknown
// is "error", PagerDuty's middle ground.
func pdSeverity(s alert.Severity) string {
	switch s {
	case alert.Critical, alert.Warning, alert.Info:
		return string(s)
	}
	return "error"
}
