package browser

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// The analytics lab: one TLS server plays the shop (shop.example) and the
// vendors (www.googletagmanager.com, region1.google-analytics.com,
// shop.sc.omtrdc.net, edge.adobedc.net), routed by Host. A browser of its
// own maps those names to it with --host-resolver-rules (port included,
// so https://www.googletagmanager.com/ reaches it) and accepts its test
// certificate; every other name is NXDOMAIN, so nothing leaves loopback.
// A plain http server (img.example) serves the mixed content.

// fakeGtag is a small gtag.js: it reads the dataLayer the way the real
// snippet fills it (gtag('js'), gtag('config', id), gtag('event', name))
// and sends GA4 hits to /g/collect with the Measurement Protocol's
// parameters (v=2, tid, cid, en; ep.* event parameters): page_view on
// config as a fetch keepalive POST, later events batched in one
// navigator.sendBeacon POST, one event per body line as gtag does.
// Google: developers.google.com/analytics/devguides/collection/gtagjs and
// .../collection/protocol/ga4 (Measurement Protocol, /g/collect).
const fakeGtag = `(function () {
  const endpoint = 'https://region1.google-analytics.com/g/collect';
  let tid = '';
  const common = () => 'v=2&tid=' + tid + '&cid=1.2&dl=' + encodeURIComponent(location.href);
  const handle = (args) => {
    if (args[0] === 'config') {
      tid = args[1];
      fetch(endpoint + '?' + common() + '&en=page_view&_s=1', {method: 'POST', keepalive: true, mode: 'no-cors'})
        .then(() => { document.body.dataset.ga4 = 'ok'; }, () => { document.body.dataset.ga4 = 'error'; });
    } else if (args[0] === 'event') {
      const body = 'en=' + args[1] + '&ep.currency=EUR\nen=view_cart';
      document.body.dataset.beacon = String(navigator.sendBeacon(endpoint + '?' + common() + '&_s=2', body));
    }
  };
  const dl = window.dataLayer = window.dataLayer || [];
  dl.forEach(handle);
  dl.push = (args) => { handle(args); return Array.prototype.push.call(dl, args); };
})();`

// gtagSnippet is Google's install snippet for gtag.js, plus an
// add_to_cart event 200 ms later.
const gtagSnippet = `<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-TEST');
setTimeout(() => gtag('event', 'add_to_cart'), 200);</script>`

// adobeJS sends what AppMeasurement 2.22 and the Web SDK send: an image
// request to /b/ss/<rsid>/1/JS-2.22.0/s<random> for a page view with
// success events (scAdd, event5 with a value), a link hit (pe=lnk_o),
// and the Web SDK's POST /ee/v1/interact?configId=... with a text/plain
// JSON body whose events[].xdm.eventType names the event, sent with
// credentials. Adobe: experienceleague.adobe.com "Data collection query
// parameters" (AppMeasurement image requests) and the Edge Network
// Server API "interact" endpoint (Web SDK sendEvent).
const adobeJS = `<script>
const base = 'https://shop.sc.omtrdc.net/b/ss/shoprsid/1/JS-2.22.0/';
const pv = new Image(); pv.onload = () => { document.body.dataset.am = 'ok'; }; pv.onerror = () => { document.body.dataset.am = 'error'; };
pv.src = base + 's1234?AQB=1&ndh=1&pageName=product&events=scAdd,event5%3D2&AQE=1';
const link = new Image(); link.src = base + 's5678?AQB=1&pe=lnk_o&pev2=add%20to%20cart&AQE=1';
fetch('https://edge.adobedc.net/ee/v1/interact?configId=0a1b2c3d&requestId=1', {method: 'POST', credentials: 'include',
  headers: {'Content-Type': 'text/plain; charset=UTF-8'},
  body: JSON.stringify({events: [{xdm: {eventType: 'web.webpagedetails.pageViews', web: {webPageDetails: {name: 'product'}}}}]})})
  .then(r => r.json()).then(() => { document.body.dataset.sdk = 'ok'; }, () => { document.body.dataset.sdk = 'error'; });
</script>`

type analyticsLab struct {
	b      *Browser
	shop   *httptest.Server // TLS: the shop and the vendors
	plain  *httptest.Server // http: img.example
	mu     sync.Mutex
	vendor map[string]int // hits per vendor host on the collectors
}

func (l *analyticsLab) collected(host string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.vendor[host]
}

