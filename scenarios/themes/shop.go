package themes

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"html/template"
	"image"
	"image/color"
	"image/jpeg"
	"io/fs"
	"log"
	mrand "math/rand/v2"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
)

//go:embed web
var web embed.FS

// Options configure a fixture shop. The zero value is a healthy shop.
type Options struct {
	// RefuseAddToCart makes the platform's add-to-cart endpoint refuse
	// every item the way the platform refuses one it cannot sell (Shopify:
	// 422 from /cart/add; Magento: an error message and a redirect back to
	// the product; WooCommerce: a .woocommerce-error notice), so a
	// journey's add-to-cart step can be shown to fail where it should.
	RefuseAddToCart bool
}

// product is one catalog item. Every fixture sells the same four, each a
// simple product with one variant, so the templates' "in stock, no options"
// rule holds.
type product struct {
	ID      int    // platform product id (WooCommerce post id, Magento entity id)
	Variant int    // Shopify variant id
	Handle  string // Shopify handle, Magento url_key, WooCommerce slug
	Title   string
	SKU     string
	Cents   int
}

func (p product) Price() string { return fmt.Sprintf("€%d.%02d", p.Cents/100, p.Cents%100) }

// catalog returns a fresh copy of the catalog: two mugs, so a search for
// "mug" lists more than one result and one for "stoneware mug" exactly one.
func catalog() []product {
	return []product{
		{ID: 101, Variant: 44010001, Handle: "stoneware-mug", Title: "Stoneware Mug", SKU: "SM-01", Cents: 1800},
		{ID: 102, Variant: 44010002, Handle: "enamel-camp-mug", Title: "Enamel Camp Mug", SKU: "EM-02", Cents: 1400},
		{ID: 103, Variant: 44010003, Handle: "linen-apron", Title: "Linen Apron", SKU: "LA-03", Cents: 3900},
		{ID: 104, Variant: 44010004, Handle: "oak-serving-board", Title: "Oak Serving Board", SKU: "OB-04", Cents: 5200},
	}
}

// search is every platform's product search reduced to what the fixtures
// need: every word of q in the title, case-insensitively.
func search(q string) []product {
	words := strings.Fields(strings.ToLower(q))
	if len(words) == 0 {
		return nil
	}
	var out []product
	for _, p := range catalog() {
		title := strings.ToLower(p.Title)
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(title, w) }) {
			out = append(out, p)
		}
	}
	return out
}

func byHandle(h string) (product, bool) {
	i := slices.IndexFunc(catalog(), func(p product) bool { return p.Handle == h })
	if i < 0 {
		return product{}, false
	}
	return catalog()[i], true
}

func byID(id int) (product, bool) {
	i := slices.IndexFunc(catalog(), func(p product) bool { return p.ID == id || p.Variant == id })
	if i < 0 {
		return product{}, false
	}
	return catalog()[i], true
}

// line is a cart line.
type line struct {
	product
	Qty int
}

func (l line) Total() string { return product{Cents: l.Cents * l.Qty}.Price() }

// cart is a session's cart, in the order items were added.
type cart []line

func (c cart) Count() int {
	n := 0
	for _, l := range c {
		n += l.Qty
	}
	return n
}

func (c cart) Subtotal() string {
	cents := 0
	for _, l := range c {
		cents += l.Cents * l.Qty
	}
	return product{Cents: cents}.Price()
}

// notice is a message shown once on the next page (a Magento session
// message, a WooCommerce notice).
type notice struct {
	Type string        // success, error, notice
	HTML template.HTML // the platform's own message markup
}

// sessions is a shop's server-side session store, keyed by the value of the
// platform's session cookie. Journeys run in fresh browser contexts, so a
// session lives as long as one run; the store is only ever as large as the
// runs a test makes.
type sessions struct {
	cookie string // the platform's session cookie name

	mu   sync.Mutex
	byID map[string]*sessionData
}

type sessionData struct {
	cart    cart
	notices []notice
}

func newSessions(cookie string) *sessions {
	return &sessions{cookie: cookie, byID: map[string]*sessionData{}}
}

