// Package demoshop is the built-in demo storefront `storeprobe demo` runs
// against: a small but real shop (HTML, CSS, JavaScript, photos) with home,
// search, product, cart and checkout pages, a fake payment gateway that
// never charges anything, a deliberately slow search page and an inventory
// API that fails on a fixed schedule, so the demo's measurements and
// uptime are predictable. It needs no network and no files.
package demoshop

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for Options' zero values.
const (
	DefaultSearchDelay = 2 * time.Second
	DefaultFailEvery   = 5
	DefaultPayDelay    = 250 * time.Millisecond
)

// Options configure a Shop. The zero value is the demo's behaviour.
type Options struct {
	// SearchDelay is how long /search takes before answering: the demo's
	// deliberately slow page. 0 means DefaultSearchDelay; negative, none.
	SearchDelay time.Duration
	// FailEvery makes every FailEvery-th request to /api/inventory answer
	// 503 (the 5th, 10th ...), so its uptime is exactly 1 - 1/FailEvery.
	// 0 means DefaultFailEvery; negative, never.
	FailEvery int
	// PayDelay is the fake gateway's latency on /api/pay. 0 means
	// DefaultPayDelay; negative, none.
	PayDelay time.Duration
	// CDN adds the response headers of a CDN in front of the shop:
	// "cloudflare", "fastly" or "" for none.
	CDN string
	// Vendors makes every page load a GA4 tag (gtag.js from
	// www.googletagmanager.com, measurement id GA4ID) and the checkout mount
	// a Stripe Card Element (js.stripe.com/v3/). Those are real vendor
	// hosts: a browser must map VendorHosts to StartVendors' server (Chrome's
	// --host-resolver-rules, VendorResolverRules), so it is off by default.
	Vendors bool
	// Logger receives server errors; nil discards them.
	Logger *slog.Logger
}

// Shop is the demo storefront, an http.Handler.
type Shop struct {
	opts     Options
	log      *slog.Logger
	mux      *http.ServeMux
	products []Product
	pages    map[string]*template.Template
	static   map[string]asset
	images   map[string]*lazyImage

	// gatewaysDown are the payment gateways whose health endpoint answers
	// 503 (SetGatewayDown): the demo's planted outage.
	gatewaysDown      sync.Map
	inventoryRequests atomic.Int64
	payments          atomic.Int64
	requests          atomic.Int64
}

type asset struct {
	data        []byte
	contentType string
	etag        string
}

//go:embed web
var web embed.FS

// Country is one shipping destination of the checkout's country select.
type Country struct{ Code, Name string }

var countries = []Country{
	{"AT", "Austria"}, {"DE", "Germany"}, {"FR", "France"}, {"NL", "Netherlands"},
	{"GB", "United Kingdom"}, {"US", "United States"},
}

// New returns a Shop. It panics only if its embedded templates are broken,
// which the package's tests rule out.
func New(opts Options) *Shop {
	if opts.SearchDelay == 0 {
		opts.SearchDelay = DefaultSearchDelay
	}
	if opts.FailEvery == 0 {
		opts.FailEvery = DefaultFailEvery
	}
	if opts.PayDelay == 0 {
		opts.PayDelay = DefaultPayDelay
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Shop{
		opts:     opts,
		log:      log,
		products: catalog(),
		pages:    map[string]*template.Template{},
		static:   map[string]asset{},
		images:   map[string]*lazyImage{},
	}
	s.loadTemplates()
	s.loadStatic()
	s.images["hero.jpg"] = &lazyImage{paint: paintHero}
	s.images["favicon.png"] = &lazyImage{paint: paintFavicon}
	for _, p := range s.products {
		s.images[p.Slug+".jpg"] = &lazyImage{paint: func() []byte { return paintProduct(p.Slug, p.Hue) }}
	}

	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("GET /search", s.searchPage)
	m.HandleFunc("GET /products/{slug}", s.productPage)
	m.HandleFunc("GET /cart", s.cartPage)
	m.HandleFunc("POST /cart/add", s.cartAdd)
	m.HandleFunc("GET /checkout", s.checkoutPage)
	m.HandleFunc("POST /api/pay", s.pay)
	// Explicit, or the catch-all below would answer other methods with 404.
	m.HandleFunc("/api/pay", postOnly)
	m.HandleFunc("/cart/add", postOnly)
	m.HandleFunc("GET /api/inventory", s.inventory)
	m.HandleFunc("GET /payments/{gateway}/health", s.gatewayHealth)
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	m.HandleFunc("GET /static/{file}", s.serveStatic)
	m.HandleFunc("GET /images/{file}", s.serveImage)
	m.HandleFunc("/", s.notFound)
	s.mux = m
	return s
}

func (s *Shop) loadTemplates() {
	funcs := template.FuncMap{"eur": formatEUR}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(web, "web/layout.html"))
	for _, page := range []string{"home", "search", "product", "cart", "checkout", "notfound"} {
		t := template.Must(template.Must(layout.Clone()).ParseFS(web, "web/"+page+".html"))
		s.pages[page] = t
	}
}

