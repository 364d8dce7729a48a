package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// The payment fixtures: a merchant's checkout page on shop.example and a
// stand-in of each gateway's SDK served under the vendor's own host name
// (mapped to loopback by Chrome's host resolver rules, over TLS like the
// real ones: js.stripe.com and www.paypal.com are HSTS-preloaded). Each
// stand-in builds the DOM its vendor documents, on the same calls, after
// known delays, so payment_ready_ms has a lower bound known by
// construction: the SDK script answers after payScriptDelay, builds its
// wrapper payMountDelay after the merchant's mount call, and the iframe's
// document answers after payFrameDelay; PayPal then shows its buttons'
// frame payRevealDelay after it loaded. The merchant's page loads the SDK
// after its own load event, as @stripe/stripe-js's loadStripe and
// @paypal/paypal-js's loadScript do, so a hanging SDK does not hold the
// page's load.
const (
	payScriptDelay = 200 * time.Millisecond
	payMountDelay  = 300 * time.Millisecond
	payFrameDelay  = 600 * time.Millisecond
	payRevealDelay = 300 * time.Millisecond
	// payUpper is the slack above the lower bound: two busy cores under
	// -race stretch every step of a page.
	payUpper = 3000.0
)

// payResolverRules maps the vendors' hosts and the shop to loopback and
// every other name to NXDOMAIN.
const payResolverRules = "MAP js.stripe.com 127.0.0.1, MAP www.paypal.com 127.0.0.1, " +
	"MAP web.squarecdn.com 127.0.0.1, MAP sandbox.web.squarecdn.com 127.0.0.1, " +
	"MAP *." + testTLD + " 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

// stripeJS stands in for Stripe.js v3 (https://docs.stripe.com/js/including,
// https://docs.stripe.com/js/element/mount): Stripe(key).elements()
// .create('card').mount(selector) puts div.__PrivateStripeElement with an
// iframe named __privateStripeFrame<n>, its document from js.stripe.com
// (elements-inner-card-<hash>.html), into the mount point.
const stripeJS = `(() => {
  const me = new URL(document.currentScript.src);
  let n = 0;
  window.Stripe = function (key) {
    return {elements() { return {create(type) { return {mount(sel) {
      setTimeout(() => {
        const w = document.createElement('div');
        w.className = '__PrivateStripeElement';
        w.style.cssText = 'margin:0!important;padding:0!important;border:none!important;display:block!important;background:transparent!important;position:relative!important;opacity:1!important;clear:both!important;';
        const f = document.createElement('iframe');
        f.name = '__privateStripeFrame' + (5000 + n++);
        f.setAttribute('frameborder', '0');
        f.setAttribute('allowtransparency', 'true');
        f.setAttribute('scrolling', 'no');
        f.setAttribute('role', 'presentation');
        f.setAttribute('allow', 'payment *');
        f.title = 'Secure card payment input frame';
        f.style.cssText = 'border:none!important;margin:0!important;padding:0!important;width:1px!important;min-width:100%%!important;overflow:hidden!important;display:block!important;height:19.2px;';
        f.src = me.origin + '/v3/elements-inner-' + type + '-8c7ea2a5.html?frame=' + (me.searchParams.get('frame') || '') + '#componentName=' + type;
        w.appendChild(f);
        document.querySelector(sel).appendChild(w);
      }, %d);
    }}; }}; }};
  };
})();`

