package themes

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

// lumaStatic is where Magento's static content deploy puts Luma's files.
const lumaStatic = "/static/version1700000000/frontend/Magento/luma/en_US/"

// magento is the Luma fixture.
type magento struct {
	opts     Options
	theme    *theme
	sessions *sessions
}

// Magento returns a Magento 2 store on the Luma theme with cookie
// restriction mode on:
//
//	GET  /                                            home (CMS page with a product widget)
//	GET  /catalogsearch/result/?q=                    search results
//	GET  /{url_key}.html                              product page
//	POST /checkout/cart/add/uenc/{uenc}/product/{id}/ add to cart ("[]" or {"backUrl"} to XHR)
//	GET  /customer/section/load/?sections=            customer-data sections (cart, messages)
//	GET  /search/ajax/suggest/?q=                     quick search suggestions
//	GET  /checkout/cart/                              shopping cart
//	GET  /checkout/, /checkout                        checkout (302 to the cart when the quote is empty)
//	POST /rest/default/V1/guest-carts/{mask}/estimate-shipping-methods
//
// plus Luma's static files under /static/version…/ and product photos under
// /media/catalog/product/. The quote is kept per PHPSESSID; the form_key
// cookie must come back with every POST, as Magento checks it.
func Magento(opts Options) http.Handler {
	m := &magento{opts: opts, theme: loadTheme("magento", magentoFuncs()), sessions: newSessions("PHPSESSID")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", m.home)
	mux.HandleFunc("GET /catalogsearch/result/{$}", m.search)
	mux.HandleFunc("GET /{page}", m.productPage)
	mux.HandleFunc("POST /checkout/cart/add/uenc/{uenc}/product/{id}/{$}", m.add)
	mux.HandleFunc("GET /customer/section/load/{$}", m.sectionLoad)
	mux.HandleFunc("GET /search/ajax/suggest/{$}", m.suggest)
	mux.HandleFunc("GET /checkout/cart/{$}", m.cart)
	mux.HandleFunc("GET /checkout/{$}", m.checkout)
	mux.HandleFunc("GET /checkout", m.checkout)
	mux.HandleFunc("POST /rest/default/V1/guest-carts/{mask}/estimate-shipping-methods", m.shippingMethods)
	mux.HandleFunc("GET "+lumaStatic+"{path...}", func(w http.ResponseWriter, r *http.Request) {
		p := r.PathValue("path")
		m.theme.serveAsset(w, p[strings.LastIndex(p, "/")+1:])
	})
	mux.HandleFunc("GET /media/catalog/product/cache/{hash}/{a}/{b}/{file}", func(w http.ResponseWriter, r *http.Request) {
		m.theme.servePhoto(w, strings.TrimSuffix(r.PathValue("file"), ".jpg"))
	})
	return mux
}

func magentoFuncs() template.FuncMap {
	return template.FuncMap{
		"static": func(p string) string { return lumaStatic + p },
		// Magento's media path: the file under two directories named by its
		// first two letters.
		"mediaPath": func(handle string) string { return handle[:1] + "/" + handle[1:2] + "/" + handle + ".jpg" },
		"cents":     func(p product) string { return fmt.Sprintf("%d.%02d", p.Cents/100, p.Cents%100) },
		// uenc is the base64 of the URL to return to, with Magento's
		// URL-safe alphabet ('+/=' → '-_,').
		"uenc": func(origin, handle string) string { return magentoUenc(origin + "/" + handle + ".html") },
	}
}

func magentoUenc(u string) string {
	return strings.NewReplacer("+", "-", "/", "_", "=", ",").Replace(base64.StdEncoding.EncodeToString([]byte(u)))
}

// magentoPage is the data of every Luma page.
type magentoPage struct {
	BodyClass string
	Title     string
	Origin    string
	Cart      cart
	Messages  []notice
	Products  []product
	Product   product
	Query     string
	QuoteMask string
}

// page starts the session and the form key, and takes the session's
// messages: Magento shows a session message once, on the next page.
func (m *magento) page(w http.ResponseWriter, r *http.Request, bodyClass, title string) magentoPage {
	id := m.sessions.id(w, r)
	if _, err := r.Cookie("form_key"); err != nil {
		http.SetCookie(w, &http.Cookie{Name: "form_key", Value: token(8), Path: "/", SameSite: http.SameSiteLaxMode})
	}
	return magentoPage{BodyClass: bodyClass, Title: title, Origin: "http://" + r.Host,
		Cart: m.sessions.cart(id), Messages: m.sessions.takeNotices(id), QuoteMask: id}
}

func (m *magento) home(w http.ResponseWriter, r *http.Request) {
	p := m.page(w, r, "cms-home cms-index-index page-layout-1column", "Home Page")
	p.Products = catalog()
	m.theme.render(w, http.StatusOK, "home", p)
}

func (m *magento) search(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	p := m.page(w, r, "page-products page-with-filter catalogsearch-result-index page-layout-2columns-left", "Search results for: '"+q+"'")
	p.Query, p.Products = q, search(q)
	m.theme.render(w, http.StatusOK, "search", p)
}

func (m *magento) productPage(w http.ResponseWriter, r *http.Request) {
	handle, ok := strings.CutSuffix(r.PathValue("page"), ".html")
	prod, found := byHandle(handle)
	if !ok || !found {
		http.NotFound(w, r)
		return
	}
	p := m.page(w, r, "catalog-product-view product-"+prod.Handle+" page-layout-1column", prod.Title)
	p.Product = prod
	m.theme.render(w, http.StatusOK, "product", p)
}

// add is Magento_Checkout's Cart\Add controller for an XHR post: "[]" when
// the product was added (the session message waits for customer-data), or
// a backUrl to the product page with an error message when it was not.
func (m *magento) add(w http.ResponseWriter, r *http.Request) {
	id := m.sessions.id(w, r)
	r.ParseForm()
	key, err := r.Cookie("form_key")
	if err != nil || r.PostFormValue("form_key") != key.Value {
		// Magento's form key validator: the request goes back to the cart.
		m.sessions.flash(id, notice{Type: "error", HTML: "Your session has expired"})
		magentoJSON(w, map[string]string{"backUrl": "/checkout/cart/"})
		return
	}
	pid, _ := strconv.Atoi(r.PathValue("id"))
	prod, ok := byID(pid)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if m.opts.RefuseAddToCart {
		m.sessions.flash(id, notice{Type: "error", HTML: "The requested qty is not available"})
		magentoJSON(w, map[string]string{"backUrl": "/" + prod.Handle + ".html"})
		return
	}
	qty, err := strconv.Atoi(r.PostFormValue("qty"))
	if err != nil || qty < 1 {
		qty = 1
	}
	m.sessions.add(id, prod, qty)
	// Checkout's messages/addCartSuccessMessage.phtml.
	m.sessions.flash(id, notice{Type: "success", HTML: template.HTML(fmt.Sprintf(
		`You added %s to your <a href="/checkout/cart/">shopping cart</a>.`, template.HTMLEscapeString(prod.Title)))})
	magentoJSON(w, []string{})
}

func magentoJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// sectionLoad is customer/section/load: the private content sections the
// browser keeps in local storage, here "cart" and "messages".
func (m *magento) sectionLoad(w http.ResponseWriter, r *http.Request) {
	id := m.sessions.id(w, r)
	out := map[string]any{}
	for name := range strings.SplitSeq(r.URL.Query().Get("sections"), ",") {
		switch name {
		case "cart":
			c := m.sessions.cart(id)
			items := []map[string]any{}
			for _, l := range c {
				items = append(items, map[string]any{"item_id": strconv.Itoa(l.ID), "product_name": l.Title, "product_sku": l.SKU,
					"qty": l.Qty, "product_url": "/" + l.Handle + ".html", "product_price": `<span class="price">` + l.Price() + `</span>`})
			}
			out["cart"] = map[string]any{"summary_count": c.Count(), "subtotal": `<span class="price">` + c.Subtotal() + `</span>`,
				"possible_onepage_checkout": true, "items": items, "isGuestCheckoutAllowed": true, "website_id": "1", "storeId": "1"}
		case "messages":
			msgs := []map[string]string{}
			for _, n := range m.sessions.takeNotices(id) {
				msgs = append(msgs, map[string]string{"type": n.Type, "text": string(n.HTML)})
			}
			out["messages"] = map[string]any{"messages": msgs}
		}
	}
	magentoJSON(w, out)
}

func (m *magento) suggest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	out := []map[string]any{}
	if n := len(search(q)); n > 0 {
		out = append(out, map[string]any{"title": strings.ToLower(q), "num_results": strconv.Itoa(n)})
	}
	magentoJSON(w, out)
}