// id returns the request's session id, starting a session (and setting its
// cookie on w) when the request has none the store knows.
func (s *sessions) id(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.cookie); err == nil {
		s.mu.Lock()
		_, ok := s.byID[c.Value]
		s.mu.Unlock()
		if ok {
			return c.Value
		}
	}
	id := token(16)
	s.mu.Lock()
	s.byID[id] = &sessionData{}
	s.mu.Unlock()
	c := &http.Cookie{Name: s.cookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode}
	http.SetCookie(w, c)
	// Later calls for the same request must find this session, not start
	// another: put the cookie on the request in place of any stale one.
	var keep []string
	for _, k := range r.Cookies() {
		if k.Name != s.cookie {
			keep = append(keep, k.String())
		}
	}
	r.Header.Set("Cookie", strings.Join(append(keep, c.Name+"="+c.Value), "; "))
	return id
}

func (s *sessions) cart(id string) cart {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.byID[id]; d != nil {
		return slices.Clone(d.cart)
	}
	return nil
}

func (s *sessions) add(id string, p product, qty int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.byID[id]
	if d == nil {
		return
	}
	for i := range d.cart {
		if d.cart[i].ID == p.ID {
			d.cart[i].Qty += qty
			return
		}
	}
	d.cart = append(d.cart, line{p, qty})
}

func (s *sessions) flash(id string, n notice) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.byID[id]; d != nil {
		d.notices = append(d.notices, n)
	}
}

// takeNotices returns and forgets the session's pending notices.
func (s *sessions) takeNotices(id string) []notice {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.byID[id]
	if d == nil {
		return nil
	}
	out := d.notices
	d.notices = nil
	return out
}

func token(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// theme is one platform's parsed page templates and static files.
type theme struct {
	pages  *template.Template
	assets map[string][]byte // by file name under web/<platform>/assets
	images map[string][]byte // product photos by handle, JPEG
}

// loadTheme parses web/<dir>/*.html (every file may define templates the
// others use: layouts, snippets, sections) and reads web/<dir>/assets.
func loadTheme(dir string, funcs template.FuncMap) *theme {
	t := &theme{
		pages:  template.Must(template.New(dir).Funcs(funcs).ParseFS(web, "web/"+dir+"/*.html")),
		assets: map[string][]byte{},
		images: map[string][]byte{},
	}
	files, err := fs.Glob(web, "web/"+dir+"/assets/*")
	if err != nil {
		panic(err) // cannot happen: the pattern is constant and valid
	}
	for _, f := range files {
		t.assets[path.Base(f)], _ = web.ReadFile(f)
	}
	for _, p := range catalog() {
		t.images[p.Handle] = photo(p.Handle)
	}
	return t
}

// render executes the named page template; an error is a bug in a fixture,
// so it is logged and answered with a 500 that the tests will notice.
func (t *theme) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := t.pages.ExecuteTemplate(&buf, name, data); err != nil {
		log.Printf("themes: render %s: %v", name, err)
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// execute renders a template to a string, for HTML carried inside JSON
// (Shopify's section rendering).
func (t *theme) execute(name string, data any) (string, error) {
	var buf bytes.Buffer
	err := t.pages.ExecuteTemplate(&buf, name, data)
	return buf.String(), err
}

func (t *theme) serveAsset(w http.ResponseWriter, name string) {
	data, ok := t.assets[name]
	if !ok {
		http.NotFound(w, nil)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(data)
}

func (t *theme) servePhoto(w http.ResponseWriter, handle string) {
	data, ok := t.images[handle]
	if !ok {
		http.NotFound(w, nil)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Write(data)
}

// photo paints a product photo: a soft disc on a tinted ground with grain.
// The grain is there because Chrome ignores low-entropy images as LCP
// candidates, and product pages on real shops have a photo as their LCP.
func photo(name string) []byte {
	const size = 360
	h := fnv.New64a()
	h.Write([]byte(name))
	rng := mrand.New(mrand.NewPCG(h.Sum64(), 7))
	hue := rng.Float64()
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			dx, dy := float64(x-size/2), float64(y-size/2)
			v := 0.9 - 0.1*float64(y)/size
			if dx*dx+dy*dy < size*size/9 {
				v = 0.45 + 0.25*hue
			}
			v += (rng.Float64() - 0.5) * 0.12
			c := uint8(min(max(v, 0), 1) * 255)
			img.Set(x, y, color.RGBA{c, uint8(float64(c) * (0.8 + 0.2*hue)), uint8(float64(c) * (1 - 0.3*hue)), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
		panic(err) // cannot happen: encoding to memory
	}
	return buf.Bytes()
}
