package config

import (
	"crypto/x509"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
	"go.yaml.in/yaml/v3"
)

// httpKeys are the keys of http checks only; they fill the check's HTTP spec.
var httpKeys = []checkKey{
	{"method", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if _, err := probe.ParseHeader(s + ": x"); err != nil || strings.TrimSpace(s) != s {
				k.addf(e.V.Line, "%s: %q is not an HTTP method", fl, yamldoc.Clip(s))
			} else {
				// Upper-cased, as the CLI's --method post is: every method
				// a shop check sends is an upper-case standard one.
				k.c.HTTP.Method = strings.ToUpper(s)
			}
		}
	}},
	{"headers", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		items, _ := k.strMap(e.V, fl)
		for _, it := range items {
			if !it.ok {
				continue
			}
			h, err := probe.ParseHeader(it.key + ": " + it.value)
			if err != nil {
				k.addf(it.line, "%s: %v", fl, err)
				continue
			}
			k.c.HTTP.Headers = append(k.c.HTTP.Headers, h)
		}
	}},
	{"body", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			k.c.HTTP.Body = s
		}
	}},
	{"secret_headers", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		items, _ := k.strList(e.V, fl)
		for _, it := range items {
			if !it.ok {
				continue
			}
			h, err := probe.ParseHeader(it.value + ": x")
			if err != nil {
				k.addf(it.line, "%s: %v", fl, err)
				continue
			}
			k.c.HTTP.SecretHeaders = append(k.c.HTTP.SecretHeaders, h.Name)
		}
	}},
	{"expect", func(k *checkDecoder, e yamldoc.Pair, fl string) { k.expect(e.V, fl, &k.c.HTTP) }},
	{"max_duration", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.duration(e.V, fl, 1); ok {
			k.c.HTTP.MaxDuration = v
		}
	}},
	{"insecure", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.boolean(e.V, fl); ok {
			k.c.HTTP.Insecure = v
		}
	}},
	{"ca_file", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			k.c.HTTP.CAFile = k.resolvePath(s)
			k.caFile(e.V, fl, k.c.HTTP.CAFile)
		}
	}},
	// client_cert and client_key go together: see crossCheck.
	{"client_cert", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			k.c.HTTP.ClientCert = k.resolvePath(s)
		}
	}},
	{"client_key", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			k.c.HTTP.ClientKey = k.resolvePath(s)
		}
	}},
	{"proxy", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			k.c.HTTP.Proxy = k.proxyURL(e.V, fl, s)
		}
	}},
	{"resolver", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.resolver(e.V, fl); ok {
			k.c.HTTP.Resolver = s
		}
	}},
	{"ip_version", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		switch {
		case e.V.ShortTag() == "!!str" && e.V.Value == "any":
			k.c.HTTP.IPVersion = 0
		case e.V.ShortTag() == "!!int" && (e.V.Value == "4" || e.V.Value == "6"):
			k.c.HTTP.IPVersion = int(e.V.Value[0] - '0')
		default:
			k.addf(e.V.Line, "%s: want 4, 6 or any, got %s", fl, yamldoc.Describe(e.V))
		}
	}},
	{"follow_redirects", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.boolean(e.V, fl); ok {
			k.c.HTTP.FollowRedirects = v
		}
	}},
	{"max_redirects", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.integer(e.V, fl, 1, 100); ok {
			k.c.HTTP.MaxRedirects = v
		}
	}},
	{"user_agent", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.userAgent(e.V, fl); ok {
			k.c.HTTP.UserAgent = s
		}
	}},
	{"max_body", (*checkDecoder).maxBody},
	{"warmup", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.integer(e.V, fl, 0, probe.MaxWarmup); ok {
			k.c.HTTP.Warmup = v
		}
	}},
	{"origin_url", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if u, ok := k.httpURL(e.V, fl, s); ok {
				k.originURL(e.V, fl, u)
			}
		}
	}},
	{"security", (*checkDecoder).security},
	{"tls", (*checkDecoder).tlsPosture},
	// The older spelling of max_body, kept so existing configs still load.
	{"max_body_bytes", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if other, ok := k.keys["max_body"]; ok {
			k.addf(e.K.Line, "%s: set max_body or max_body_bytes (its older name), not both (max_body at line %d)", k.label, other.K.Line)
			return
		}
		k.maxBody(e, fl)
	}},
}