// paypalJS stands in for the PayPal JS SDK's Smart Buttons
// (https://developer.paypal.com/sdk/js/reference/#buttons):
// paypal.Buttons(options).render(selector) puts
// div.paypal-buttons.paypal-buttons-context-iframe holding the buttons'
// iframe.component-frame, hidden (class invisible: opacity 0, no pointer
// events) until its document has rendered, and a prerender frame shown
// meanwhile, as paypal-checkout-components' src/zoid/buttons/container.jsx
// builds them; like zoid (src/parent/drivers.js) the component frame is
// created without a src and navigated by setting its window's location.
const paypalJS = `(() => {
  const me = new URL(document.currentScript.src);
  window.paypal = {Buttons(opts) { return {render(sel) {
    setTimeout(() => {
      const w = document.createElement('div');
      w.id = 'zoid-paypal-buttons-uid_4f2a';
      w.className = 'paypal-buttons paypal-buttons-context-iframe paypal-buttons-label-unknown paypal-buttons-layout-vertical';
      w.setAttribute('data-paypal-smart-button-version', '5.0.0');
      w.style.cssText = 'position:relative;height:150px;';
      const css = document.createElement('style');
      css.textContent = '#zoid-paypal-buttons-uid_4f2a > iframe{display:block;position:absolute;width:100%%;height:100%%;top:0;left:0}' +
        '#zoid-paypal-buttons-uid_4f2a > iframe.visible{opacity:1}' +
        '#zoid-paypal-buttons-uid_4f2a > iframe.invisible{opacity:0;pointer-events:none}';
      const f = document.createElement('iframe');
      f.name = '__zoid__paypal_buttons__eyJ0ZXN0Ijp0cnVlfQ__';
      f.title = 'PayPal';
      f.setAttribute('allowtransparency', 'true');
      f.setAttribute('scrolling', 'no');
      f.className = 'component-frame invisible';
      const pre = document.createElement('iframe');
      pre.className = 'prerender-frame visible';
      pre.title = 'PayPal';
      w.append(css, f, pre);
      document.querySelector(sel).appendChild(w);
      // Listened to from here on: the empty frame's about:blank fired its
      // load event when it was inserted, and zoid shows the frame once the
      // buttons' document is there, not before.
      if (me.searchParams.get('reveal') !== 'never') {
        f.addEventListener('load', () => setTimeout(() => {
          f.className = 'component-frame visible';
          pre.className = 'prerender-frame invisible';
        }, %d));
      }
      f.contentWindow.location = me.origin + '/smart/buttons?frame=' + (me.searchParams.get('frame') || '');
    }, %d);
    return Promise.resolve();
  }}; }};
})();`

// squareJS stands in for the Square Web Payments SDK
// (https://developer.squareup.com/docs/web-payments/take-card-payment):
// await Square.payments(appId, locationId).card() then
// card.attach(selector) puts div.sq-card-wrapper >
// div.sq-card-iframe-container > iframe.sq-card-component into the
// container, its document from the SDK's host.
const squareJS = `(() => {
  const me = new URL(document.currentScript.src);
  window.Square = {payments(appId, locationId) { return {async card() { return {async attach(sel) {
    await new Promise((r) => setTimeout(r, %d));
    const wrap = document.createElement('div');
    wrap.className = 'sq-card-wrapper';
    const c = document.createElement('div');
    c.className = 'sq-card-iframe-container';
    const f = document.createElement('iframe');
    f.id = f.name = 'sq-card-component-1';
    f.className = 'sq-card-component';
    f.title = 'Secure card payment input frame';
    f.style.cssText = 'width:100%%;height:48px;border:none;';
    f.src = me.origin + '/1.0/card/single-card-element-iframe.html?frame=' + (me.searchParams.get('frame') || '');
    c.appendChild(f);
    const msg = document.createElement('div');
    msg.className = 'sq-card-message sq-card-message-no-error';
    wrap.append(c, msg);
    document.querySelector(sel).appendChild(wrap);
  }}; }}; }};
})();`

// merchantPage is a checkout page that loads sdk after its load event and
// mounts the gateway's field with the vendor's documented calls.
func merchantPage(sdk, mount string) string {
	return fmt.Sprintf(pageHead+`<h1>Checkout</h1><form><div id="card-element"></div><div id="paypal-button-container"></div><div id="card-container"></div></form>
<script>
addEventListener('load', () => {
  const s = document.createElement('script');
  s.src = %q;
  s.onload = () => { %s };
  document.head.appendChild(s);
});
</script></body></html>`, "checkout", sdk, mount)
}

// payServer is the shop and the three vendors on one TLS server.
type payServer struct {
	*httptest.Server
	port string
	quit chan struct{}
}

func (p *payServer) at(host, path string) string {
	return "https://" + host + ":" + p.port + path
}

