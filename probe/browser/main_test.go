package browser

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/browser/browsertest"
)

// testResolverRules answers names under testTLD with loopback (a shop and
// its third parties, each a registrable domain of its own, all served by
// one test server) and every other name with NXDOMAIN, so no test ever
// reaches the system resolver or leaves loopback.
const testResolverRules = "MAP *." + testTLD + " 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

// testTLD is the top-level domain of the tests' host names ("example" is
// reserved for documentation, RFC 2606, and is not on the Public Suffix
// List: shop.example is a registrable domain).
const testTLD = "example"

// warm is the package's one warm browser, launched by TestMain when there
// is a Chromium to start; tests reach it through sharedBrowser.
var warm *Browser

func TestMain(m *testing.M) {
	chromium := browsertest.Find()
	if chromium.Path == "" {
		// No browser to start: the tests that need one skip or fail by
		// browsertest's rule, and the others still run.
		os.Exit(m.Run())
	}
	b, err := Launch(context.Background(), testOptions(chromium.Path))
	if err != nil {
		fmt.Fprintln(os.Stderr, "launch:", err)
		os.Exit(1)
	}
	warm = b
	code := m.Run()
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		code = 1
	}
	os.Exit(code)
}

// sharedBrowser returns the warm browser, or skips or fails tb by
// browsertest's rule when there is no Chromium.
func sharedBrowser(tb testing.TB) *Browser {
	tb.Helper()
	browsertest.Chromium(tb)
	if warm == nil {
		tb.Fatal("no warm browser: TestMain found no Chromium where this test finds one (did the environment change?)")
	}
	return warm
}

// TestDefaultPathAgreesWithBrowsertest keeps the tests' default Chromium
// where Launch looks by default (browsertest cannot import this package).
func TestDefaultPathAgreesWithBrowsertest(t *testing.T) {
	if browsertest.DefaultPath != DefaultPath {
		t.Errorf("browsertest.DefaultPath %q, browser.DefaultPath %q", browsertest.DefaultPath, DefaultPath)
	}
}

