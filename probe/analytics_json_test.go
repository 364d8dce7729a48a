package probe_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/storeprobe/storeprobe/probe"
)

// TestResultJSONAnalytics: a browse result's page analytics are at the top
// level as "analytics", though HTTPDetails has a key of the same name; an
// HTTP result keeps its platform list there.
func TestResultJSONAnalytics(t *testing.T) {
	tests := []struct {
		name string
		res  probe.Result
		want string
	}{
		{"browse", probe.Result{BrowserDetails: &probe.BrowserDetails{PageMetrics: &probe.PageMetrics{
			Analytics: &probe.PageAnalytics{GA4: &probe.BeaconTally{Fired: 2, Events: []string{"page_view"}}}}}},
			`"analytics":{"ga4":{"fired":2,"events":["page_view"]}}`},
		{"http", probe.Result{HTTPDetails: &probe.HTTPDetails{Analytics: []string{"ga4"}}}, `"analytics":["ga4"]`},
		{"journey page", probe.Result{BrowserDetails: &probe.BrowserDetails{Pages: []probe.PageResult{{Name: "home",
			PageMetrics: probe.PageMetrics{Analytics: &probe.PageAnalytics{Adobe: &probe.BeaconTally{Fired: 1, Events: []string{"lnk_o"}}}}}}}},
			`"analytics":{"adobe":{"fired":1,"events":["lnk_o"]}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.res)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(string(b), `"analytics"`) != 1 || !strings.Contains(string(b), tc.want) {
				t.Errorf("JSON %s, want once %s", b, tc.want)
			}
		})
	}
}