func newPayServer(t *testing.T) *payServer {
	p := &payServer{quit: make(chan struct{})}
	hang := func(r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-p.quit:
		}
	}
	sleep := func(r *http.Request, d time.Duration) {
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
	}
	script := func(w http.ResponseWriter, r *http.Request, src string) {
		switch r.URL.Query().Get("fail") {
		case "hang":
			hang(r)
			return
		case "404":
			http.NotFound(w, r)
			return
		case "500":
			http.Error(w, "upstream error", http.StatusInternalServerError)
			return
		}
		sleep(r, payScriptDelay)
		w.Header().Set("Content-Type", "application/javascript")
		fmt.Fprint(w, src)
	}
	frame := func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("frame") == "hang" {
			hang(r)
			return
		}
		sleep(r, payFrameDelay)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><body style="margin:0"><input aria-label="Card number" placeholder="1234 1234 1234 1234"></body></html>`)
	}
	ms := payMountDelay.Milliseconds()
	p.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := strings.Cut(r.Host, ":")
		q := r.URL.RawQuery
		switch {
		case host == "shop."+testTLD && r.URL.Path == "/checkout/stripe":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			sdk := p.at("js.stripe.com", "/v3/")
			if v := r.URL.Query().Get("sdk"); v != "" {
				sdk = p.at("js.stripe.com", v)
			}
			fmt.Fprint(w, merchantPage(sdk+"?"+q, `Stripe('pk_test_TYooMQauvdEDq54NiTphI7jx').elements().create('card').mount('#card-element');`))
		case host == "shop."+testTLD && r.URL.Path == "/checkout/paypal":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, merchantPage(p.at("www.paypal.com", "/sdk/js?client-id=sb&currency=EUR&"+q),
				`paypal.Buttons({createOrder() { return 'order'; }}).render('#paypal-button-container');`))
		case host == "shop."+testTLD && r.URL.Path == "/checkout/square":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, merchantPage(p.at("sandbox.web.squarecdn.com", "/v1/square.js?"+q),
				`Square.payments('sandbox-sq0idb-app', 'LOC1').card().then((card) => card.attach('#card-container'));`))
		case host == "shop."+testTLD && r.URL.Path == "/plain":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, pageHead+`<h1>Cart</h1></body></html>`, "cart")
		case host == "js.stripe.com" && (r.URL.Path == "/v3/" || r.URL.Path == "/basil/stripe.js"):
			script(w, r, fmt.Sprintf(stripeJS, ms))
		case host == "js.stripe.com" && strings.HasPrefix(r.URL.Path, "/v3/elements-inner-"):
			frame(w, r)
		case host == "www.paypal.com" && r.URL.Path == "/sdk/js":
			script(w, r, fmt.Sprintf(paypalJS, payRevealDelay.Milliseconds(), ms))
		case host == "www.paypal.com" && r.URL.Path == "/smart/buttons":
			frame(w, r)
		case host == "sandbox.web.squarecdn.com" && r.URL.Path == "/v1/square.js":
			script(w, r, fmt.Sprintf(squareJS, ms))
		case host == "sandbox.web.squarecdn.com" && r.URL.Path == "/1.0/card/single-card-element-iframe.html":
			frame(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	u, _ := url.Parse(p.URL)
	p.port = u.Port()
	t.Cleanup(func() { close(p.quit); p.Close() })
	return p
}

// payBrowser is a browser of its own: the vendors' names resolve to
// loopback, and the test server's certificate is accepted for them.
func payBrowser(t *testing.T) *Browser {
	t.Helper()
	o := testOptions(browsertest.Chromium(t))
	o.HostResolverRules = payResolverRules
	o.ExtraFlags = append(o.ExtraFlags, "ignore-certificate-errors")
	b, err := Launch(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// TestWaitForPayment: each gateway's field is timed from the page's
// navigation start to its iframe's load (PayPal: to its frame being
// shown), not to the wrapper's appearance; a failed SDK script fails the
// step at once as assertion naming it (redacted); a hanging script, an
// iframe that never loads or a frame never shown fail as timeout naming
// what was not reached.
func TestWaitForPayment(t *testing.T) {
	b := payBrowser(t)
	srv := newPayServer(t)
	shop := func(path string) string { return srv.at("shop."+testTLD, path) }
	ready := float64((payScriptDelay + payMountDelay + payFrameDelay).Milliseconds())
	tests := []struct {
		name     string
		page     string
		provider probe.PaymentProvider
		timeout  time.Duration
		lo       float64 // payment_ready_ms bounds when ok
		kind     probe.FailureKind
		msg      []string // in the failure's message
		notMsg   string
		maxTook  time.Duration // the wait step's duration at most
	}{
		{name: "stripe ready", page: "/checkout/stripe", provider: probe.PaymentStripe, lo: ready},
		{name: "stripe versioned release ready", page: "/checkout/stripe?sdk=/basil/stripe.js", provider: probe.PaymentStripe, lo: ready},
		{name: "paypal ready once shown", page: "/checkout/paypal", provider: probe.PaymentPayPal, lo: ready + float64(payRevealDelay.Milliseconds())},
		{name: "square ready", page: "/checkout/square", provider: probe.PaymentSquare, lo: ready},
		{name: "stripe script 404", page: "/checkout/stripe?fail=404", provider: probe.PaymentStripe, timeout: 10 * time.Second,
			kind: probe.FailureAssertion, msg: []string{"Stripe.js", "https://js.stripe.com:" + srv.port + "/v3/?fail=404", "HTTP 404"}, maxTook: 4 * time.Second},
		{name: "paypal script 500, redacted", page: "/checkout/paypal?fail=500&access_token=s3cr3t-tok", provider: probe.PaymentPayPal, timeout: 10 * time.Second,
			kind: probe.FailureAssertion, msg: []string{"PayPal JS SDK", "www.paypal.com:" + srv.port + "/sdk/js?client-id=sb", "HTTP 500"}, notMsg: "s3cr3t-tok", maxTook: 4 * time.Second},
		{name: "square script never answers", page: "/checkout/square?fail=hang", provider: probe.PaymentSquare, timeout: 2 * time.Second,
			kind: probe.FailureTimeout, msg: []string{"Square Web Payments SDK", "sandbox.web.squarecdn.com:" + srv.port + "/v1/square.js", "did not finish loading"}},
		{name: "paypal frame navigated, never loads", page: "/checkout/paypal?frame=hang", provider: probe.PaymentPayPal, timeout: 3 * time.Second,
			kind: probe.FailureTimeout, msg: []string{"paypal iframe iframe.component-frame in .paypal-buttons", "did not load"}},
		{name: "stripe iframe never loads", page: "/checkout/stripe?frame=hang", provider: probe.PaymentStripe, timeout: 3 * time.Second,
			kind: probe.FailureTimeout, msg: []string{"stripe iframe", "elements-inner-card", ".__PrivateStripeElement", "did not load"}},
		{name: "paypal frame never shown", page: "/checkout/paypal?reveal=never", provider: probe.PaymentPayPal, timeout: 4 * time.Second,
			kind: probe.FailureTimeout, msg: []string{"paypal iframe iframe.component-frame", "not visible"}},
		{name: "a page without the gateway", page: "/plain", provider: probe.PaymentSquare, timeout: 2 * time.Second,
			kind: probe.FailureTimeout, msg: []string{"was never requested", ".sq-card-iframe-container"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			j := probe.Journey{Name: "pay", Timeout: 40 * time.Second, Steps: []probe.Step{
				{Action: probe.ActionGoto, URL: shop("/plain"), Page: "cart"},
				{Action: probe.ActionGoto, URL: shop(tc.page), Page: "payment"},
				{Action: probe.ActionWaitForPayment, Payment: tc.provider, Timeout: tc.timeout},
			}}
			res := b.RunJourney(context.Background(), probe.Check{Name: "pay", Type: probe.TypeJourney}, j, "")
			if testing.Verbose() {
				out, _ := json.MarshalIndent(res, "", " ")
				t.Logf("%s", out)
			}
			if len(res.Steps) != 3 || len(res.Pages) != 2 {
				t.Fatalf("%d steps, %d pages, want 3 and 2 (failure %v)", len(res.Steps), len(res.Pages), res.Failure)
			}
			if p := res.Pages[0]; p.PaymentProvider != "" || p.PaymentReadyMS != nil {
				t.Errorf("page %s was not waited on, has payment %q %v", p.Name, p.PaymentProvider, p.PaymentReadyMS)
			}
			pay, step := res.Pages[1], res.Steps[2]
			if pay.PaymentProvider != string(tc.provider) {
				t.Errorf("payment_provider %q, want %q", pay.PaymentProvider, tc.provider)
			}
			if tc.kind == "" {
				if !res.OK {
					t.Fatalf("failed: %v", res.Failure)
				}
				within(t, "payment_ready_ms", must(t, pay.PaymentReadyMS, "payment_ready_ms"), tc.lo, tc.lo+payUpper)
				return
			}
			if res.OK || res.Failure == nil || res.Failure.Kind != tc.kind || step.Failure == nil {
				t.Fatalf("ok=%v failure=%v, want %s on the wait step", res.OK, res.Failure, tc.kind)
			}
			for _, m := range tc.msg {
				if !strings.Contains(res.Failure.Message, m) {
					t.Errorf("message %q does not name %q", res.Failure.Message, m)
				}
			}
			if tc.notMsg != "" && strings.Contains(res.Failure.Message, tc.notMsg) {
				t.Errorf("message %q shows the secret", res.Failure.Message)
			}
			if pay.PaymentReadyMS != nil {
				t.Errorf("payment_ready_ms %v on a field that was not ready", *pay.PaymentReadyMS)
			}
			took := time.Duration(step.DurationMS * float64(time.Millisecond))
			if tc.kind == probe.FailureTimeout && (took < tc.timeout || took > tc.timeout+4*time.Second) {
				t.Errorf("timed out after %s, want about %s", took, tc.timeout)
			}
			if tc.maxTook > 0 && took > tc.maxTook {
				t.Errorf("failed after %s, want at once (under %s)", took, tc.maxTook)
			}
		})
	}
}

// TestBrowsePayment: a browser check's payment key waits the same way once
// the page settled, and its JSON carries the two keys.
func TestBrowsePayment(t *testing.T) {
	b := payBrowser(t)
	srv := newPayServer(t)
	ready := float64((payScriptDelay + payMountDelay + payFrameDelay + payRevealDelay).Milliseconds())
	c := probe.Check{Name: "pay", Type: probe.TypeBrowser, URL: srv.at("shop."+testTLD, "/checkout/paypal"), Timeout: 30 * time.Second,
		Browser: probe.BrowserSpec{Payment: probe.PaymentPayPal}}
	res := b.Browse(context.Background(), c)
	if !res.OK {
		t.Fatalf("failed: %v", res.Failure)
	}
	within(t, "payment_ready_ms", must(t, res.PaymentReadyMS, "payment_ready_ms"), ready, ready+payUpper)
	out, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(out, &keys); err != nil {
		t.Fatal(err)
	}
	if keys["payment_provider"] != "paypal" || keys["payment_ready_ms"] == nil {
		t.Errorf("JSON payment_provider %v, payment_ready_ms %v", keys["payment_provider"], keys["payment_ready_ms"])
	}

	c.URL = srv.at("shop."+testTLD, "/checkout/paypal?fail=404")
	c.Timeout = 15 * time.Second
	res = b.Browse(context.Background(), c)
	if res.OK || res.Failure == nil || res.Failure.Kind != probe.FailureAssertion || res.Failure.Phase != PhasePayment ||
		!strings.Contains(res.Failure.Message, "/sdk/js") {
		t.Fatalf("a failed SDK: ok=%v failure=%v, want assertion in phase payment naming the script", res.OK, res.Failure)
	}
	if res.PaymentProvider != "paypal" || res.PaymentReadyMS != nil {
		t.Errorf("failed wait recorded provider %q ready %v", res.PaymentProvider, res.PaymentReadyMS)
	}
}

// TestGatewayScriptURLs: the SDK scripts each vendor documents are the
// gateway's script; the scripts and documents its own frames load are not.
func TestGatewayScriptURLs(t *testing.T) {
	for _, tc := range []struct {
		provider probe.PaymentProvider
		url      string
		want     bool
	}{
		{probe.PaymentStripe, "https://js.stripe.com/v3/", true},
		{probe.PaymentStripe, "https://js.stripe.com/v3", true},
		{probe.PaymentStripe, "https://js.stripe.com/basil/stripe.js", true},
		{probe.PaymentStripe, "https://js.stripe.com/clover/stripe.js", true},
		{probe.PaymentStripe, "https://js.stripe.com/v3/fingerprinted/js/elements-inner-card-8c7ea2a5.js", false},
		{probe.PaymentStripe, "https://js.stripe.com/v3/elements-inner-card-8c7ea2a5.html", false},
		{probe.PaymentStripe, "https://m.stripe.network/inner.html", false},
		{probe.PaymentStripe, "https://www.paypal.com/sdk/js?client-id=sb", false},
		{probe.PaymentPayPal, "https://www.paypal.com/sdk/js?client-id=sb&currency=EUR", true},
		{probe.PaymentPayPal, "https://www.sandbox.paypal.com/sdk/js?client-id=sb", true},
		{probe.PaymentPayPal, "https://www.paypal.com/smart/buttons?env=production", false},
		{probe.PaymentPayPal, "https://www.paypalobjects.com/api/checkout.js", false},
		{probe.PaymentSquare, "https://web.squarecdn.com/v1/square.js", true},
		{probe.PaymentSquare, "https://sandbox.web.squarecdn.com/v1/square.js", true},
		{probe.PaymentSquare, "https://web.squarecdn.com/1.77.0/card-iframe.js", false},
		{probe.PaymentSquare, "https://js.squareup.com/v2/paymentform", false},
	} {
		g, ok := gatewayOf(tc.provider)
		u, err := url.Parse(tc.url)
		if !ok || err != nil {
			t.Fatalf("%s %s: %v %v", tc.provider, tc.url, ok, err)
		}
		if got := g.isScript(u); got != tc.want {
			t.Errorf("%s: %s is its script = %v, want %v", tc.provider, tc.url, got, tc.want)
		}
	}
	if _, ok := gatewayOf("adyen"); ok {
		t.Error("an unknown provider has a gateway")
	}
}
