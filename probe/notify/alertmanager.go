package notify

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// alertmanager posts alerts to a Prometheus Alertmanager's API v2
// (Alertmanager docs, "Clients": POST /api/v2/alerts, a JSON array of
// {labels, annotations, startsAt, endsAt, generatorURL}). Routing,
// grouping, inhibition and silences then happen in Alertmanager, on the
// labels alertname, check, location, severity (and probe).
type alertmanager struct {
	base
	p *poster
}

func newAlertmanager(b base, n probe.Notifier, v *validator) Notifier {
	am := &alertmanager{base: b}
	u := v.httpURL("url", n.URL)
	h := v.headers(n.Headers)
	if u != nil {
		if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/api/v2/alerts") {
			u = u.JoinPath("api", "v2", "alerts")
		}
		am.p = newPoster(&am.base, u, h)
	}
	return am
}

type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     *time.Time        `json:"startsAt,omitempty"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func (am *alertmanager) Notify(ctx context.Context, n alert.Notification) error {
	if am.skips(n) {
		return nil
	}
	body, err := json.Marshal([]amAlert{alertmanagerAlert(am.scrub(n), am.opts.now(), am.opts.hold)})
	if err != nil {
		return permanent(ReasonOther, "encode alertmanager alert: %v", err)
	}
	return am.p.post(ctx, "application/json", body, nil)
}

// alertmanagerAlert maps n onto one postable alert. The labels identify the
// alert to Alertmanager, so they are the same in every notification of one
// alert; the rest goes in annotations. Alertmanager expects clients to
// re-send firing alerts and resolves one whose endsAt has passed ("Clients":
// endsAt, when unset, is a timeout after the last receipt), so a firing
// alert carries endsAt = now + hold and a resolved one its end time.
func alertmanagerAlert(n alert.Notification, now time.Time, hold time.Duration) amAlert {
	a := amAlert{Labels: map[string]string{}, Annotations: map[string]string{}}
	for k, v := range map[string]string{
		"alertname": n.Alert, "check": n.Check, "location": n.Location,
		"severity": string(n.Severity), "probe": n.Probe,
	} {
		// An empty label is the same as none to Alertmanager.
		if v != "" {
			a.Labels[k] = v
		}
	}
	for k, v := range map[string]string{
		"summary": oneLine(summary(n)), "description": failure(n),
		"runbook_url": n.RunbookURL, "screenshot": n.Screenshot,
	} {
		if v != "" {
			a.Annotations[k] = v
		}
	}
	if !n.StartedAt.IsZero() {
		s := n.StartedAt.UTC()
		a.StartsAt = &s
	}
	if n.Status == alert.Resolved {
		a.EndsAt = now.UTC()
		if n.EndedAt != nil && !n.EndedAt.IsZero() {
			a.EndsAt = n.EndedAt.UTC()
		}
	} else {
		a.EndsAt = now.Add(hold).UTC()
	}
	// Alertmanager refuses an alert that ends before it starts.
	if a.StartsAt != nil && a.EndsAt.Before(*a.StartsAt) {
		a.EndsAt = *a.StartsAt
	}
	if u, err := url.Parse(n.URL); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		a.GeneratorURL = n.URL
	}
	return a
}
