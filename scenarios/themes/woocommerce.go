package themes

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"path"
	"strconv"
	"strings"
)

// woocommerce is the Storefront fixture.
type woocommerce struct {
	opts     Options
	theme    *theme
	sessions *sessions
}

// WooCommerce returns a WooCommerce store on the Storefront theme with the
// classic cart and checkout and the Complianz consent banner:
//
//	GET  /                               home (Storefront's homepage template)
//	GET  /?s=&post_type=product          product search; exactly one hit redirects (302) to it
//	GET  /product/{slug}/                product page
//	POST /product/{slug}/                the product form: adds to the cart and renders the page
//	                                     with a .woocommerce-message (or a .woocommerce-error)
//	GET  /cart/                          cart ([woocommerce_cart]), "Proceed to checkout" links to /checkout/
//	GET  /checkout/                      checkout ([woocommerce_checkout], form.checkout);
//	                                     302 to /cart/ with a notice when the cart is empty
//	POST /?wc-ajax=update_order_review   the checkout's order review fragments
//
// plus Storefront's and the plugins' files under /wp-content/ and product
// photos under /wp-content/uploads/. The cart is kept per WooCommerce
// session cookie.
func WooCommerce(opts Options) http.Handler {
	wc := &woocommerce{opts: opts, theme: loadTheme("woocommerce", woocommerceFuncs()), sessions: newSessions("wp_woocommerce_session_6f9a")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", wc.root)
	mux.HandleFunc("POST /{$}", wc.ajax)
	mux.HandleFunc("GET /shop/{$}", wc.shop)
	mux.HandleFunc("GET /product/{slug}/{$}", wc.product)
	mux.HandleFunc("POST /product/{slug}/{$}", wc.product)
	mux.HandleFunc("GET /cart/{$}", wc.cart)
	mux.HandleFunc("GET /checkout/{$}", wc.checkout)
	// WordPress's canonical redirects add the trailing slash.
	for _, p := range []string{"/cart", "/checkout", "/shop"} {
		mux.Handle("GET "+p, http.RedirectHandler(p+"/", http.StatusMovedPermanently))
	}
	static := func(w http.ResponseWriter, r *http.Request) { wc.theme.serveAsset(w, path.Base(r.URL.Path)) }
	mux.HandleFunc("GET /wp-content/themes/storefront/{path...}", static)
	mux.HandleFunc("GET /wp-content/plugins/{path...}", static)
	mux.HandleFunc("GET /wp-content/uploads/complianz/css/{file}", static)
	mux.HandleFunc("GET /wp-content/uploads/2024/05/{file}", func(w http.ResponseWriter, r *http.Request) {
		wc.theme.servePhoto(w, wpImageHandle(r.PathValue("file")))
	})
	return mux
}

// wpImageHandle is the product handle of an uploaded image's file name,
// without the size suffix WordPress gives resized copies (-324x324).
func wpImageHandle(file string) string {
	name := strings.TrimSuffix(file, ".jpg")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		w, h, ok := strings.Cut(name[i+1:], "x")
		if _, err := strconv.Atoi(w); err == nil && ok {
			if _, err := strconv.Atoi(h); err == nil {
				return name[:i]
			}
		}
	}
	return name
}

func woocommerceFuncs() template.FuncMap {
	return template.FuncMap{
		// wcprice is wc_price(): the amount in WooCommerce's price markup.
		"wcprice": func(price string) template.HTML {
			return template.HTML(`<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-currencySymbol">&euro;</span>` +
				template.HTMLEscapeString(strings.TrimPrefix(price, "€")) + `</bdi></span>`)
		},
	}
}

// woocommercePage is the data of every Storefront page.
type woocommercePage struct {
	Page      string // home, search, product, cart, checkout
	BodyClass string
	Title     string
	Query     string
	Cart      cart
	Notices   []notice
	Products  []product
	Product   product
	Nonce     string
}

func (wc *woocommerce) page(w http.ResponseWriter, r *http.Request, page, bodyClass, title string) woocommercePage {
	id := wc.sessions.id(w, r)
	return woocommercePage{Page: page, BodyClass: bodyClass, Title: title, Cart: wc.sessions.cart(id),
		Notices: wc.sessions.takeNotices(id), Nonce: id[:10]}
}

// root is WordPress's front controller: the home page, or a product search
// (s and post_type=product), or the non-JavaScript add-to-cart link of a
// product loop (?add-to-cart=ID).
func (wc *woocommerce) root(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Has("add-to-cart") {
		wc.addToCart(w, r, q.Get("add-to-cart"), q.Get("quantity"))
	}
	if !q.Has("s") {
		p := wc.page(w, r, "home", "home wp-singular page-template page-template-template-homepage page page-id-2", "Home")
		p.Products = catalog()
		wc.theme.render(w, http.StatusOK, "home", p)
		return
	}
	s := q.Get("s")
	hits := search(s)
	// wc_template_redirect: a product search with exactly one result goes
	// straight to that product.
	if q.Get("post_type") == "product" && len(hits) == 1 {
		http.Redirect(w, r, "/product/"+hits[0].Handle+"/", http.StatusFound)
		return
	}
	p := wc.page(w, r, "search", "search search-results post-type-archive post-type-archive-product woocommerce-shop woocommerce woocommerce-page", "Search results: “"+s+"”")
	p.Query, p.Products = s, hits
	wc.theme.render(w, http.StatusOK, "search", p)
}

