package notify

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// startAlertmanager runs a real Alertmanager on a loopback port: one
// receiver that sends nowhere, no clustering, state in a temporary
// directory. It returns the base URL.
func startAlertmanager(t *testing.T) string {
	t.Helper()
	bin := alertmanagerBinary().Require(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(conf, []byte("route:\n  receiver: blackhole\nreceivers:\n  - name: blackhole\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeAddr(t)
	base := "http://" + addr
	startProcess(t, bin, []string{
		"--config.file=" + conf,
		"--storage.path=" + filepath.Join(dir, "data"),
		"--web.listen-address=" + addr,
		"--cluster.listen-address=", // no gossip port, no peers
		"--log.level=warn",
	}, func() bool { return httpOK(base + "/-/ready") })
	return base
}

// amAlertState is what GET /api/v2/alerts says of one alert.
type amAlertState struct {
	Labels      map[string]string
	Annotations map[string]string
	StartsAt    time.Time
	EndsAt      time.Time
	Status      struct{ State string }
}

// alertsOf lists the alerts Alertmanager holds for check.
func alertsOf(t *testing.T, base, check string) []amAlertState {
	t.Helper()
	q := url.Values{"filter": {`check="` + check + `"`}}
	resp, err := http.Get(base + "/api/v2/alerts?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v2/alerts: %s", resp.Status)
	}
	var out []amAlertState
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// eventually polls cond for up to 10s: Alertmanager takes posted alerts
// in asynchronously.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("after 10s: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestAlertmanagerReceivesAndResolves(t *testing.T) {
	base := startAlertmanager(t)
	now := time.Now().Truncate(time.Second)
	nt := mustNew(t, probe.Notifier{Name: "am", Type: probe.NotifierAlertmanager, URL: base, SendResolved: true},
		WithClock(func() time.Time { return now }), WithAlertmanagerHold(4*time.Hour))

	n := firing()
	n.StartedAt = now.Add(-3 * time.Minute)
	if err := nt.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var got []amAlertState
	eventually(t, "the firing alert is active in Alertmanager", func() bool {
		got = alertsOf(t, base, "checkout")
		return len(got) == 1 && got[0].Status.State == "active"
	})
	a := got[0]
	wantLabels := map[string]string{"alertname": "down", "check": "checkout", "location": "eu-west", "severity": "critical", "probe": "fra-1"}
	if !maps.Equal(a.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", a.Labels, wantLabels)
	}
	wantAnn := map[string]string{"summary": "checkout down", "description": "timeout: " + n.Message,
		"runbook_url": n.RunbookURL, "screenshot": n.Screenshot}
	if !maps.Equal(a.Annotations, wantAnn) {
		t.Errorf("annotations %v, want %v", a.Annotations, wantAnn)
	}
	if !a.StartsAt.Equal(n.StartedAt) || !a.EndsAt.Equal(now.Add(4*time.Hour)) {
		t.Errorf("startsAt %v endsAt %v, want %v and the hold after now", a.StartsAt, a.EndsAt, n.StartedAt)
	}

	// A repeat of the firing alert is the same alert, not a second one.
	n.Repeat = true
	if err := nt.Notify(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	if got := alertsOf(t, base, "checkout"); len(got) != 1 {
		t.Errorf("%d alerts after a repeat, want 1", len(got))
	}

	r := n
	r.Status, r.Repeat = alert.Resolved, false
	end := time.Now()
	r.EndedAt = &end
	if err := nt.Notify(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the resolved alert leaves Alertmanager's active alerts", func() bool {
		return len(alertsOf(t, base, "checkout")) == 0
	})
}

// Alertmanager refuses an alert without labels with 400: a permanent
// failure, not retried.
func TestAlertmanagerRefusalIsPermanent(t *testing.T) {
	base := startAlertmanager(t)
	nt := mustNew(t, probe.Notifier{Name: "am", Type: probe.NotifierAlertmanager, URL: base})
	err := nt.Notify(context.Background(), alert.Notification{Status: alert.Firing, Summary: "nothing to route on"})
	checkErr(t, err, true, true, ReasonRejected, 0)
	if !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "label") {
		t.Errorf("error %q does not quote Alertmanager's reason", err)
	}
}
