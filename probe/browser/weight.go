package browser

import (
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/chromedp/cdproto/network"
	"golang.org/x/net/publicsuffix"

	"github.com/storeprobe/storeprobe/probe"
)

// What a page is made of: its requests by resource type and by registrable
// domain, counted as they happen (the request log is capped, these are
// not), in segments of its document split at the main frame's
// same-document URL changes, so that a soft navigation gets the requests
// made from its route change on.

// Bounds of the composition kept per document.
const (
	maxSegments    = 64  // URL changes followed per document; later ones stay in the last segment
	maxDomains     = 100 // registrable domains per segment; the rest count as otherDomain
	maxThirdByEach = 5   // third parties reported: the top this many by bytes and by blocking time
)

// otherDomain collects the requests past maxDomains.
const otherDomain = "(other)"

// resourceKind is a request's type as reported (probe.Resources' fields).
type resourceKind int

const (
	kindDocument resourceKind = iota
	kindScript
	kindCSS
	kindImage
	kindFont
	kindXHR
	kindOther
	numKinds
)

// kindOf maps Chrome's resource type to ours: XHR and fetch are one, and
// media, beacons, preflights, manifests and the rest are other.
func kindOf(t network.ResourceType) resourceKind {
	switch t {
	case network.ResourceTypeDocument:
		return kindDocument
	case network.ResourceTypeScript:
		return kindScript
	case network.ResourceTypeStylesheet:
		return kindCSS
	case network.ResourceTypeImage:
		return kindImage
	case network.ResourceTypeFont:
		return kindFont
	case network.ResourceTypeXHR, network.ResourceTypeFetch:
		return kindXHR
	}
	return kindOther
}

// hostOf is the host of a URL, "" if it has none.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// registrableDomain is the public suffix plus one label of host (eTLD+1:
// shop.example.co.uk for www.shop.example.co.uk), by the Public Suffix
// List: what tells a shop's own subdomains from third parties. An IP
// address or a single-label name is its own domain.
func registrableDomain(host string) string {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if host == "" || net.ParseIP(strings.Trim(host, "[]")) != nil {
		return host
	}
	d, err := publicsuffix.EffectiveTLDPlusOne(host)
	if err != nil {
		return host
	}
	return d
}

// segment is the network of a stretch of one document's life.
type segment struct {
	url     string    // the URL change that started it; "" for the document's start
	at      time.Time // when
	req     int
	failed  int
	bytes   int64
	kinds   [numKinds]probe.ResourceCount
	domains map[string]*probe.ResourceCount
	tags    *pageTags // beacons, findings, mixed content; nil without
}

func newSegment(url string, at time.Time) *segment {
	return &segment{url: url, at: at, domains: map[string]*probe.ResourceCount{}}
}

// add counts requests and bytes of kind from domain.
func (s *segment) add(kind resourceKind, domain string, requests int, bytes int64) {
	s.req += requests
	s.bytes += bytes
	s.kinds[kind].Requests += requests
	s.kinds[kind].Bytes += bytes
	d := s.domains[domain]
	if d == nil {
		if len(s.domains) >= maxDomains {
			domain = otherDomain
		}
		if d = s.domains[domain]; d == nil {
			d = &probe.ResourceCount{}
			s.domains[domain] = d
		}
	}
	d.Requests += requests
	d.Bytes += bytes
}

// clone copies the totals and their segments (the snapshot outlives the
// lock).
func (n *netStats) clone() netStats {
	c := *n
	c.segs = make([]*segment, len(n.segs))
	for i, s := range n.segs {
		cs := *s
		cs.domains = make(map[string]*probe.ResourceCount, len(s.domains))
		for k, v := range s.domains {
			vv := *v
			cs.domains[k] = &vv
		}
		cs.tags = s.tags.clone()
		c.segs[i] = &cs
	}
	return c
}