func (wc *woocommerce) shop(w http.ResponseWriter, r *http.Request) {
	p := wc.page(w, r, "search", "archive post-type-archive post-type-archive-product woocommerce-shop woocommerce woocommerce-page", "Shop")
	p.Products = catalog()
	wc.theme.render(w, http.StatusOK, "search", p)
}

// product renders the single product page; a POST is the product form,
// handled first as WC_Form_Handler::add_to_cart_action does, so the page
// comes back with the notice.
func (wc *woocommerce) product(w http.ResponseWriter, r *http.Request) {
	prod, ok := byHandle(r.PathValue("slug"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method == http.MethodPost {
		if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		wc.addToCart(w, r, r.FormValue("add-to-cart"), r.FormValue("quantity"))
	} else if r.URL.Query().Has("add-to-cart") {
		wc.addToCart(w, r, r.URL.Query().Get("add-to-cart"), "1")
	}
	p := wc.page(w, r, "product", "wp-singular product-template-default single single-product postid-"+strconv.Itoa(prod.ID)+" woocommerce woocommerce-page", prod.Title)
	p.Product = prod
	wc.theme.render(w, http.StatusOK, "product", p)
}

// addToCart adds a product and queues the notice the next page shows.
func (wc *woocommerce) addToCart(w http.ResponseWriter, r *http.Request, productID, quantity string) {
	id := wc.sessions.id(w, r)
	pid, _ := strconv.Atoi(productID)
	prod, ok := byID(pid)
	if !ok {
		return
	}
	if wc.opts.RefuseAddToCart {
		wc.sessions.flash(id, notice{Type: "error", HTML: template.HTML(fmt.Sprintf(
			"You cannot add &quot;%s&quot; to the cart because the product is out of stock.", template.HTMLEscapeString(prod.Title)))})
		return
	}
	qty, err := strconv.Atoi(quantity)
	if err != nil || qty < 1 {
		qty = 1
	}
	wc.sessions.add(id, prod, qty)
	// wc_add_to_cart_message().
	wc.sessions.flash(id, notice{Type: "success", HTML: template.HTML(fmt.Sprintf(
		`&ldquo;%s&rdquo; has been added to your cart. <a href="/cart/" class="button wc-forward">View cart</a>`, template.HTMLEscapeString(prod.Title)))})
}

func (wc *woocommerce) cart(w http.ResponseWriter, r *http.Request) {
	wc.theme.render(w, http.StatusOK, "cart", wc.page(w, r, "cart", "wp-singular page-template-default page page-id-7 woocommerce-cart woocommerce-page", "Cart"))
}

// checkout is the checkout page; with an empty cart wc_template_redirect
// sends the visitor back to the cart with a notice.
func (wc *woocommerce) checkout(w http.ResponseWriter, r *http.Request) {
	id := wc.sessions.id(w, r)
	if len(wc.sessions.cart(id)) == 0 {
		wc.sessions.flash(id, notice{Type: "notice", HTML: "Checkout is not available whilst your cart is empty."})
		http.Redirect(w, r, "/cart/", http.StatusFound)
		return
	}
	wc.theme.render(w, http.StatusOK, "checkout", wc.page(w, r, "checkout", "wp-singular page-template-default page page-id-8 woocommerce-checkout woocommerce-page", "Checkout"))
}

// ajax is WC_AJAX: only update_order_review, which the checkout calls on
// load for the order review table and the payment box.
func (wc *woocommerce) ajax(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("wc-ajax") != "update_order_review" {
		http.Error(w, "-1", http.StatusBadRequest)
		return
	}
	id := wc.sessions.id(w, r)
	r.ParseForm()
	c := wc.sessions.cart(id)
	if r.PostFormValue("security") != id[:10] || len(c) == 0 {
		// WooCommerce answers a stale nonce or an emptied cart by reloading.
		wc.json(w, map[string]any{"result": "failure", "messages": "", "reload": true})
		return
	}
	review, err := wc.theme.execute("review-order", c)
	if err == nil {
		var payment string
		payment, err = wc.theme.execute("payment", c)
		if err == nil {
			wc.json(w, map[string]any{"result": "success", "messages": "", "reload": false, "fragments": map[string]string{
				".woocommerce-checkout-review-order-table": review,
				".woocommerce-checkout-payment":            payment,
			}})
			return
		}
	}
	http.Error(w, err.Error(), http.StatusInternalServerError)
}

func (wc *woocommerce) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(v)
}