func (s *Shop) loadStatic() {
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
	entries, _ := fs.ReadDir(web, "web/static")
	for _, e := range entries {
		data, _ := fs.ReadFile(web, "web/static/"+e.Name())
		s.static[e.Name()] = asset{data: data, contentType: types[path.Ext(e.Name())], etag: etag(data)}
	}
}

// Warm paints every product photo now instead of on first request, so the
// first measured page load is not slowed by the shop itself.
func (s *Shop) Warm() {
	for _, img := range s.images {
		img.bytes()
	}
}

// ServeHTTP serves the shop.
func (s *Shop) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := s.requests.Add(1)
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	cached := strings.HasPrefix(r.URL.Path, "/static/") || strings.HasPrefix(r.URL.Path, "/images/")
	switch s.opts.CDN {
	case "cloudflare":
		h.Set("Server", "cloudflare")
		h.Set("CF-Ray", fmt.Sprintf("%016x-FRA", uint64(n)*0x9e3779b97f4a7c15))
		if cached {
			h.Set("CF-Cache-Status", "HIT")
		} else {
			h.Set("CF-Cache-Status", "DYNAMIC")
		}
	case "fastly":
		h.Set("Via", "1.1 varnish")
		h.Set("X-Served-By", "cache-fra-etou8220029-FRA")
		h.Set("X-Fastly-Request-ID", fmt.Sprintf("%040x", uint64(n)*0x9e3779b97f4a7c15))
		if cached {
			h.Set("X-Cache", "HIT")
			h.Set("X-Cache-Hits", "1")
		} else {
			h.Set("X-Cache", "MISS")
			h.Set("X-Cache-Hits", "0")
		}
	}
	s.mux.ServeHTTP(w, r)
}

// Start serves the shop on a free 127.0.0.1 port until ctx ends or stop is
// called, and returns its base URL (no trailing slash). stop waits for the
// server to shut down. The product photos are painted in the background
// right away; call Warm first to have them all ready before serving.
func (s *Shop) Start(ctx context.Context) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("demo shop listen: %w", err)
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("demo shop stopped", "err", err)
		}
	}()
	stopped := make(chan struct{})
	var once atomic.Bool
	stop = func() {
		if once.Swap(true) {
			<-done
			return
		}
		close(stopped)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		<-done
	}
	go func() {
		select {
		case <-ctx.Done():
			stop()
		case <-stopped:
		}
	}()
	// Paint the photos while the caller gets ready, so the first measured
	// page load does not wait for them; a request meanwhile waits for its
	// own picture only.
	go func() {
		for _, img := range s.images {
			select {
			case <-stopped:
				return
			default:
				img.bytes()
			}
		}
	}()
	return "http://" + ln.Addr().String(), stop, nil
}

// pageData is what every page's layout needs.
type pageData struct {
	Title      string
	Query      string
	CartCount  int
	ShowBanner bool
	Products   []Product
	Product    Product
	Cart       []cartLine
	TotalCents int
	Countries  []Country
	Vendors    bool   // Options.Vendors
	GA4ID      string // the GA4 measurement id, with Vendors
}

type cartLine struct {
	Product    Product
	Qty        int
	TotalCents int
}