func (m *magento) cart(w http.ResponseWriter, r *http.Request) {
	m.theme.render(w, http.StatusOK, "cart", m.page(w, r, "checkout-cart-index page-layout-1column", "Shopping Cart"))
}

// checkout is Magento_Checkout's Index controller: an empty quote is sent
// back to the cart; otherwise the page whose steps the browser renders.
func (m *magento) checkout(w http.ResponseWriter, r *http.Request) {
	id := m.sessions.id(w, r)
	if len(m.sessions.cart(id)) == 0 {
		http.Redirect(w, r, "/checkout/cart/", http.StatusFound)
		return
	}
	m.theme.render(w, http.StatusOK, "checkout", m.page(w, r, "checkout-index-index page-layout-checkout", "Checkout"))
}

// shippingMethods is the REST call the shipping step makes for its rates.
func (m *magento) shippingMethods(w http.ResponseWriter, r *http.Request) {
	id := m.sessions.id(w, r)
	if r.PathValue("mask") != id {
		w.WriteHeader(http.StatusNotFound)
		magentoJSON(w, map[string]any{"message": "No such entity with %fieldName = %fieldValue", "parameters": map[string]string{"fieldName": "cartId"}})
		return
	}
	magentoJSON(w, []map[string]any{
		{"carrier_code": "flatrate", "method_code": "flatrate", "carrier_title": "Flat Rate", "method_title": "Fixed", "amount": 5, "available": true},
		{"carrier_code": "tablerate", "method_code": "bestway", "carrier_title": "Best Way", "method_title": "Table Rate", "amount": 7.5, "available": true},
	})
}
