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
)

// testResolverRules answers every name inside Chrome with NXDOMAIN, so no
// test ever reaches the system resolver or leaves loopback.
const testResolverRules = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"

// shared is the package's one warm browser (TestMain).
var shared *Browser

func TestMain(m *testing.M) {
	if _, err := os.Stat(DefaultPath); err != nil {
		fmt.Fprintln(os.Stderr, "chromium not installed at", DefaultPath)
		os.Exit(1)
	}
	b, err := Launch(context.Background(), testOptions())
	if err != nil {
		fmt.Fprintln(os.Stderr, "launch:", err)
		os.Exit(1)
	}
	shared = b
	code := m.Run()
	if err := b.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
		code = 1
	}
	os.Exit(code)
}

func testOptions() Options {
	o := Options{HostResolverRules: testResolverRules, MaxConcurrent: 4, Version: "test"}
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
	quit        chan struct{} // closed at cleanup: releases hanging handlers
	cookieSeen  atomic.Int32  // requests to /cookie that carried our cookie
	cookieTotal atomic.Int32
}

const pageHead = `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>%s</title>
<link rel="icon" href="data:,"><style>body{margin:0;font:16px sans-serif}</style></head><body>`

func newShop(t testing.TB) *shopServer {
	s := &shopServer{hero: noisyPNG(480, 320, 1), quit: make(chan struct{})}
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