func (s *Shop) render(w http.ResponseWriter, r *http.Request, status int, page string, d pageData) {
	d.CartCount = 0
	for _, l := range s.readCart(r) {
		d.CartCount += l.Qty
	}
	if c, err := r.Cookie("consent"); err != nil || c.Value != "1" {
		d.ShowBanner = true
	}
	if s.opts.Vendors {
		d.Vendors, d.GA4ID = true, GA4ID
	}
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout.html", d); err != nil {
		s.log.Error("render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (s *Shop) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", pageData{Title: "Hearth & Field — homeware", Products: s.products})
}

func (s *Shop) searchPage(w http.ResponseWriter, r *http.Request) {
	// The deliberately slow page: a search backend having a bad day.
	if s.opts.SearchDelay > 0 {
		t := time.NewTimer(s.opts.SearchDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	s.render(w, r, http.StatusOK, "search", pageData{Title: "Search: " + q, Query: q, Products: s.search(q)})
}

func (s *Shop) productPage(w http.ResponseWriter, r *http.Request) {
	p, ok := s.product(r.PathValue("slug"))
	if !ok {
		s.notFound(w, r)
		return
	}
	s.render(w, r, http.StatusOK, "product", pageData{Title: p.Name, Product: p})
}

func (s *Shop) cartPage(w http.ResponseWriter, r *http.Request) {
	lines := s.readCart(r)
	total := 0
	for _, l := range lines {
		total += l.TotalCents
	}
	s.render(w, r, http.StatusOK, "cart", pageData{Title: "Your cart", Cart: lines, TotalCents: total})
}

func (s *Shop) checkoutPage(w http.ResponseWriter, r *http.Request) {
	lines := s.readCart(r)
	total := 0
	for _, l := range lines {
		total += l.TotalCents
	}
	s.render(w, r, http.StatusOK, "checkout", pageData{Title: "Checkout", Cart: lines, TotalCents: total, Countries: countries})
}

func (s *Shop) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "notfound", pageData{Title: "Not found"})
}

// The cart lives in a cookie ("slug:qty|slug:qty"), so the shop keeps no
// state per shopper and a fresh browser context starts empty.
const (
	cartCookie   = "cart"
	maxCartLines = 20
	maxQty       = 99
)

func (s *Shop) readCart(r *http.Request) []cartLine {
	c, err := r.Cookie(cartCookie)
	if err != nil {
		return nil
	}
	var out []cartLine
	for _, item := range strings.Split(c.Value, "|") {
		slug, qs, ok := strings.Cut(item, ":")
		qty, err := strconv.Atoi(qs)
		p, known := s.product(slug)
		if !ok || err != nil || qty < 1 || qty > maxQty || !known || len(out) == maxCartLines {
			continue // a tampered or stale line is dropped, not trusted
		}
		out = append(out, cartLine{Product: p, Qty: qty, TotalCents: qty * p.PriceCents})
	}
	return out
}

func writeCart(w http.ResponseWriter, lines []cartLine) {
	parts := make([]string, len(lines))
	for i, l := range lines {
		parts[i] = l.Product.Slug + ":" + strconv.Itoa(l.Qty)
	}
	http.SetCookie(w, &http.Cookie{
		Name: cartCookie, Value: strings.Join(parts, "|"), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 7 * 24 * 3600,
	})
}

func (s *Shop) cartAdd(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	p, ok := s.product(r.PostForm.Get("slug"))
	if !ok {
		jsonError(w, http.StatusNotFound, "unknown product")
		return
	}
	if p.Stock == 0 {
		jsonError(w, http.StatusConflict, "out of stock")
		return
	}
	qty := 1
	if q := r.PostForm.Get("qty"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > maxQty {
			jsonError(w, http.StatusBadRequest, "quantity must be 1 to 99")
			return
		}
		qty = n
	}
	lines := s.readCart(r)
	found := false
	for i := range lines {
		if lines[i].Product.Slug == p.Slug {
			lines[i].Qty = min(maxQty, lines[i].Qty+qty)
			found = true
		}
	}
	if !found && len(lines) < maxCartLines {
		lines = append(lines, cartLine{Product: p, Qty: qty})
	}
	writeCart(w, lines)
	count := 0
	for _, l := range lines {
		count += l.Qty
	}
	// Without JavaScript the form posts here and lands on the cart.
	if !strings.Contains(r.Header.Get("Accept"), "application/json") {
		http.Redirect(w, r, "/cart", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"added": p.Slug, "count": count})
}

