package themes

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// shopify is the Dawn fixture.
type shopify struct {
	opts     Options
	theme    *theme
	sessions *sessions
}

// Shopify returns a store on Shopify's Dawn theme with the cart drawer:
//
//	GET  /                         home, a featured collection of cards
//	GET  /search?q=&type=product   search results (cards link to /products/<handle>?_pos=…)
//	GET  /products/{handle}        product page, product-form posting to /cart/add
//	POST /cart/add, /cart/add.js   add a variant; JSON with the re-rendered sections
//	                               for Dawn's fetch, a redirect to /cart for a plain form
//	GET  /cart                     cart page (form#cart), the checkout button posts it
//	POST /cart                     with "checkout": 302 to /checkout, else back to /cart
//	GET  /checkout                 302 to /checkouts/cn/<token> (to /cart when empty)
//	GET  /checkouts/cn/{token}     Shopify's checkout (a stand-in: not theme markup)
//
// plus the theme's assets under /cdn/shop/t/1/assets/, product photos under
// /cdn/shop/files/ and the privacy banner's script. The cart is kept per
// "cart" cookie, as Shopify keys carts by its cart token cookie.
func Shopify(opts Options) http.Handler {
	s := &shopify{opts: opts, theme: loadTheme("shopify", shopifyFuncs()), sessions: newSessions("cart")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /search", s.search)
	mux.HandleFunc("GET /products/{handle}", s.product)
	mux.HandleFunc("POST /cart/add", s.add)
	mux.HandleFunc("POST /cart/add.js", s.add)
	mux.HandleFunc("GET /cart", s.cartPage)
	mux.HandleFunc("POST /cart", s.cartPost)
	mux.HandleFunc("GET /checkout", s.checkout)
	mux.HandleFunc("GET /checkouts/cn/{token}", s.checkoutPage)
	mux.HandleFunc("GET /cdn/shop/t/1/assets/{file}", func(w http.ResponseWriter, r *http.Request) {
		s.theme.serveAsset(w, r.PathValue("file"))
	})
	mux.HandleFunc("GET /cdn/shopifycloud/privacy-banner/storefront-banner.js", func(w http.ResponseWriter, r *http.Request) {
		s.theme.serveAsset(w, "storefront-banner.js")
	})
	mux.HandleFunc("GET /cdn/shop/files/{file}", func(w http.ResponseWriter, r *http.Request) {
		s.theme.servePhoto(w, strings.TrimSuffix(r.PathValue("file"), ".jpg"))
	})
	return mux
}

// shopifyCard is what snippets/card-product renders from.
type shopifyCard struct {
	P       product
	Section string // the section id in the card's element ids
	Query   string // search tracking parameters appended to the link
}

func shopifyFuncs() template.FuncMap {
	return template.FuncMap{
		"inc":  func(i int) int { return i + 1 },
		"card": func(p product, section, query string) shopifyCard { return shopifyCard{p, section, query} },
	}
}

// shopifyPage is the data of every Dawn page.
type shopifyPage struct {
	Template  string // Shopify's template name: index, search, product, cart
	Title     string
	Origin    string
	Canonical string
	Cart      cart
	Products  []product
	Product   product
	Query     string
	Token     string
}

func (s *shopify) page(w http.ResponseWriter, r *http.Request, tmpl, title string) shopifyPage {
	id := s.sessions.id(w, r)
	origin := "http://" + r.Host
	return shopifyPage{Template: tmpl, Title: title, Origin: origin, Canonical: origin + r.URL.Path,
		Cart: s.sessions.cart(id), Token: id[:8]}
}

func (s *shopify) home(w http.ResponseWriter, r *http.Request) {
	p := s.page(w, r, "index", "Hearth & Field")
	p.Products = catalog()
	s.theme.render(w, http.StatusOK, "index", p)
}

func (s *shopify) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	p := s.page(w, r, "search", "Search: "+q)
	p.Query, p.Products = q, search(q)
	s.theme.render(w, http.StatusOK, "search", p)
}