// originURL takes an origin_url without credentials: the check's headers
// (an Authorization too) go to the edge and the origin alike.
func (k *checkDecoder) originURL(n *yaml.Node, label, u string) {
	if p, err := url.Parse(u); err == nil && p.User != nil {
		k.addf(n.Line, "%s: %q must not carry credentials (user:password@); set an Authorization header instead", label, yamldoc.Clip(shownURL(n.Value)))
		return
	}
	k.c.HTTP.OriginURL = u
}

// security decodes `security: true` or `security: {fail_on: LEVEL}` (a
// mapping turns it on).
func (k *checkDecoder) security(e yamldoc.Pair, fl string) {
	if e.V.Kind != yaml.MappingNode {
		if v, ok := k.boolean(e.V, fl); ok {
			k.c.HTTP.Security = v
		}
		return
	}
	k.c.HTTP.Security = true
	k.subsection(e, fl, map[string]func(yamldoc.Pair, string){
		"fail_on": func(f yamldoc.Pair, label string) {
			if s, ok := k.str(f.V, label); ok {
				if v, err := probe.ParseSeverity(s); err != nil {
					k.addf(f.V.Line, "%s: %v", label, err)
				} else {
					k.c.HTTP.SecurityFailOn = v
				}
			}
		},
	})
}

// tlsPosture decodes `tls: {min_version: "1.3", cert_min_days: 14}`. A
// version written unquoted (1.3) is a YAML float; its text is what counts.
func (k *checkDecoder) tlsPosture(e yamldoc.Pair, fl string) {
	k.subsection(e, fl, map[string]func(yamldoc.Pair, string){
		"min_version": func(f yamldoc.Pair, label string) {
			switch f.V.ShortTag() {
			case "!!str", "!!float":
			default:
				k.addf(f.V.Line, "%s: want a TLS version such as \"1.3\", got %s", label, yamldoc.Describe(f.V))
				return
			}
			if v, err := probe.ParseTLSVersion(f.V.Value); err != nil {
				k.addf(f.V.Line, "%s: %v", label, err)
			} else {
				k.c.HTTP.MinTLS = v
			}
		},
		"cert_min_days": func(f yamldoc.Pair, label string) {
			if v, ok := k.integer(f.V, label, 1, 3650); ok {
				k.c.HTTP.CertMinDays = v
			}
		},
	})
}

// maxBody decodes the body cap as --max-body takes it.
func (k *checkDecoder) maxBody(e yamldoc.Pair, fl string) {
	if v, ok := k.byteSize(e.V, fl); ok {
		k.c.HTTP.MaxBodyBytes = v
	}
}

func (d *decoder) expect(n *yaml.Node, label string, h *probe.HTTPSpec) {
	es, ok := d.mapping(n, label)
	if !ok {
		return
	}
	for _, e := range es {
		fl := label + "." + e.Key
		switch e.Key {
		case "status":
			d.status(e.V, fl, h)
		case "body":
			h.ExpectBody = append(h.ExpectBody, d.regexList(e.V, fl)...)
		case "body_not":
			h.ExpectBodyNot = append(h.ExpectBodyNot, d.regexList(e.V, fl)...)
		case "headers":
			h.ExpectHeaders = append(h.ExpectHeaders, d.headerPatterns(e.V, fl)...)
		case "headers_not":
			h.ExpectHeadersNot = append(h.ExpectHeadersNot, d.headerPatterns(e.V, fl)...)
		case "tls":
			if v, ok := d.boolean(e.V, fl); ok {
				h.RequireTLS = v
			}
		case "cache":
			h.ExpectCache = d.cacheStatuses(e.V, fl)
		default:
			d.unknown(e, label, []string{"status", "body", "body_not", "headers", "headers_not", "tls", "cache"})
		}
	}
}

