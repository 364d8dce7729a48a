package report

import (
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/slo"
)

// TestReportPayment: a journey whose payment page was waited on for its
// Stripe field is reported with the page's provider and p75
// payment_ready_ms (text column, JSON distribution) and judged on the
// payment preset's 2 s, which the report says came from the preset.
func TestReportPayment(t *testing.T) {
	now := time.Now().UTC()
	check := probe.Check{Name: "checkout", Type: probe.TypeJourney, SLO: probe.SLO{PaymentReady: 2 * time.Second,
		Preset: "payment", FromPreset: probe.Targets(0).With(probe.TargetPaymentReady)}}
	var runs []probe.Run
	// 900 1500 2100 2600 -> p75 rank 3 = 2100 ms, over the 2 s target.
	for i, ready := range []float64{1500, 900, 2600, 2100} {
		r := journeyRun(now.Add(-time.Duration(i+1)*time.Minute), 1000, 1000)
		pay := probe.PageMetrics{LoadMS: 1200, SettleReason: probe.SettleQuiet, PaymentProvider: "stripe", PaymentReadyMS: f64(ready)}
		r.Attempts[0].Pages = append(r.Attempts[0].Pages, probe.PageResult{Name: "payment", URL: "http://127.0.0.1/pay", PageMetrics: pay})
		runs = append(runs, r)
	}
	s, path := saveRuns(t, []probe.Check{check}, runs)
	rep := build(t, s, path, now, "24h", "")

	out := textOf(t, rep, TextOptions{})
	for _, want := range []string{"PAYMENT READY P75", "stripe 2100 ms", "✗  payment_ready payment p75", "≤ 2000 ms", "targets from the payment preset: payment_ready"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	raw, back := jsonOf(t, rep)
	c := back.Checks[0]
	if c.Targets.PaymentReadyMS != 2000 {
		t.Errorf("targets.payment_ready_ms = %v", c.Targets.PaymentReadyMS)
	}
	var home, pay slo.PageStats
	for _, p := range c.Pages {
		switch p.Name {
		case "home":
			home = p
		case "payment":
			pay = p
		}
	}
	if pay.PaymentProvider != "stripe" || pay.PaymentReady == nil || pay.PaymentReady.Samples != 4 || *pay.PaymentReady.P75 != 2100 {
		t.Errorf("payment page: %+v %+v", pay, pay.PaymentReady)
	}
	if home.PaymentReady != nil || strings.Count(raw, `"payment_ready_ms": {`) != 1 {
		t.Errorf("payment_ready_ms on a page not waited on:\n%s", raw)
	}
}
