package browser

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Pages whose truth is known by construction: content inserted at a known
// time, long tasks of known length, a known set of third-party requests
// served under other host names (testResolverRules sends them to the same
// loopback server). The tests of the settle rule, blocking time,
// composition and soft navigations use them, and so do the comparisons
// with web-vitals and Lighthouse.

// Sizes of the third-party bodies of /truth/mix.
const (
	tagManagerBytes = 20000
	chatPollBytes   = 5000
)

// named is the URL of path on this server under host.testTLD, which
// Chrome resolves to loopback.
func (s *shopServer) named(host, path string) string {
	u, _ := url.Parse(s.URL)
	return "http://" + host + "." + testTLD + ":" + u.Port() + path
}

// busyJS defines busy(ms), a long task of exactly ms of script.
const busyJS = `const busy = (ms) => { const end = performance.now() + ms; while (performance.now() < end) {} };`

// delayed waits the request's ?delay= ms, or until it is canceled.
func delayed(r *http.Request) bool {
	d, _ := strconv.Atoi(r.URL.Query().Get("delay"))
	if d <= 0 {
		return true
	}
	select {
	case <-time.After(time.Duration(d) * time.Millisecond):
		return true
	case <-r.Context().Done():
		return false
	}
}

// addTruthPages adds the known-truth pages to the test shop.
func (s *shopServer) addTruthPages(mux *http.ServeMux) {
	page := func(title, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, pageHead+"%s</body></html>", title, body)
		}
	}
	static := func(ctype, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if !delayed(r) {
				return
			}
			w.Header().Set("Content-Type", ctype)
			w.Header().Set("Access-Control-Allow-Origin", "*")
			fmt.Fprint(w, body)
		}
	}
	stars := noisyPNG(100, 20, 2)
	s.stars = len(stars)

	// Long tasks of known length: 150 ms in the head, before the first
	// paint (a long task, but no blocking time: TBT counts from FCP), then
	// 200 ms and 120 ms after load from busy.js: TBT 150 + 70 = 220 ms.
	mux.HandleFunc("/truth/tasks", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html><head><meta charset="utf-8"><title>tasks</title><link rel="icon" href="data:,">
<script>{ const end = performance.now() + 150; while (performance.now() < end) {} }</script></head>
<body><h1>Long tasks</h1><p>Three of them.</p><script src="/truth/busy.js"></script></body></html>`)
	})
	mux.HandleFunc("/truth/busy.js", static("text/javascript", busyJS+`
addEventListener('load', () => {
  setTimeout(() => busy(200), 100);
  setTimeout(() => busy(120), 500);
});`))

	// What a page is made of, served as www.shop.example: a render-blocking
	// first-party stylesheet (static.shop.example, 300 ms late), a
	// first-party hero 400 ms late (the LCP), and three third parties: a
	// tag manager (20,000 bytes of script that runs a 150 ms task after
	// load: 100 ms of blocking time), a review app's image and a chat
	// widget's 5,000-byte poll. A first-party inline task of 80 ms adds
	// 30 ms: TBT 130 ms, of which the tag manager's 100.
	mux.HandleFunc("/truth/mix", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><title>mix</title><link rel="icon" href="data:,">
<link rel="stylesheet" href="%s"></head><body><h1>Mix</h1>
<img id="hero" src="/img/hero.png?delay=400" width="480" height="320">
<img id="stars" src="%s" width="100" height="20">
<script async src="%s"></script>
<script>
fetch(%q).then((r) => r.text());
addEventListener('load', () => setTimeout(() => { const end = performance.now() + 80; while (performance.now() < end) {} }, 700));
</script></body></html>`,
			s.named("static.shop", "/truth/site.css?delay=300"), s.named("cdn.reviews", "/truth/stars.png"),
			s.named("tags.tagmgr", "/truth/tm.js"), s.named("api.chatwidget", "/truth/poll"))
	})
	mux.HandleFunc("/truth/site.css", static("text/css", `body{margin:0;font:16px sans-serif} h1{color:#333}`))
	tm := `addEventListener('load', () => setTimeout(function tagManager() { const end = performance.now() + 150; while (performance.now() < end) {} }, 300));`
	mux.HandleFunc("/truth/tm.js", static("text/javascript", tm+"\n/*"+strings.Repeat("x", tagManagerBytes-len(tm)-5)+"*/"))
	mux.HandleFunc("/truth/stars.png", static("image/png", string(stars)))
	mux.HandleFunc("/truth/poll", static("application/json", `{"pad":"`+strings.Repeat("p", chatPollBytes-10)+`"}`))

	// A single-page app: the click on #to-product changes the URL with
	// pushState, shows "Loading…", fetches the product (300 ms late) and
	// renders it; 800 ms later a 100 px block opens above #box (a layout
	// shift of the product view, long after the click). #buy runs a 200 ms
	// handler.
	mux.HandleFunc("/truth/spa", page("spa", spaBody))
	mux.HandleFunc("/truth/spa/", page("spa", spaBody))
	mux.HandleFunc("/truth/api/product", static("application/json",
		`{"name":"Walnut desk","text":"Solid walnut, oiled by hand, 160 by 80 cm, delivered assembled within a week."}`))

	// Pages that never settle: a layout shift every 400 ms, or a long
	// task every 600 ms, for as long as they are open.
	mux.HandleFunc("/truth/restless-shift", page("restless", `<div id="gap"></div><div style="height:300px;background:#39c">restless</div>
<button id="btn" style="width:200px;height:50px">ok</button>
<script>let on = false; setInterval(() => { on = !on; document.getElementById('gap').style.height = on ? '60px' : '0'; }, 400);</script>`))
	mux.HandleFunc("/truth/restless-cpu", page("restless", `<h1>Busy</h1><script>`+busyJS+` setInterval(() => busy(80), 600);</script>`))

	// A document that leaves itself for /plain 200 ms after load.
	mux.HandleFunc("/truth/redirect", page("redirect", `<h1>Moving</h1><script>addEventListener('load', () => setTimeout(() => { location.href = '/plain'; }, 200));</script>`))

	// A background-image LCP 600 ms late; an image without dimensions whose
	// arrival (500 ms late) pushes the 400 px block below it down 320 px; a
	// promo banner injected above the content 400 ms after load; a hero
	// whose src a script sets 300 ms after load.
	mux.HandleFunc("/truth/bg", page("bg", `<p>Background</p><div id="bg" style="width:480px;height:320px;background-image:url(/img/hero.png?delay=600)"></div>`))
	mux.HandleFunc("/truth/nodims", page("nodims", `<img src="/img/hero.png?delay=500" style="display:block"><div style="height:400px;background:#c93">below</div>`))
	mux.HandleFunc("/truth/banner", page("banner", `<div id="slot"></div><div style="height:400px;background:#3c9">content</div>
<script>addEventListener('load', () => setTimeout(() => {
  const b = document.getElementById('slot'); b.style.height = '200px'; b.style.background = '#fc3'; b.textContent = 'Sale: 20 % off';
}, 400));</script>`))
	mux.HandleFunc("/truth/lazy", page("lazy", `<p>Lazy</p><img id="lazyhero" data-src="/img/hero.png" width="480" height="320">
<script>addEventListener('load', () => setTimeout(() => { const i = document.getElementById('lazyhero'); i.src = i.dataset.src; }, 300));</script>`))
	// A hero a script loads after the page's load and reveals 300 ms after
	// its own (a theme's fade-in): it arrives 1.5 s after the text painted,
	// and paints 300 ms after its load event.
	mux.HandleFunc("/truth/reveal", page("reveal", `<p>Reveal</p><img id="revealhero" data-src="/img/hero.png?delay=1500" width="480" height="320" style="opacity:0">
<script>addEventListener('load', () => { const i = document.getElementById('revealhero');
  i.onload = () => setTimeout(() => { i.style.opacity = 1; }, 300); i.src = i.dataset.src; });</script>`))
}

const spaBody = `<nav><button id="to-product" style="width:200px;height:50px">Product</button></nav>
<main id="main"><h1>Home</h1><p>Welcome to the shop.</p></main>
<script>` + busyJS + `
const main = document.getElementById('main');
document.getElementById('to-product').addEventListener('click', () => {
  history.pushState({}, '', '/truth/spa/product');
  main.innerHTML = '<p>Loading…</p>';
  fetch('/truth/api/product?delay=300').then((r) => r.json()).then((p) => {
    main.innerHTML = '<h1 style="font-size:40px">' + p.name + '</h1><p style="font-size:32px;width:1100px">' + p.text + '</p>' +
      '<div id="top"></div><div id="box" style="height:300px;background:#c33">box</div>' +
      '<button id="buy" style="width:200px;height:50px">Buy</button><p id="out"></p>';
    document.getElementById('buy').addEventListener('click', () => { busy(200); document.getElementById('out').textContent = 'bought'; });
    setTimeout(() => { document.getElementById('top').style.height = '100px'; }, 800);
  });
});
</script>`