// cacheStatuses decodes a cache status or a list of them.
func (d *decoder) cacheStatuses(n *yaml.Node, label string) []probe.CacheStatus {
	return listOf(d, n, label, func(it item) (probe.CacheStatus, bool) {
		c, err := probe.ParseCacheStatus(it.value)
		if err != nil {
			d.addf(it.line, "%s: %v", label, err)
			return "", false
		}
		return c, true
	})
}

// regexList decodes a regular expression or a list of them.
func (d *decoder) regexList(n *yaml.Node, label string) []*regexp.Regexp {
	return listOf(d, n, label, func(it item) (*regexp.Regexp, bool) { return d.regex(it, label) })
}

// listOf decodes a string or a list of strings, each item with parse (which
// reports its own problems); items that are not strings are reported once.
func listOf[T any](d *decoder, n *yaml.Node, label string, parse func(item) (T, bool)) []T {
	var out []T
	items, _ := d.strList(n, label)
	for _, it := range items {
		if !it.ok {
			continue
		}
		if v, ok := parse(it); ok {
			out = append(out, v)
		}
	}
	return out
}

// headerPatterns decodes a mapping of header names to regular expressions.
func (d *decoder) headerPatterns(n *yaml.Node, label string) []probe.HeaderExpectation {
	var out []probe.HeaderExpectation
	items, _ := d.strMap(n, label)
	for _, it := range items {
		if !it.ok {
			continue
		}
		hd, err := probe.ParseHeader(it.key + ": x")
		if err != nil {
			d.addf(it.line, "%s: %v", label, err)
			continue
		}
		if re, ok := d.regex(it, label+"."+it.key); ok {
			out = append(out, probe.HeaderExpectation{Name: hd.Name, Pattern: re})
		}
	}
	return out
}

// status decodes "200-399", 200, "2xx" or a list of them.
func (d *decoder) status(n *yaml.Node, label string, h *probe.HTTPSpec) {
	var parts []string
	add := func(c *yaml.Node) bool {
		switch c.ShortTag() {
		case "!!int", "!!str":
			parts = append(parts, c.Value)
			return true
		}
		d.addf(c.Line, "%s: want a status code, range or list such as \"200-399\" or [200, 301], got %s", label, yamldoc.Describe(c))
		return false
	}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			d.addf(n.Line, "%s: the list is empty", label)
			return
		}
		for _, c := range n.Content {
			if !add(yamldoc.Deref(c)) {
				return
			}
		}
	} else if !add(n) {
		return
	}
	rs, err := probe.ParseStatusRanges(strings.Join(parts, ","))
	if err != nil {
		d.addf(n.Line, "%s: %v", label, err)
		return
	}
	h.ExpectStatus = rs
}

var regexpErrPrefix = "error parsing regexp: "

func (d *decoder) regex(it item, label string) (*regexp.Regexp, bool) {
	re, err := regexp.Compile(it.value)
	if err != nil {
		d.addf(it.line, "%s: bad regular expression %q: %s", label, yamldoc.Clip(it.raw), strings.TrimPrefix(err.Error(), regexpErrPrefix))
		return nil, false
	}
	return re, true
}

func (d *decoder) proxyURL(n *yaml.Node, label, s string) string {
	shown := shownURL(n.Value)
	u, err := url.Parse(s)
	switch {
	case err != nil:
		d.addf(n.Line, "%s: %q is not a valid URL", label, yamldoc.Clip(shown))
	case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5":
		d.addf(n.Line, "%s: %q: want an http://, https:// or socks5:// proxy URL", label, yamldoc.Clip(shown))
	case u.Hostname() == "":
		d.addf(n.Line, "%s: %q has no host", label, yamldoc.Clip(shown))
	default:
		return s
	}
	return ""
}

// caFile checks that a CA bundle holds at least one PEM certificate.
func (d *decoder) caFile(n *yaml.Node, label, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		d.addf(n.Line, "%s: %v", label, err)
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		d.addf(n.Line, "%s: %s holds no PEM certificate", label, path)
	}
}
