package sqlite

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// TestAlertStatesAndEvents: the engine's states come back exactly as the
// last save left them, and the history keeps every notification field, by
// window and check.
func TestAlertStatesAndEvents(t *testing.T) {
	ctx := context.Background()
	s, _ := openTemp(t)
	full := alert.State{Key: "down:checkout", Rule: alert.RuleDown, Check: "checkout", Location: "eu,us", Probe: "eu-1",
		Severity: alert.Critical, Active: true, Since: t0, Until: t0.Add(time.Hour), Notified: alert.Firing,
		NotifiedAt: t0.Add(time.Minute), Summary: "checkout is down", FailureKind: "status", Message: "status 503",
		Screenshot: "checkout/1/screenshot.png"}
	if zero := zeroFields(full); len(zero) > 0 {
		t.Fatalf("the state fixture leaves %s zero", strings.Join(zero, ", "))
	}
	other := alert.State{Key: "cert_expiry:home", Rule: alert.RuleCertExpiry, Check: "home", Severity: alert.Warning, Active: true, Since: t0}
	if err := s.SaveAlerts(ctx, []alert.State{full, other}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAlerts(ctx, []alert.State{full}); err != nil { // replaces the set
		t.Fatal(err)
	}
	got, err := s.LoadAlerts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []alert.State{full}) {
		t.Errorf("LoadAlerts:\n got %+v\nwant %+v", got, []alert.State{full})
	}

	ended := t0.Add(2 * time.Hour)
	ev := alert.Event{At: t0.Add(2 * time.Hour), Receivers: []string{"ops", "pager"}, Notification: alert.Notification{
		Status: alert.Resolved, Alert: alert.RuleDown, Check: "checkout", Location: "eu", Probe: "eu-1", Severity: alert.Critical,
		Summary: "checkout is up again", StartedAt: t0, EndedAt: &ended, FailureKind: "status", Message: "status 503",
		URL: "https://shop.test/checkout", RunbookURL: "https://wiki.test/checkout", Screenshot: "checkout/1/screenshot.png",
		Key: "down:checkout", Repeat: true}}
	if zero := zeroFields(ev); len(zero) > 0 {
		t.Fatalf("the event fixture leaves %s zero", strings.Join(zero, ", "))
	}
	early := alert.Event{At: t0, Notification: alert.Notification{Status: alert.Firing, Alert: alert.RuleDown, Check: "home",
		Severity: alert.Critical, Summary: "home is down", StartedAt: t0, Key: "down:home"}}
	for _, e := range []alert.Event{early, ev} {
		if err := s.RecordAlert(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    probe.RunQuery
		want []alert.Event
	}{
		{"all", probe.RunQuery{}, []alert.Event{early, ev}},
		{"window", probe.RunQuery{Since: t0.Add(time.Hour)}, []alert.Event{ev}},
		{"check", probe.RunQuery{Check: "home"}, []alert.Event{early}},
	} {
		got, err := s.AlertEvents(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, tc.want)
		}
	}
	// Retention prunes the history with the runs.
	if _, err := s.Prune(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AlertEvents(ctx, probe.RunQuery{}); len(got) != 1 || got[0].Check != "checkout" {
		t.Errorf("after pruning: %+v", got)
	}
}