func testOptions(chromium string) Options {
	o := Options{Path: chromium, HostResolverRules: testResolverRules, MaxConcurrent: 4, Version: "test"}
	if os.Getenv("STOREPROBE_TEST_LOG") != "" {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return o
}

// noisyPNG is an image Chrome accepts as an LCP candidate: random pixels,
// far above the 0.05 bits-per-pixel floor for "low-entropy" images.
func noisyPNG(w, h int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(rng.Intn(256)), uint8(rng.Intn(256)), uint8(rng.Intn(256)), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// shopServer serves pages of known behaviour.
type shopServer struct {
	*httptest.Server
	hero        []byte
	stars       int           // bytes of /truth/stars.png
	quit        chan struct{} // closed at cleanup: releases hanging handlers
	slowHit     chan struct{} // /slow-doc was asked for
	cookieSeen  atomic.Int32  // requests to /cookie that carried our cookie
	cookieTotal atomic.Int32
}

const pageHead = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>%s</title>
<link rel="icon" href="data:,"><style>body{margin:0;font:16px sans-serif}</style></head><body>`

func newShop(t testing.TB) *shopServer {
	s := &shopServer{hero: noisyPNG(480, 320, 1), quit: make(chan struct{}), slowHit: make(chan struct{}, 1)}
	mux := http.NewServeMux()
	page := func(title, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, pageHead+"%s</body></html>", title, body)
		}
	}
	// A small text paints first; the hero image arrives after ?delay ms.
	mux.HandleFunc("/hero", page("hero", `<p>Welcome</p><img id="hero" class="banner wide" src="/img/hero.png?delay=800" width="480" height="320">`))
	mux.HandleFunc("/img/hero.png", func(w http.ResponseWriter, r *http.Request) {
		if d, _ := strconv.Atoi(r.URL.Query().Get("delay")); d > 0 {
			select {
			case <-time.After(time.Duration(d) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "image/png")
		w.Write(s.hero)
	})
	// #shifted (full width, 400 px high) is pushed down 300 px by a block
	// inserted above it 300 ms after load: see TestBrowseCLS for the score.
	mux.HandleFunc("/shift", page("shift", `<div id="top"></div><div id="shifted" style="height:400px;background:#c33">shifted</div>
<script>addEventListener('load', () => setTimeout(() => {
  const d = document.getElementById('top'); d.style.height = '300px'; d.style.background = '#33c';
}, 300));</script>`))
	// A click that opens a 300 px panel above the content: an expected
	// shift, right after input, that CLS must not count.
	mux.HandleFunc("/shift-on-click", page("shift on click", `<div id="panel"></div><button id="open" style="width:200px;height:60px">More</button><div style="height:400px;background:#3c3">content</div>
<script>document.getElementById('open').addEventListener('click', () => {
  document.getElementById('panel').style.height = '300px';
});</script>`))
	// A click handler that blocks the main thread for 300 ms.
	mux.HandleFunc("/slow-click", page("slow click", `<button id="slow" style="width:200px;height:60px">Buy</button><p id="out"></p>
<script>document.getElementById('slow').addEventListener('click', () => {
  const end = performance.now() + 300; while (performance.now() < end) {}
  document.getElementById('out').textContent = 'clicked';
});</script>`))
	// A page whose response never comes.
	mux.HandleFunc("/never", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-s.quit:
		case <-time.After(2 * time.Minute):
		}
	})
	mux.HandleFunc("/plain", page("plain", `<h1>Plain</h1><p>Nothing special.</p>`))
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such product", http.StatusNotFound)
	})
	mux.HandleFunc("/cookie", func(w http.ResponseWriter, r *http.Request) {
		s.cookieTotal.Add(1)
		if c, err := r.Cookie("cart"); err == nil && c.Value == "42" {
			s.cookieSeen.Add(1)
		}
		http.SetCookie(w, &http.Cookie{Name: "cart", Value: "42", Path: "/", MaxAge: 3600})
		page("cookie", `<p>cookie set</p>`)(w, r)
	})
	mux.HandleFunc("/throws", page("throws", `<p>broken</p><script>setTimeout(() => { throw new Error('boom at checkout') }, 0)</script>`))
	// A small shop for journeys: home (delayed hero) -> product (a layout
	// shift) -> cart (a slow button, a form) -> done.
	mux.HandleFunc("/j/home", page("home", `<p>Welcome</p><img id="hero" src="/img/hero.png?delay=800" width="480" height="320">
<p><a id="to-product" href="/j/product">Our product</a></p>`))
	mux.HandleFunc("/j/product", page("product", `<div id="top"></div><div id="shifted" style="height:400px;background:#c33">product</div>
<a id="to-cart" href="/j/cart" style="position:fixed;bottom:0;left:0">Cart</a>
<script>addEventListener('load', () => setTimeout(() => { document.getElementById('top').style.height = '300px'; }, 300));</script>`))
	mux.HandleFunc("/j/cart", page("cart", `<h1>Cart</h1><button id="slow" style="width:200px;height:60px">Update</button><p id="out"></p>
<input id="email" type="email"><select id="country"><option value="FR">France</option><option value="DE">Germany</option></select>
<p id="chosen"></p><button id="checkout">Checkout</button>
<script>
document.getElementById('slow').addEventListener('click', () => {
  const end = performance.now() + 300; while (performance.now() < end) {}
  document.getElementById('out').textContent = 'Added to cart';
});
document.getElementById('country').addEventListener('change', (e) => { document.getElementById('chosen').textContent = 'ship to ' + e.target.value; });
document.getElementById('checkout').addEventListener('click', () => {
  const end = performance.now() + 300; while (performance.now() < end) {}
  location.href = '/j/done';
});
</script>`))
	mux.HandleFunc("/j/done", page("done", `<h1>Thank you</h1>`))
	// A hostile page: it calls the collector's binding in a loop with
	// forged reports, from its own window and from two frames (an
	// about:blank one and a same-origin one), and counts the calls that
	// went through in its title.
	mux.HandleFunc("/spoof", page("spoof", `<p>spoof</p><iframe id="f1"></iframe><iframe id="f2" src="/plain"></iframe>
<script>
const forge = (w, i) => {
  try {
    w.__storeprobeVitals(JSON.stringify({id: 'x' + i, seq: 1e6, url: 'http://evil/' + 'y'.repeat(100),
      fcp: 1, lcp: 1, lcp_element: 'z'.repeat(100), cls: 9, inp: 9999, interactions: 1}));
    return 1;
  } catch (_) { return 0; }
};
let hits = 0, i = 0;
const tick = setInterval(() => {
  for (let k = 0; k < 50; k++) {
    i++;
    for (const w of [window, document.getElementById('f1').contentWindow, document.getElementById('f2').contentWindow]) hits += forge(w, i);
  }
  if (i >= 2000) { clearInterval(tick); document.title = 'hits ' + hits; }
}, 5);
</script>`))
	// Interactions that navigate without a handler doing it: a link and
	// a form's submit button, each with a 300 ms click listener.
	mux.HandleFunc("/navclick", page("navclick", `<p><a id="link" href="/j/done" style="font-size:40px">Checkout</a></p>
<form action="/j/done"><input name="q" value="x"><button id="submit" style="width:200px;height:60px">Search</button></form>
<script>for (const id of ['link', 'submit']) document.getElementById(id).addEventListener('click', () => {
  const end = performance.now() + 300; while (performance.now() < end) {}
});</script>`))
	// A button whose click handler does nothing: its interaction is far
	// under Event Timing's 16 ms threshold.
	mux.HandleFunc("/fast", page("fast", `<button id="acc" style="width:200px;height:60px">Accept</button><script>document.getElementById('acc').addEventListener('click', () => {});</script>`))
	// A page 200,000 px tall.
	mux.HandleFunc("/tall", page("tall", `<div style="height:200000px;background:linear-gradient(#fff,#38c)">tall</div>`))
	// A form whose secret field's text is pure red and other field's
	// pure blue, large, so a screenshot shows either as such pixels.
	mux.HandleFunc("/secret-form", page("secret form", `<input id="email" type="email" style="display:block;font:bold 40px sans-serif;width:1000px;height:70px;color:#f00;border:0;outline:0;caret-color:transparent">
<input id="name" style="display:block;font:bold 40px sans-serif;width:1000px;height:70px;color:#00f;border:0;outline:0;caret-color:transparent">`))
	// 300 fetches and 12 frames: more requests and documents than the
	// lowered limits of TestTrackerBoundsPerRun.
	mux.HandleFunc("/fetchloop", page("fetchloop", `<p id="out">fetching</p><script>
(async () => {
  for (let i = 0; i < 12; i++) { const f = document.createElement('iframe'); f.src = '/ping?frame=' + i; document.body.appendChild(f); }
  for (let b = 0; b < 30; b++) await Promise.all(Array.from({length: 10}, (_, k) => fetch('/ping?n=' + (b * 10 + k))));
  document.getElementById('out').textContent = 'done';
})();
</script>`))
	mux.HandleFunc("/ping", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	// Client-rendered content: a small header paints at once, the cart's
	// text is rendered by script 700 ms after navigation start, after load.
	mux.HandleFunc("/late", page("late", `<h1 style="font-size:14px">Shop</h1><main id="main"></main>
<script>setTimeout(() => {
  document.getElementById('main').innerHTML = '<p id="cart" style="font-size:48px;width:900px">Your cart: 3 items, total 129.00 EUR. Free shipping from 50 EUR.</p>';
}, 700 - performance.now());</script>`))
	// A page that posts a small beacon every 250 ms for as long as it is
	// open: never network-idle, never busy.
	mux.HandleFunc("/beacon", page("beacon", `<h1>Beacons</h1><p>analytics every 250 ms</p>
<script>setInterval(() => navigator.sendBeacon('/ping', 'x'), 250);</script>`))
	// The document answers after 1.5 s; s.slowHit is signaled when it is
	// asked for.
	mux.HandleFunc("/slow-doc", func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slowHit <- struct{}{}:
		default:
		}
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		}
		page("slow doc", `<p>late</p>`)(w, r)
	})
	s.addTruthPages(mux)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	t.Cleanup(func() { close(s.quit) })
	return s
}

// closedPort returns a loopback URL nobody listens on.
func closedPort(t testing.TB) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

func within(t *testing.T, name string, got, lo, hi float64) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %.4f, want in [%.4f, %.4f]", name, got, lo, hi)
	}
}

func must(t *testing.T, p *float64, name string) float64 {
	t.Helper()
	if p == nil {
		t.Fatalf("%s not measured", name)
	}
	return *p
}

func contains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
