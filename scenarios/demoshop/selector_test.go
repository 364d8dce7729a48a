package demoshop

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// A small CSS selector engine for tests: enough of the language the demo
// journey and the templates use (type, #id, .class, [attr], [attr=v],
// [attr*=v], [attr^=v], [attr$=v], descendant and child combinators, and
// comma-separated lists), so the test can check the journey's selectors
// against the HTML the shop serves.

type compound struct {
	tag     string
	id      string
	classes []string
	attrs   []attrTest
	child   bool // joined to the previous compound with ">"
}

type attrTest struct{ name, op, value string }

type selectorList [][]compound

func parseSelector(s string) (selectorList, error) {
	var list selectorList
	for _, alt := range splitTop(s, ',') {
		alt = strings.TrimSpace(alt)
		if alt == "" {
			return nil, fmt.Errorf("empty selector in %q", s)
		}
		var chain []compound
		child := false
		for _, tok := range tokens(alt) {
			if tok == ">" {
				child = true
				continue
			}
			c, err := parseCompound(tok)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", s, err)
			}
			c.child = child
			child = false
			chain = append(chain, c)
		}
		list = append(list, chain)
	}
	return list, nil
}

// splitTop splits on sep outside brackets and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == sep && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// tokens splits a complex selector into compounds and ">" combinators.
func tokens(s string) []string {
	s = strings.ReplaceAll(s, ">", " > ")
	var out []string
	for _, t := range splitTop(s, ' ') {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

func parseCompound(s string) (compound, error) {
	var c compound
	i := 0
	ident := func() string {
		j := i
		for j < len(s) && (s[j] == '-' || s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		v := s[i:j]
		i = j
		return v
	}
	c.tag = strings.ToLower(ident())
	if c.tag == "" && i < len(s) && s[i] == '*' {
		i++
	}
	for i < len(s) {
		switch s[i] {
		case '#':
			i++
			c.id = ident()
		case '.':
			i++
			c.classes = append(c.classes, ident())
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return c, fmt.Errorf("unclosed [")
			}
			body := s[i+1 : i+end]
			i += end + 1
			at := attrTest{}
			if k := strings.IndexAny(body, "*^$="); k >= 0 {
				at.name = body[:k]
				if body[k] == '=' {
					at.op, at.value = "=", body[k+1:]
				} else {
					at.op, at.value = body[k:k+2], body[k+2:]
				}
				at.value = strings.Trim(at.value, `'"`)
			} else {
				at.name, at.op = body, "exists"
			}
			c.attrs = append(c.attrs, at)
		default:
			return c, fmt.Errorf("unsupported syntax at %q", s[i:])
		}
	}
	return c, nil
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func (c compound) matches(n *html.Node) bool {
	if n.Type != html.ElementNode || c.tag != "" && n.Data != c.tag {
		return false
	}
	if c.id != "" {
		if id, _ := attr(n, "id"); id != c.id {
			return false
		}
	}
	classes, _ := attr(n, "class")
	for _, want := range c.classes {
		found := false
		for _, cl := range strings.Fields(classes) {
			found = found || cl == want
		}
		if !found {
			return false
		}
	}
	for _, at := range c.attrs {
		v, ok := attr(n, at.name)
		if !ok {
			return false
		}
		switch at.op {
		case "=":
			ok = v == at.value
		case "*=":
			ok = strings.Contains(v, at.value)
		case "^=":
			ok = strings.HasPrefix(v, at.value)
		case "$=":
			ok = strings.HasSuffix(v, at.value)
		}
		if !ok {
			return false
		}
	}
	return true
}

// matchChain reports whether n matches chain, whose last compound is n's.
func matchChain(n *html.Node, chain []compound) bool {
	last := chain[len(chain)-1]
	if !last.matches(n) {
		return false
	}
	if len(chain) == 1 {
		return true
	}
	rest := chain[:len(chain)-1]
	if last.child {
		return n.Parent != nil && matchChain(n.Parent, rest)
	}
	for p := n.Parent; p != nil; p = p.Parent {
		if matchChain(p, rest) {
			return true
		}
	}
	return false
}

// queryAll returns the elements matching sel in document order.
func queryAll(doc *html.Node, sel selectorList) []*html.Node {
	var out []*html.Node
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for _, chain := range sel {
			if matchChain(n, chain) {
				out = append(out, n)
				break
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return out
}

func query(t *testing.T, doc *html.Node, sel string) *html.Node {
	t.Helper()
	list, err := parseSelector(sel)
	if err != nil {
		t.Fatalf("selector: %v", err)
	}
	if nodes := queryAll(doc, list); len(nodes) > 0 {
		return nodes[0]
	}
	return nil
}

func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

func TestSelectorEngine(t *testing.T) {
	doc, err := html.Parse(strings.NewReader(`<html><body>
<header><a class="cart-link x" href="/cart">Cart</a></header>
<form action="/cart/add"><div><button type="submit" id="b" data-role="go">Add</button></div></form>
<ul class="product-grid"><li><a class="product-card" href="/products/a">A</a></li></ul>
</body></html>`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sel  string
		want string // text of the first match, "" for none
	}{
		{"header a.cart-link", "Cart"},
		{"a.cart-link.x", "Cart"},
		{"a.cart-link.y", ""},
		{"form[action*='/cart/add'] button[type=submit]", "Add"},
		{"form > button", ""},
		{"form > div > button", "Add"},
		{"[data-role=go]", "Add"},
		{"#b", "Add"},
		{"#c, .product-grid a.product-card", "A"},
		{"a[href^='/products/']", "A"},
		{"a[href$='/cart']", "Cart"},
		{"main a", ""},
	}
	for _, tt := range tests {
		n := query(t, doc, tt.sel)
		got := ""
		if n != nil {
			got = textOf(n)
		}
		if got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.sel, got, tt.want)
		}
	}
}
