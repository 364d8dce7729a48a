package browser

import (
	"slices"
	"testing"

	"github.com/storeprobe/storeprobe/probe"
)

// TestBeaconOf: the vendors' documented request shapes are recognised with
// their hits and event names, and look-alikes are not.
//   - GA4: /g/collect with the Measurement Protocol's v=2, tid, en; a
//     sendBeacon batch has one event per body line ("[GA4] Measurement
//     Protocol", support.google.com/analytics/answer/9900444).
//   - AppMeasurement: /b/ss/<rsid>/1/JS-2.22.0/s<random> with pe=lnk_o|d|e
//     for link hits and events/ev for success events (Adobe, "Data
//     collection query parameters").
//   - Web SDK: POST /ee/v1/interact?configId= with events[].xdm.eventType;
//     the Server API's POST /ee/v2/interact with event.xdm.eventType (Adobe,
//     Edge Network Server API "Interactive data collection").
func TestBeaconOf(t *testing.T) {
	tests := []struct {
		name, method, url, body string
		vendor                  string // "" : not a beacon
		hits                    int
		events                  []string
	}{
		{"ga4 page_view", "POST", "https://region1.google-analytics.com/g/collect?v=2&tid=G-TEST&cid=1.2&en=page_view&_s=1", "",
			probe.AnalyticsGA4, 1, []string{"page_view"}},
		{"ga4 www", "GET", "https://www.google-analytics.com/g/collect?v=2&tid=G-TEST&en=scroll", "", probe.AnalyticsGA4, 1, []string{"scroll"}},
		{"ga4 analytics.google.com", "POST", "https://analytics.google.com/g/collect?v=2&tid=G-TEST&en=purchase", "",
			probe.AnalyticsGA4, 1, []string{"purchase"}},
		{"ga4 batch", "POST", "https://region1.google-analytics.com/g/collect?v=2&tid=G-TEST&cid=1.2",
			"en=add_to_cart&ep.currency=EUR\nen=view_cart\n", probe.AnalyticsGA4, 2, []string{"add_to_cart", "view_cart"}},
		{"ga4 no en", "POST", "https://region1.google-analytics.com/g/collect?v=2&tid=G-TEST", "", probe.AnalyticsGA4, 1, nil},
		{"g/collect elsewhere", "POST", "https://shop.example/g/collect?en=page_view", "", "", 0, nil},
		{"google-analytics look-alike", "POST", "https://evilgoogle-analytics.com/g/collect?en=page_view", "", "", 0, nil},
		{"appmeasurement page view", "GET", "https://shop.sc.omtrdc.net/b/ss/shoprsid/1/JS-2.22.0/s1234?AQB=1&ndh=1&pageName=product&events=scAdd,event5%3D2,event7:abc&AQE=1", "",
			probe.AnalyticsAdobe, 1, []string{"page_view", "scAdd", "event5", "event7"}},
		{"appmeasurement link hit, ev", "GET", "https://metrics.shop.com/b/ss/shoprsid/1/JS-2.22.0/s5678?AQB=1&pe=lnk_d&ev=purchase&AQE=1", "",
			probe.AnalyticsAdobe, 1, []string{"lnk_d", "purchase"}},
		{"appmeasurement POST", "POST", "https://shop.112.2o7.net/b/ss/shoprsid/1/JS-2.22.0/s9", "AQB=1&pe=lnk_e&AQE=1",
			probe.AnalyticsAdobe, 1, []string{"lnk_e"}},
		{"web sdk v1", "POST", "https://edge.adobedc.net/ee/v1/interact?configId=0a1b&requestId=1",
			`{"events":[{"xdm":{"eventType":"web.webpagedetails.pageViews"}},{"xdm":{"eventType":"commerce.productListAdds"}}]}`,
			probe.AnalyticsAdobe, 2, []string{"web.webpagedetails.pageViews", "commerce.productListAdds"}},
		{"web sdk first-party edge", "POST", "https://edge.shop.com/ee/irl1/v1/collect?configId=0a1b",
			`{"events":[{"xdm":{"eventType":"web.webinteraction.linkClicks"}}]}`, probe.AnalyticsAdobe, 1, []string{"web.webinteraction.linkClicks"}},
		{"server api v2", "POST", "https://server.adobedc.net/ee/v2/interact?dataStreamId=x",
			`{"event":{"xdm":{"eventType":"web.webpagedetails.pageViews"}}}`, probe.AnalyticsAdobe, 1, []string{"web.webpagedetails.pageViews"}},
		{"web sdk unreadable body", "POST", "https://edge.adobedc.net/ee/v1/interact?configId=0a1b", "{", probe.AnalyticsAdobe, 1, nil},
		{"edge GET is no hit", "GET", "https://edge.adobedc.net/ee/v1/interact?configId=0a1b", "", "", 0, nil},
		{"ee elsewhere", "POST", "https://shop.example/ee/v1/other", "{}", "", 0, nil},
		{"not http", "GET", "data:,/b/ss/x", "", "", 0, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ok := beaconOf(tc.method, tc.url, []byte(tc.body))
			if ok != (tc.vendor != "") {
				t.Fatalf("recognised %v (%+v), want %v", ok, b, tc.vendor != "")
			}
			if !ok {
				return
			}
			if b.vendor != tc.vendor || b.hits != tc.hits || !slices.Equal(b.events, tc.events) {
				t.Errorf("%s %d hits %v, want %s %d %v", b.vendor, b.hits, b.events, tc.vendor, tc.hits, tc.events)
			}
		})
	}
}

// TestTallyBounds: a vendor's event names are deduplicated, at most
// MaxBeaconEvents and each clipped; hits are all counted.
func TestTallyBounds(t *testing.T) {
	var tl *probe.BeaconTally
	long := string(make([]byte, 300))
	for i := range 50 {
		tally(&tl, 1, []string{"page_view", long, string(rune('a'+i%26)) + "x"})
	}
	if tl.Fired != 50 || len(tl.Events) != probe.MaxBeaconEvents || tl.Events[0] != "page_view" || len(tl.Events[1]) != probe.MaxBeaconEventLen {
		t.Errorf("fired %d, %d events (first %q, second %d bytes)", tl.Fired, len(tl.Events), tl.Events[0], len(tl.Events[1]))
	}
}