// splitSegments gives each page of one document its segments: pages are
// the document's views in order (the document first, then its soft
// navigations), each soft navigation starting at the URL change to its
// URL; URL changes that are no soft navigation (a filter in the query, a
// fragment) stay with the page before them.
func splitSegments(pages []document, segs []*segment) [][]*segment {
	out := make([][]*segment, len(pages))
	if len(segs) == 0 {
		return out
	}
	starts := make([]int, len(pages))
	next := 1
	for i := 1; i < len(pages); i++ {
		start := -1
		for j := next; j < len(segs); j++ {
			if segs[j].url == pages[i].v.URL {
				start = j
				break
			}
		}
		if start < 0 && next < len(segs) {
			start = next // the route's URL was changed again before it was reported
		}
		if start < 0 {
			start = len(segs)
		}
		starts[i], next = start, start+1
	}
	for i := range pages {
		end := len(segs)
		if i+1 < len(pages) {
			end = starts[i+1]
		}
		if starts[i] < end {
			out[i] = segs[starts[i]:end]
		}
	}
	return out
}

// composition fills m's requests, resources and third parties from segs,
// with blocking time from the collector's script attribution. firstParty
// is the page's registrable domain.
func composition(m *probe.PageMetrics, segs []*segment, scripts []collectedScript, firstParty string) {
	kinds := []*probe.ResourceCount{&m.Resources.Document, &m.Resources.Script, &m.Resources.CSS,
		&m.Resources.Image, &m.Resources.Font, &m.Resources.XHR, &m.Resources.Other}
	third := map[string]*probe.ThirdParty{}
	party := func(domain string) *probe.ThirdParty {
		tp := third[domain]
		if tp == nil {
			tp = &probe.ThirdParty{Domain: domain}
			third[domain] = tp
		}
		return tp
	}
	for _, s := range segs {
		m.Requests += s.req
		m.FailedRequests += s.failed
		m.TransferBytes += s.bytes
		for k, c := range s.kinds {
			kinds[k].Requests += c.Requests
			kinds[k].Bytes += c.Bytes
		}
		for domain, c := range s.domains {
			if domain == firstParty || domain == "" {
				continue
			}
			tp := party(domain)
			tp.Requests += c.Requests
			tp.Bytes += c.Bytes
			m.ThirdPartyRequests += c.Requests
			m.ThirdPartyBytes += c.Bytes
		}
	}
	for _, sc := range scripts {
		domain := registrableDomain(hostOf(sc.URL))
		if domain == firstParty || domain == "" {
			continue
		}
		party(domain).BlockingMS += sc.Blocking
		m.ThirdPartyBlockingMS += sc.Blocking
	}
	m.ThirdPartyBlockingMS = round(m.ThirdPartyBlockingMS, 1)
	m.ThirdParties = topThirdParties(third)
}

// topThirdParties keeps the top maxThirdByEach by bytes and the top
// maxThirdByEach by blocking time, heaviest first.
func topThirdParties(all map[string]*probe.ThirdParty) []probe.ThirdParty {
	list := make([]probe.ThirdParty, 0, len(all))
	for _, tp := range all {
		tp.BlockingMS = round(tp.BlockingMS, 1)
		list = append(list, *tp)
	}
	keep := map[string]bool{}
	sort.Slice(list, func(i, j int) bool {
		if list[i].BlockingMS != list[j].BlockingMS {
			return list[i].BlockingMS > list[j].BlockingMS
		}
		return list[i].Domain < list[j].Domain
	})
	for i := 0; i < len(list) && i < maxThirdByEach && list[i].BlockingMS > 0; i++ {
		keep[list[i].Domain] = true
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Bytes != list[j].Bytes {
			return list[i].Bytes > list[j].Bytes
		}
		return list[i].Domain < list[j].Domain
	})
	for i := 0; i < len(list) && i < maxThirdByEach; i++ {
		keep[list[i].Domain] = true
	}
	var out []probe.ThirdParty
	for _, tp := range list {
		if keep[tp.Domain] {
			out = append(out, tp)
		}
	}
	return out
}