// pay mimics a payment gateway's authorisation in test mode: it validates
// the request, takes a gateway's time, and answers approved or declined.
// Nothing is charged and the e-mail is neither logged nor kept.
func (s *Shop) pay(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email   string `json:"email"`
		Country string `json:"country"`
	}
	body := http.MaxBytesReader(w, r.Body, 4<<10)
	if err := json.NewDecoder(body).Decode(&req); err != nil {
		jsonError(w, http.StatusBadRequest, "want a JSON body with email and country")
		return
	}
	lines := s.readCart(r)
	total := 0
	for _, l := range lines {
		total += l.TotalCents
	}
	if s.opts.PayDelay > 0 {
		t := time.NewTimer(s.opts.PayDelay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
	}
	decline := func(reason string) {
		writeJSON(w, http.StatusPaymentRequired, map[string]any{"status": "declined", "reason": reason, "test_mode": true, "charged": false})
	}
	if addr, err := mail.ParseAddress(req.Email); err != nil || addr.Address != req.Email {
		decline("invalid e-mail address")
		return
	}
	known := false
	for _, c := range countries {
		known = known || c.Code == req.Country
	}
	if !known {
		decline("we do not ship to that country")
		return
	}
	if total == 0 {
		decline("the cart is empty")
		return
	}
	id := fmt.Sprintf("pay_test_%06d", s.payments.Add(1))
	writeCart(w, nil) // the order is placed: empty the cart
	writeJSON(w, http.StatusOK, map[string]any{
		"status": "approved", "id": id, "amount": total, "currency": "EUR", "test_mode": true, "charged": false,
	})
}

// inventory is the intermittently failing endpoint: request n fails when
// n is a multiple of FailEvery, counted over all its requests.
func (s *Shop) inventory(w http.ResponseWriter, r *http.Request) {
	n := s.inventoryRequests.Add(1)
	if s.opts.FailEvery > 0 && n%int64(s.opts.FailEvery) == 0 {
		w.Header().Set("Retry-After", "1")
		jsonError(w, http.StatusServiceUnavailable, "inventory backend unavailable")
		return
	}
	type item struct {
		SKU   string `json:"sku"`
		Stock int    `json:"stock"`
	}
	if sku := r.URL.Query().Get("sku"); sku != "" {
		p, ok := s.product(sku)
		if !ok {
			jsonError(w, http.StatusNotFound, "unknown sku")
			return
		}
		writeJSON(w, http.StatusOK, item{p.Slug, p.Stock})
		return
	}
	items := make([]item, len(s.products))
	for i, p := range s.products {
		items[i] = item{p.Slug, p.Stock}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// gatewayHealth mimics the status endpoints payment providers publish, so
// HTTP checks of the payment path have something real to hit.
func (s *Shop) gatewayHealth(w http.ResponseWriter, r *http.Request) {
	gw := r.PathValue("gateway")
	if gw != "stripe" && gw != "paypal" {
		s.notFound(w, r)
		return
	}
	if down, _ := s.gatewaysDown.Load(gw); down == true {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "down", "gateway": gw, "mode": "test"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "gateway": gw, "mode": "test"})
}

// SetGatewayDown makes a payment gateway's health endpoint answer 503
// (down) or 200 again: an outage the demo stages for its alerts.
func (s *Shop) SetGatewayDown(gateway string, down bool) { s.gatewaysDown.Store(gateway, down) }

func (s *Shop) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := s.static[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveAsset(w, r, a.data, a.contentType, a.etag)
}

func (s *Shop) serveImage(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	img, ok := s.images[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	data := img.bytes()
	ct := "image/jpeg"
	if path.Ext(name) == ".png" {
		ct = "image/png"
	}
	serveAsset(w, r, data, ct, etag(data))
}

func serveAsset(w http.ResponseWriter, r *http.Request, data []byte, contentType, tag string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", tag)
	// ServeContent answers If-None-Match with 304 and supports ranges.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
}

func etag(data []byte) string { return fmt.Sprintf(`"%x"`, seed(string(data))) }

func postOnly(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", http.MethodPost)
	jsonError(w, http.StatusMethodNotAllowed, "use POST")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(data, '\n'))
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