func (s *shopify) product(w http.ResponseWriter, r *http.Request) {
	prod, ok := byHandle(r.PathValue("handle"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	p := s.page(w, r, "product", prod.Title)
	p.Product = prod
	s.theme.render(w, http.StatusOK, "product", p)
}

// add is Shopify's /cart/add: Dawn posts FormData with the variant id and
// the sections to re-render; a theme without JavaScript posts the plain
// form and is redirected to the cart.
func (s *shopify) add(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ajax := strings.HasSuffix(r.URL.Path, ".js") || r.Header.Get("X-Requested-With") == "XMLHttpRequest"
	variant, _ := strconv.Atoi(r.FormValue("id"))
	prod, ok := byID(variant)
	switch {
	case !ok:
		shopifyCartError(w, http.StatusNotFound, "Cannot find variant")
		return
	case s.opts.RefuseAddToCart:
		// What Shopify answers for a variant it cannot sell.
		shopifyCartError(w, http.StatusUnprocessableEntity, "The product '"+prod.Title+"' is already sold out.")
		return
	}
	qty, err := strconv.Atoi(r.FormValue("quantity"))
	if err != nil || qty < 1 {
		qty = 1
	}
	id := s.sessions.id(w, r)
	s.sessions.add(id, prod, qty)
	if !ajax {
		http.Redirect(w, r, "/cart", http.StatusFound)
		return
	}
	item := map[string]any{
		"id": prod.Variant, "variant_id": prod.Variant, "product_id": prod.ID, "quantity": qty,
		"title": prod.Title, "product_title": prod.Title, "handle": prod.Handle, "sku": prod.SKU,
		"price": prod.Cents, "url": "/products/" + prod.Handle + "?variant=" + strconv.Itoa(prod.Variant),
	}
	// The Section Rendering API: each requested section as the theme
	// renders it with the updated cart.
	c := s.sessions.cart(id)
	sections := map[string]string{}
	for name := range strings.SplitSeq(r.FormValue("sections"), ",") {
		switch name {
		case "cart-drawer", "cart-icon-bubble":
			html, err := s.theme.execute("section-"+name, c)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			sections[name] = html
		}
	}
	if len(sections) > 0 {
		item["sections"] = sections
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	json.NewEncoder(w).Encode(item)
}

func shopifyCartError(w http.ResponseWriter, status int, description string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"status": status, "message": "Cart Error", "description": description})
}

func (s *shopify) cartPage(w http.ResponseWriter, r *http.Request) {
	s.theme.render(w, http.StatusOK, "cart", s.page(w, r, "cart", "Your Shopping Cart"))
}

// cartPost is the cart form: Dawn's checkout buttons submit it with a
// "checkout" field, and Shopify answers with a redirect to /checkout.
func (s *shopify) cartPost(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	if _, ok := r.PostForm["checkout"]; ok {
		http.Redirect(w, r, "/checkout", http.StatusFound)
		return
	}
	http.Redirect(w, r, "/cart", http.StatusFound)
}

// checkout hands the cart to Shopify's checkout, which lives under
// /checkouts/cn/<token>; an empty cart goes back to the cart page.
func (s *shopify) checkout(w http.ResponseWriter, r *http.Request) {
	id := s.sessions.id(w, r)
	if len(s.sessions.cart(id)) == 0 {
		http.Redirect(w, r, "/cart", http.StatusFound)
		return
	}
	http.Redirect(w, r, "/checkouts/cn/"+id+"?_r="+token(8), http.StatusFound)
}

func (s *shopify) checkoutPage(w http.ResponseWriter, r *http.Request) {
	id := s.sessions.id(w, r)
	if r.PathValue("token") != id || len(s.sessions.cart(id)) == 0 {
		http.Redirect(w, r, "/cart", http.StatusFound)
		return
	}
	s.theme.render(w, http.StatusOK, "checkout", shopifyPage{Title: "Checkout", Cart: s.sessions.cart(id), Token: id})
}
