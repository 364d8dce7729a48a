package demoshop

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/scenarios"
)

// TestDemoJourneyMatchesTheShop walks the demo journey over plain HTTP:
// every selector a step uses must exist on the page the step runs on,
// links and forms are followed as a browser would, and what shop.js does
// on a click (add to cart, pay) is done through the same endpoints. Real
// Chromium runs the journey in the browser package's tests; this one is
// fast and says exactly which step and selector drifted from the HTML.
func TestDemoJourneyMatchesTheShop(t *testing.T) {
	srv, c, shop := fastShop(t, Options{})
	j, err := scenarios.DemoJourney()
	if err != nil {
		t.Fatalf("DemoJourney: %v", err)
	}
	jr, err := scenarios.Apply(j, map[string]string{"base_url": srv.URL})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	js := string(shop.static["shop.js"].data)

	var (
		cur   *url.URL
		doc   *html.Node
		typed = map[*html.Node]string{}
		pages []string
	)
	load := func(method, u string, form url.Values) {
		t.Helper()
		var body []byte
		if method == "GET" {
			res, b := get(t, c, u)
			if res.StatusCode != 200 {
				t.Fatalf("GET %s: status %d", u, res.StatusCode)
			}
			cur, body = res.Request.URL, b
		}
		d, err := html.Parse(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		doc, typed = d, map[*html.Node]string{}
	}
	// jsEffect reports whether a selector that is not in the HTML is one
	// shop.js produces: the same element with classes the script sets.
	jsEffect := func(sel string) bool {
		list, err := parseSelector(sel)
		if err != nil || len(list) != 1 {
			return false
		}
		chain := list[0]
		last := chain[len(chain)-1]
		for _, cl := range last.classes {
			if !strings.Contains(js, "'"+cl+"'") {
				return false
			}
		}
		last.classes = nil
		chain[len(chain)-1] = last
		return len(queryAll(doc, selectorList{chain})) > 0
	}

	for _, s := range jr.Steps {
		where := s.Name
		navigated := false
		switch s.Action {
		case probe.ActionGoto:
			load("GET", s.URL, nil)
			navigated = true
		case probe.ActionClick:
			n := query(t, doc, s.Selector)
			if n == nil {
				if s.Optional {
					continue
				}
				t.Fatalf("%s: no %q on %s", where, s.Selector, cur)
			}
			switch typ, _ := attr(n, "type"); {
			case n.Data == "a":
				href, _ := attr(n, "href")
				load("GET", cur.ResolveReference(mustURL(t, href)).String(), nil)
				navigated = true
			case n.Data == "button" && typ == "submit":
				form := ancestor(n, "form")
				if form == nil {
					t.Fatalf("%s: submit button outside a form", where)
				}
				fields := formValues(form, typed)
				action, _ := attr(form, "action")
				method, _ := attr(form, "method")
				id, _ := attr(form, "id")
				switch {
				case strings.EqualFold(method, "get"):
					u := cur.ResolveReference(mustURL(t, action))
					u.RawQuery = fields.Encode()
					load("GET", u.String(), nil)
					navigated = true
				case id == "add-form":
					// shop.js posts the form and stays on the page.
					if !strings.Contains(js, "'/cart/add'") {
						t.Fatalf("%s: shop.js does not post to /cart/add", where)
					}
					res, body := postForm(t, c, srv.URL+"/cart/add", fields, "application/json")
					if res.StatusCode != 200 {
						t.Fatalf("%s: /cart/add: %d %s", where, res.StatusCode, body)
					}
				case id == "checkout-form":
					if !strings.Contains(js, "'/api/pay'") {
						t.Fatalf("%s: shop.js does not post to /api/pay", where)
					}
					res, out := postJSON(t, c, srv.URL+"/api/pay", map[string]string{"email": fields.Get("email"), "country": fields.Get("country")})
					if res.StatusCode != 200 || out["status"] != "approved" {
						t.Fatalf("%s: /api/pay: %d %v", where, res.StatusCode, out)
					}
				default:
					t.Fatalf("%s: the test does not know what form %q does", where, id)
				}
			case n.Data == "button":
				// A script-only button (the consent banner's).
				if idAttr, _ := attr(n, "id"); !strings.Contains(js, "'#"+idAttr+"'") {
					t.Fatalf("%s: button #%s has no handler in shop.js", where, idAttr)
				}
			default:
				t.Fatalf("%s: clicking a <%s> does nothing", where, n.Data)
			}
		case probe.ActionType:
			n := query(t, doc, s.Selector)
			if n == nil || n.Data != "input" && n.Data != "textarea" {
				t.Fatalf("%s: no input %q on %s", where, s.Selector, cur)
			}
			typed[n] = s.Text
		case probe.ActionSelect:
			n := query(t, doc, s.Selector)
			if n == nil || n.Data != "select" {
				t.Fatalf("%s: no select %q on %s", where, s.Selector, cur)
			}
			if query(t, n, "option[value="+s.Value+"]") == nil {
				t.Fatalf("%s: %s has no option %q", where, s.Selector, s.Value)
			}
			typed[n] = s.Value
		case probe.ActionAssertText:
			n := query(t, doc, s.Selector)
			if n == nil || !strings.Contains(textOf(n), s.Text) {
				t.Fatalf("%s: %q does not contain %q on %s", where, s.Selector, s.Text, cur)
			}
		case probe.ActionAssertURL:
			if !regexp.MustCompile(s.URL).MatchString(cur.String()) {
				t.Fatalf("%s: %s does not match %s", where, cur, s.URL)
			}
		case probe.ActionWaitFor:
			switch {
			case s.Selector != "":
				if query(t, doc, s.Selector) == nil && !jsEffect(s.Selector) {
					t.Fatalf("%s: %q neither on %s nor set by shop.js", where, s.Selector, cur)
				}
			case s.Text != "":
				if !strings.Contains(textOf(doc), s.Text) && !strings.Contains(js, "'"+s.Text+"'") {
					t.Fatalf("%s: text %q neither on %s nor written by shop.js", where, s.Text, cur)
				}
			case s.URLMatch != "":
				if !regexp.MustCompile(s.URLMatch).MatchString(cur.String()) {
					t.Fatalf("%s: %s does not match %s", where, cur, s.URLMatch)
				}
			}
		}
		if s.Page != "" {
			if !navigated {
				t.Errorf("%s: names page %q but does not navigate", where, s.Page)
			}
			pages = append(pages, s.Page+"="+cur.Path)
		}
	}
	want := []string{"home=/", "search=/search", "product=/products/stoneware-mug", "cart=/cart", "checkout=/checkout"}
	if strings.Join(pages, " ") != strings.Join(want, " ") {
		t.Errorf("pages visited: %v, want %v", pages, want)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func ancestor(n *html.Node, tag string) *html.Node {
	for p := n.Parent; p != nil; p = p.Parent {
		if p.Type == html.ElementNode && p.Data == tag {
			return p
		}
	}
	return nil
}

// formValues collects a form's fields as a browser would submit them,
// with what the journey typed or selected.
func formValues(form *html.Node, typed map[*html.Node]string) url.Values {
	v := url.Values{}
	list, _ := parseSelector("input, select, textarea")
	for _, n := range queryAll(form, list) {
		name, _ := attr(n, "name")
		if name == "" {
			continue
		}
		val, ok := typed[n]
		if !ok {
			val, _ = attr(n, "value")
		}
		v.Set(name, val)
	}
	return v
}