func newAnalyticsLab(t *testing.T) *analyticsLab {
	chromium := browsertest.Chromium(t)
	l := &analyticsLab{vendor: map[string]int{}}
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, pageHead+"%s</body></html>", r.URL.Path, body)
		}
	}
	shop := http.NewServeMux()
	shop.HandleFunc("/ga4", page(`<h1>Product</h1>`+gtagSnippet))
	shop.HandleFunc("/adobe", page(`<h1>Product</h1>`+adobeJS))
	shop.HandleFunc("/both", page(`<h1>Product</h1>`+gtagSnippet+adobeJS))
	shop.HandleFunc("/plain", page(`<h1>No tags here</h1><a id="next" href="/ga4">next</a>`))
	// Same-site and cross-site frames that send the beacons themselves.
	shop.HandleFunc("/framed", page(`<h1>Framed</h1><iframe src="/ga4" width="300" height="200"></iframe>`))
	shop.HandleFunc("/xframed", page(`<h1>Framed</h1><iframe src="https://widgets.example/adobe" width="300" height="200"></iframe>`))
	// A cross-site frame in a cross-site frame (a checkout widget that
	// frames its payment provider's field): three sites, three renderers.
	shop.HandleFunc("/nested", page(`<h1>Nested</h1><iframe src="https://widgets.example/outer" width="400" height="300"></iframe>`))
	shop.HandleFunc("/outer", page(`<h2>Widget</h2><iframe src="https://pay.example/adobe" width="300" height="200"></iframe>`))
	// A OneTrust-style banner shown 300 ms after load; the page sends
	// page_view at once (before consent, the finding) and add_to_cart only
	// after the accept click.
	shop.HandleFunc("/consent", page(`<h1>Product</h1><div id="onetrust-banner-sdk"></div>
<button id="checkout" style="width:200px;height:50px" onclick="gtag('event', 'begin_checkout'); location.href = '/plain'">Checkout</button>
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST"></script>
<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}
gtag('js', new Date()); gtag('config', 'G-TEST');
addEventListener('load', () => setTimeout(() => {
  const b = document.createElement('button'); b.id = 'onetrust-accept-btn-handler'; b.textContent = 'Accept all';
  b.style.cssText = 'width:200px;height:50px';
  b.addEventListener('click', () => { b.remove(); gtag('event', 'add_to_cart'); });
  document.getElementById('onetrust-banner-sdk').appendChild(b);
}, 300));</script>`))
	shop.HandleFunc("/mixed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, pageHead+`<h1>Mixed</h1><img src="%s/pixel.png?token=s3cret" width="10" height="10"><script src="%s/old.js"></script></body></html>`,
			"mixed", l.plainURL(), l.plainURL())
	})
	collector := func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		l.mu.Lock()
		l.vendor[r.Host]++
		l.mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		if strings.Contains(r.URL.Path, "/ee/") {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"requestId":"1","handle":[]}`)
			return
		}
		if strings.Contains(r.URL.Path, "/b/ss/") {
			w.Header().Set("Content-Type", "image/gif")
			io.WriteString(w, beaconGIF)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
	l.shop = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		switch host {
		case "shop.example", "widgets.example", "pay.example":
			shop.ServeHTTP(w, r)
		case "www.googletagmanager.com":
			w.Header().Set("Content-Type", "application/javascript")
			io.WriteString(w, fakeGtag)
		case "region1.google-analytics.com", "shop.sc.omtrdc.net", "edge.adobedc.net":
			r.Host = host
			collector(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	l.shop.StartTLS()
	t.Cleanup(l.shop.Close)
	l.plain = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "application/javascript")
			io.WriteString(w, "document.body.dataset.old = 'ran';")
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(noisyPNG(10, 10, 2))
	}))
	t.Cleanup(l.plain.Close)
	_, port, _ := net.SplitHostPort(l.shop.Listener.Addr().String())
	var rules []string
	for _, h := range []string{"shop.example", "widgets.example", "pay.example", "www.googletagmanager.com", "region1.google-analytics.com",
		"shop.sc.omtrdc.net", "edge.adobedc.net"} {
		rules = append(rules, "MAP "+h+" 127.0.0.1:"+port)
	}
	rules = append(rules, "MAP img.example 127.0.0.1", "MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1")
	o := testOptions(chromium)
	o.HostResolverRules = strings.Join(rules, ", ")
	// The lab's certificate is httptest's: accepted in this test browser only.
	o.ExtraFlags = []string{"ignore-certificate-errors"}
	o.MaxConcurrent = 2
	b, err := Launch(context.Background(), o)
	if err != nil {
		t.Fatalf("launch: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	l.b = b
	return l
}

func (l *analyticsLab) plainURL() string {
	_, port, _ := net.SplitHostPort(l.plain.Listener.Addr().String())
	return "http://img.example:" + port
}

func (l *analyticsLab) browse(t *testing.T, path string, spec probe.BrowserSpec) probe.Result {
	t.Helper()
	c := probe.Check{Name: "t", Type: probe.TypeBrowser, URL: "https://shop.example" + path, Timeout: 30 * time.Second, Browser: spec}
	return l.b.Browse(context.Background(), c)
}

// pageData reads the data-* attributes the fixtures set on <body>: what
// the page itself saw of its beacons' answers.
func (l *analyticsLab) pageData(t *testing.T, path string, keys int) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, f := l.b.open(ctx, "", 30*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatalf("open: %v", f)
	}
	defer s.close()
	if f := s.navigate(ctx, "https://shop.example"+path, probe.PhaseNavigation); f != nil {
		t.Fatalf("navigate: %v", f)
	}
	var data map[string]string
	for range 50 { // 5 s at most
		d, err := evalJSON[map[string]string](ctx, s, `() => Object.assign({}, document.body.dataset)`)
		if err == nil && len(d) >= keys {
			return d
		}
		data = d
		time.Sleep(100 * time.Millisecond)
	}
	return data
}

func tallyOf(res probe.Result, vendor string) *probe.BeaconTally {
	if res.PageMetrics == nil {
		return nil
	}
	return res.PageMetrics.Analytics.Vendor(vendor)
}

// TestAnalyticsBeacons: each vendor's beacons are recorded with their
// hits and event names, from the page and from its frames, and by
// default the vendors' collectors never see a request; with passthrough
// they do, and the hits are still recorded. Cross-site frames (and one in
// another) are out-of-process, the case the site isolation subtest proves.
func TestAnalyticsBeacons(t *testing.T) {
	l := newAnalyticsLab(t)
	collectors := []string{"region1.google-analytics.com", "shop.sc.omtrdc.net", "edge.adobedc.net"}
	tests := []struct {
		path        string
		passthrough bool
		ga4, adobe  []string // want these events (nil: vendor absent)
		ga4Hits     int      // page_view + a batch of add_to_cart, view_cart
		adobeHits   int      // page view, link hit, one Web SDK event
	}{
		{path: "/ga4", ga4: []string{"page_view", "add_to_cart", "view_cart"}, ga4Hits: 3},
		{path: "/adobe", adobe: []string{"page_view", "scAdd", "event5", "lnk_o", "web.webpagedetails.pageViews"}, adobeHits: 3},
		{path: "/both", ga4: []string{"page_view", "add_to_cart", "view_cart"}, ga4Hits: 3,
			adobe: []string{"page_view", "scAdd", "event5", "lnk_o", "web.webpagedetails.pageViews"}, adobeHits: 3},
		{path: "/framed", ga4: []string{"page_view", "add_to_cart", "view_cart"}, ga4Hits: 3},
		{path: "/xframed", adobe: []string{"page_view", "scAdd", "event5", "lnk_o", "web.webpagedetails.pageViews"}, adobeHits: 3},
		{path: "/xframed", passthrough: true, adobe: []string{"page_view", "scAdd", "event5", "lnk_o", "web.webpagedetails.pageViews"}, adobeHits: 3},
		{path: "/nested", adobe: []string{"page_view", "scAdd", "event5", "lnk_o", "web.webpagedetails.pageViews"}, adobeHits: 3},
		{path: "/nested", passthrough: true, adobe: []string{"page_view", "scAdd", "event5", "lnk_o", "web.webpagedetails.pageViews"}, adobeHits: 3},
		{path: "/plain"},
		{path: "/both", passthrough: true, ga4: []string{"page_view", "add_to_cart", "view_cart"}, ga4Hits: 3,
			adobe: []string{"page_view", "scAdd", "event5", "lnk_o", "web.webpagedetails.pageViews"}, adobeHits: 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s passthrough=%v", tc.path, tc.passthrough), func(t *testing.T) {
			before := map[string]int{}
			for _, h := range collectors {
				before[h] = l.collected(h)
			}
			res := l.browse(t, tc.path, probe.BrowserSpec{AnalyticsPassthrough: tc.passthrough})
			if !res.OK {
				t.Fatalf("failed: %v", res.Failure)
			}
			for _, v := range []struct {
				name   string
				events []string
				hits   int
			}{{probe.AnalyticsGA4, tc.ga4, tc.ga4Hits}, {probe.AnalyticsAdobe, tc.adobe, tc.adobeHits}} {
				got := tallyOf(res, v.name)
				if v.events == nil {
					if got != nil {
						t.Errorf("%s: %+v, want absent", v.name, got)
					}
					continue
				}
				if got == nil {
					t.Errorf("%s: absent, want %v", v.name, v.events)
					continue
				}
				if got.Fired != v.hits {
					t.Errorf("%s fired %d, want %d", v.name, got.Fired, v.hits)
				}
				want, have := slices.Clone(v.events), slices.Clone(got.Events)
				slices.Sort(want)
				slices.Sort(have)
				if !slices.Equal(want, have) {
					t.Errorf("%s events %v, want %v", v.name, got.Events, v.events)
				}
			}
			delivered := 0
			for _, h := range collectors {
				delivered += l.collected(h) - before[h]
			}
			switch {
			case tc.passthrough && delivered < tc.ga4Hits-1+tc.adobeHits:
				// GA4's batch is one request for two events.
				t.Errorf("passthrough: the collectors got %d requests, want %d", delivered, tc.ga4Hits-1+tc.adobeHits)
			case !tc.passthrough && delivered != 0:
				t.Errorf("the collectors got %d requests: a probe must not deliver beacons", delivered)
			}
		})
	}
	t.Run("site isolation on", func(t *testing.T) { crossSiteFrames(t, l) })
	// What the README says the page's requests leave out: a cross-site
	// frame's own requests (its renderer's, not the tab's) and so the
	// document of a frame inside it; the frame's document request itself
	// is the tab's (Chrome reports it to the frame's parent).
	t.Run("a cross-site frame's own requests are not the page's", func(t *testing.T) {
		for _, path := range []string{"/xframed", "/nested"} {
			res := l.browse(t, path, probe.BrowserSpec{})
			m := res.PageMetrics
			if !res.OK || m == nil {
				t.Fatalf("%s: failed: %v", path, res.Failure)
			}
			var domains []string
			for _, tp := range m.ThirdParties {
				domains = append(domains, tp.Domain)
			}
			if m.Requests != 2 || m.Resources.Document.Requests != 2 || !slices.Equal(domains, []string{"widgets.example"}) {
				t.Errorf("%s: %d requests (%d documents), third parties %v; want 2 documents, the page's and its frame's, from widgets.example",
					path, m.Requests, m.Resources.Document.Requests, domains)
			}
		}
	})
	// The page saw ordinary successes, not errors, from the local answers.
	t.Run("the page sees success", func(t *testing.T) {
		data := l.pageData(t, "/both", 4)
		for k, want := range map[string]string{"ga4": "ok", "beacon": "true", "am": "ok", "sdk": "ok"} {
			if data[k] != want {
				t.Errorf("data-%s %q, want %q (all: %v)", k, data[k], want, data)
			}
		}
	})
}

// TestAnalyticsExpect: an expected vendor that never fired fails the run
// as assertion naming the vendor and the page; on a journey, the page by
// its name.
func TestAnalyticsExpect(t *testing.T) {
	l := newAnalyticsLab(t)
	t.Run("browse", func(t *testing.T) {
		res := l.browse(t, "/ga4", probe.BrowserSpec{Analytics: []string{probe.AnalyticsGA4, probe.AnalyticsAdobe}})
		if res.OK || res.Failure == nil || res.Failure.Kind != probe.FailureAssertion ||
			!strings.Contains(res.Failure.Message, "adobe did not fire on page https://shop.example/ga4") {
			t.Fatalf("result ok=%v failure=%v, want an assertion naming adobe and the page", res.OK, res.Failure)
		}
		if res := l.browse(t, "/both", probe.BrowserSpec{Analytics: []string{probe.AnalyticsGA4, probe.AnalyticsAdobe}}); !res.OK {
			t.Errorf("both vendors fired, yet: %v", res.Failure)
		}
	})
	t.Run("journey", func(t *testing.T) {
		j := probe.Journey{Name: "j", Steps: []probe.Step{
			{Action: probe.ActionGoto, URL: "https://shop.example/plain", Page: "home"},
			{Action: probe.ActionClick, Selector: "#next", Page: "product"},
		}}
		c := probe.Check{Name: "j", Type: probe.TypeJourney, Browser: probe.BrowserSpec{Analytics: []string{probe.AnalyticsGA4}}}
		res := l.b.RunJourney(context.Background(), c, j, "")
		if res.OK || res.Failure == nil || res.Failure.Kind != probe.FailureAssertion || res.Failure.Message != "ga4 did not fire on page home" {
			t.Fatalf("result ok=%v failure=%v, want ga4 did not fire on page home", res.OK, res.Failure)
		}
		if len(res.Pages) != 2 || res.Pages[0].Analytics != nil || tallyOf(probe.Result{BrowserDetails: &probe.BrowserDetails{PageMetrics: &res.Pages[1].PageMetrics}}, probe.AnalyticsGA4) == nil {
			t.Errorf("pages %+v: want home without beacons, product with ga4", res.Pages)
		}
	})
}

// TestAnalyticsConsent: a page_view sent before the consent click is a
// finding; the add_to_cart sent after it is not; nothing fails.
func TestAnalyticsConsent(t *testing.T) {
	l := newAnalyticsLab(t)
	res := l.browse(t, "/consent", probe.BrowserSpec{ConsentSelector: "#onetrust-accept-btn-handler", Analytics: []string{probe.AnalyticsGA4}})
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	want := []probe.AnalyticsFinding{{ID: probe.FindingBeaconBeforeConsent, Vendor: probe.AnalyticsGA4, Event: "page_view",
		Message: "ga4 sent page_view before the consent click"}}
	if !slices.Equal(res.AnalyticsFindings, want) {
		t.Errorf("findings %+v, want %+v", res.AnalyticsFindings, want)
	}
	if ga := tallyOf(res, probe.AnalyticsGA4); ga == nil || !slices.Contains(ga.Events, "add_to_cart") {
		t.Errorf("ga4 %+v: the click's add_to_cart is missing (was the banner clicked?)", ga)
	}
	// Without a banner: one consent-not-found finding, no failure.
	res = l.browse(t, "/ga4", probe.BrowserSpec{ConsentSelector: "#onetrust-accept-btn-handler"})
	if !res.OK || len(res.AnalyticsFindings) == 0 || res.AnalyticsFindings[len(res.AnalyticsFindings)-1].ID != probe.FindingConsentNotFound {
		t.Errorf("no banner: ok=%v findings %+v, want consent-not-found last", res.OK, res.AnalyticsFindings)
	}
}

// TestAnalyticsJourney: in a journey the consent button is clicked after
// the first goto; the page_view before it is the product page's finding,
// and the begin_checkout beacon sent by the click that leaves the product
// page counts for the product page, not for the cart it lands on.
func TestAnalyticsJourney(t *testing.T) {
	l := newAnalyticsLab(t)
	j := probe.Journey{Name: "j", Steps: []probe.Step{
		{Action: probe.ActionGoto, URL: "https://shop.example/consent", Page: "product"},
		{Action: probe.ActionClick, Selector: "#checkout", Page: "cart"},
	}}
	c := probe.Check{Name: "j", Type: probe.TypeJourney, Browser: probe.BrowserSpec{ConsentSelector: "#onetrust-accept-btn-handler"}}
	res := l.b.RunJourney(context.Background(), c, j, "")
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	if len(res.Pages) != 2 {
		t.Fatalf("pages %+v, want product and cart", res.Pages)
	}
	product, cart := res.Pages[0], res.Pages[1]
	if product.Analytics == nil || product.Analytics.GA4 == nil ||
		!slices.Contains(product.Analytics.GA4.Events, "add_to_cart") || !slices.Contains(product.Analytics.GA4.Events, "begin_checkout") {
		t.Errorf("product analytics %+v: want page_view, the consent click's add_to_cart and the leaving click's begin_checkout", product.Analytics.Vendor(probe.AnalyticsGA4))
	}
	if len(product.AnalyticsFindings) != 1 || product.AnalyticsFindings[0].Event != "page_view" {
		t.Errorf("product findings %+v, want page_view before consent", product.AnalyticsFindings)
	}
	if cart.Analytics != nil || len(cart.AnalyticsFindings) != 0 {
		t.Errorf("cart %+v / %+v: the cart page sent nothing", cart.Analytics.Vendor(probe.AnalyticsGA4), cart.AnalyticsFindings)
	}
}

// TestMixedContent: an https page with an http image (optionally
// blockable) and an http script (blockable) lists both, redacted.
func TestMixedContent(t *testing.T) {
	l := newAnalyticsLab(t)
	res := l.browse(t, "/mixed", probe.BrowserSpec{})
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	types := map[string]string{}
	for _, m := range res.MixedContent {
		types[m.URL] = m.Type + " " + m.Resolution
		if strings.Contains(m.URL, "s3cret") {
			t.Errorf("mixed content URL %q not redacted", m.URL)
		}
	}
	t.Logf("mixed content: %+v", res.MixedContent)
	if res.MixedContentCount != 2 || len(res.MixedContent) != 2 {
		t.Errorf("mixed_content_count %d, list %+v: want the image and the script", res.MixedContentCount, res.MixedContent)
	}
	for url, want := range map[string]string{l.plainURL() + "/old.js": "blockable blocked",
		l.plainURL() + "/pixel.png?token=REDACTED": "optionally-blockable upgraded"} {
		if got := types[url]; got != want {
			t.Errorf("%s: %q, want %q (all: %v)", url, got, want, types)
		}
	}
	// The same page over http has no mixed content.
	if res := l.browse(t, "/plain", probe.BrowserSpec{}); res.MixedContentCount != 0 {
		t.Errorf("plain page: %d mixed", res.MixedContentCount)
	}
}

// crossSiteFrames: Chrome keeps its site isolation (a cross-site frame,
// and one inside it, are "iframe" targets of their own: an in-process
// frame is no target), each is watched by a session of its own while it
// lives, and a frame that goes ends its session.
func crossSiteFrames(t *testing.T, l *analyticsLab) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, f := l.b.open(ctx, "", 30*time.Second, probe.NewRedactor())
	if f != nil {
		t.Fatalf("open: %v", f)
	}
	defer s.close()
	if f := s.navigate(ctx, "https://shop.example/nested", probe.PhaseNavigation); f != nil {
		t.Fatalf("navigate: %v", f)
	}
	frameTargets := func() []string {
		res, err := cdp.Call(ctx, chromedp.FromContext(s.ctx).Browser, target.GetTargets, target.GetTargetsParams{})
		if err != nil {
			t.Fatalf("targets: %v", err)
		}
		var out []string
		for _, ti := range res.TargetInfos {
			if ti.Type == "iframe" && (strings.Contains(ti.URL, "widgets.example") || strings.Contains(ti.URL, "pay.example")) {
				out = append(out, ti.URL)
			}
		}
		slices.Sort(out)
		return out
	}
	var got []string
	for range 50 { // 5 s at most: the inner frame loads after the outer
		if got = frameTargets(); len(got) == 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(got) != 2 || !strings.Contains(got[0], "pay.example/adobe") || !strings.Contains(got[1], "widgets.example/outer") {
		t.Fatalf("iframe targets %v, want pay.example/adobe and widgets.example/outer: site isolation is off", got)
	}
	sessions := func() (outer, inner int) {
		s.frames.mu.Lock()
		defer s.frames.mu.Unlock()
		for _, k := range s.frames.kids {
			outer++
			k.mu.Lock()
			inner += len(k.kids)
			k.mu.Unlock()
		}
		return outer, inner
	}
	if o, i := sessions(); o != 1 || i != 1 {
		t.Fatalf("frame sessions: %d under the tab, %d under them; want 1 and 1", o, i)
	}
	s.frames.mu.Lock()
	var outer *frameSession
	for _, k := range s.frames.kids {
		outer = k
	}
	s.frames.mu.Unlock()
	// The page removes its frame: Chrome detaches its session (and the
	// inner one's); both end.
	if _, err := evalJSON[bool](ctx, s, `() => { document.querySelector('iframe').remove(); return true; }`); err != nil {
		t.Fatalf("remove the frame: %v", err)
	}
	select {
	case <-outer.gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the removed frame's session did not end")
	}
	if o, i := sessions(); o != 0 || i != 0 {
		t.Errorf("frame sessions after the removal: %d, %d; want none", o, i)
	}
}
