package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
	"go.yaml.in/yaml/v3"
)

const maxRetries = 10

// commonKeys apply to every check type.
var commonKeys = []string{"name", "type", "url", "schedule", "timeout", "retries", "tags", "slo"}

// typedKeys apply only to the listed check types.
var typedKeys = map[string][]probe.CheckType{
	"method": {probe.TypeHTTP}, "headers": {probe.TypeHTTP}, "body": {probe.TypeHTTP},
	"secret_headers": {probe.TypeHTTP}, "expect": {probe.TypeHTTP}, "max_duration": {probe.TypeHTTP},
	"insecure": {probe.TypeHTTP}, "ca_file": {probe.TypeHTTP}, "client_cert": {probe.TypeHTTP},
	"client_key": {probe.TypeHTTP}, "proxy": {probe.TypeHTTP}, "resolver": {probe.TypeHTTP},
	"ip_version": {probe.TypeHTTP}, "follow_redirects": {probe.TypeHTTP}, "max_redirects": {probe.TypeHTTP},
	"user_agent": {probe.TypeHTTP}, "max_body": {probe.TypeHTTP}, "max_body_bytes": {probe.TypeHTTP},

	"device": {probe.TypeBrowser, probe.TypeJourney}, "max_load": {probe.TypeBrowser, probe.TypeJourney},
	"max_vitals":             {probe.TypeBrowser, probe.TypeJourney},
	"fail_on_console_errors": {probe.TypeBrowser, probe.TypeJourney},

	"journey": {probe.TypeJourney}, "template": {probe.TypeJourney}, "params": {probe.TypeJourney},
}

// allCheckKeys is every key a check may have, for typo suggestions.
func allCheckKeys() []string {
	var typed []string
	for k := range typedKeys {
		typed = append(typed, k)
	}
	sort.Strings(typed)
	return append(append([]string(nil), commonKeys...), typed...)
}

func (d *decoder) checks(sec yamldoc.Pair, cfg *Config) {
	n := sec.V
	if n.Kind != yaml.SequenceNode {
		d.addf(n.Line, "checks: want a list of checks, got %s", yamldoc.Describe(n))
		return
	}
	if len(n.Content) == 0 {
		d.addf(sec.K.Line, "checks: the list is empty")
		return
	}
	names := map[string]int{} // also of invalid checks, so duplicates are found regardless
	for i, c := range n.Content {
		if !d.spend(c.Line) {
			return
		}
		c = yamldoc.Deref(c)
		chk, ok := d.check(i, c, cfg)
		if chk.Name == "" {
			continue
		}
		if first, dup := names[chk.Name]; dup {
			d.addf(c.Line, "check %q: duplicate name (first at line %d); names identify a check's history, so they must be unique", chk.Name, first)
			continue
		}
		names[chk.Name] = c.Line
		if ok {
			cfg.Lines[chk.Name] = c.Line
			cfg.Checks = append(cfg.Checks, chk)
		}
	}
}

// check decodes one list entry. ok is false if anything was wrong with it;
// the name is returned even then, so duplicates are still found.
func (d *decoder) check(i int, n *yaml.Node, cfg *Config) (probe.Check, bool) {
	label := fmt.Sprintf("checks[%d]", i)
	before := len(d.problems)
	if n.ShortTag() == "!!null" {
		d.addf(n.Line, "%s: empty entry", label)
		return probe.Check{}, false
	}
	es, ok := d.mapping(n, label)
	if !ok {
		return probe.Check{}, false
	}
	keys := map[string]yamldoc.Pair{}
	for _, e := range es {
		keys[e.Key] = e
	}
	def := cfg.Defaults
	c := probe.Check{
		Type:     probe.TypeHTTP,
		Retries:  def.Retries,
		Location: def.Location,
		Probe:    def.Probe,
		Tags:     def.Tags,
		SLO:      def.SLO,
		HTTP: probe.HTTPSpec{
			UserAgent:       def.UserAgent,
			Resolver:        def.Resolver,
			FollowRedirects: true,
			MaxRedirects:    probe.DefaultMaxRedirects,
			MaxBodyBytes:    probe.DefaultMaxBodyBytes,
		},
		Browser: probe.BrowserSpec{Device: probe.DeviceDesktop},
	}
	if e, ok := keys["name"]; ok {
		if s, ok := d.str(e.V, label+": name"); ok {
			if err := plainText(s, 128); err != nil {
				d.addf(e.V.Line, "%s: name: %v", label, err)
			} else {
				c.Name = s
				label = fmt.Sprintf("check %q", s)
			}
		}
	} else {
		d.addf(n.Line, "%s: name is required", label)
	}
	typeKnown := true
	if e, ok := keys["type"]; ok {
		if s, ok := d.str(e.V, label+": type"); ok {
			c.Type = probe.CheckType(s)
		}
		if !c.Type.Valid() {
			typeKnown = false
			if e.V.ShortTag() == "!!str" {
				d.addf(e.V.Line, "%s: unknown check type %q (want http, browser or journey)", label, yamldoc.Clip(e.V.Value))
			}
		}
	}

	var maxLine int
	var hasTimeout, hasJourney, hasTemplate, journeyOK bool
	var clientCert, clientKey *yamldoc.Pair
	var followSet *yamldoc.Pair
	var maxRedirSet *yamldoc.Pair
	for _, e := range es {
		fl := label + ": " + e.Key
		if types, typed := typedKeys[e.Key]; typed && typeKnown && !hasType(types, c.Type) {
			d.addf(e.K.Line, "%s: %s applies to %s checks only, not %s checks", label, e.Key, typeList(types), c.Type)
			continue
		}
		switch e.Key {
		case "name", "type":
		case "url":
			if s, ok := d.str(e.V, fl); ok {
				if u, ok := d.httpURL(e.V, fl, s); ok {
					c.URL = u
				}
			}
		case "schedule":
			if s, ok := d.str(e.V, fl); ok {
				// The scheduler's own parser, so validate and run agree.
				if _, err := schedule.ParseSpec(s); err != nil {
					d.addf(e.V.Line, "%s: %v", label, err)
				} else {
					c.Schedule = s
				}
			}
		case "timeout":
			hasTimeout = true
			if v, ok := d.duration(e.V, fl, 1); ok {
				c.Timeout = v
			}
		case "retries":
			if v, ok := d.integer(e.V, fl, 0, maxRetries); ok {
				c.Retries = v
			}
		case "tags":
			c.Tags = d.tags(e.V, fl, def.Tags)
		case "slo":
			c.SLO = d.slo(e.V, fl, def.SLO)

		case "method":
			if s, ok := d.str(e.V, fl); ok {
				if _, err := probe.ParseHeader(s + ": x"); err != nil || strings.TrimSpace(s) != s {
					d.addf(e.V.Line, "%s: %q is not an HTTP method", fl, yamldoc.Clip(s))
				} else {
					// Upper-cased, as the CLI's --method post is: every
					// method a shop check sends is an upper-case standard one.
					c.HTTP.Method = strings.ToUpper(s)
				}
			}
		case "headers":
			items, _ := d.strMap(e.V, fl)
			for _, it := range items {
				if !it.ok {
					continue
				}
				h, err := probe.ParseHeader(it.key + ": " + it.value)
				if err != nil {
					d.addf(it.line, "%s: %v", fl, err)
					continue
				}
				c.HTTP.Headers = append(c.HTTP.Headers, h)
			}
		case "body":
			if s, ok := d.str(e.V, fl); ok {
				c.HTTP.Body = s
			}
		case "secret_headers":
			items, _ := d.strList(e.V, fl)
			for _, it := range items {
				if !it.ok {
					continue
				}
				h, err := probe.ParseHeader(it.value + ": x")
				if err != nil {
					d.addf(it.line, "%s: %v", fl, err)
					continue
				}
				c.HTTP.SecretHeaders = append(c.HTTP.SecretHeaders, h.Name)
			}
		case "expect":
			d.expect(e.V, fl, &c.HTTP)
		case "max_duration":
			maxLine = e.V.Line
			if v, ok := d.duration(e.V, fl, 1); ok {
				c.HTTP.MaxDuration = v
			}
		case "insecure":
			if v, ok := d.boolean(e.V, fl); ok {
				c.HTTP.Insecure = v
			}
		case "ca_file":
			if s, ok := d.str(e.V, fl); ok {
				c.HTTP.CAFile = d.resolvePath(s)
				d.caFile(e.V, fl, c.HTTP.CAFile)
			}
		case "client_cert":
			clientCert = &e
			if s, ok := d.str(e.V, fl); ok {
				c.HTTP.ClientCert = d.resolvePath(s)
			}
		case "client_key":
			clientKey = &e
			if s, ok := d.str(e.V, fl); ok {
				c.HTTP.ClientKey = d.resolvePath(s)
			}
		case "proxy":
			if s, ok := d.str(e.V, fl); ok {
				c.HTTP.Proxy = d.proxyURL(e.V, fl, s)
			}
		case "resolver":
			if s, ok := d.resolver(e.V, fl); ok {
				c.HTTP.Resolver = s
			}
		case "ip_version":
			switch {
			case e.V.ShortTag() == "!!str" && e.V.Value == "any":
				c.HTTP.IPVersion = 0
			case e.V.ShortTag() == "!!int" && (e.V.Value == "4" || e.V.Value == "6"):
				c.HTTP.IPVersion = int(e.V.Value[0] - '0')
			default:
				d.addf(e.V.Line, "%s: want 4, 6 or any, got %s", fl, yamldoc.Describe(e.V))
			}
		case "follow_redirects":
			followSet = &e
			if v, ok := d.boolean(e.V, fl); ok {
				c.HTTP.FollowRedirects = v
			}
		case "max_redirects":
			maxRedirSet = &e
			if v, ok := d.integer(e.V, fl, 1, 100); ok {
				c.HTTP.MaxRedirects = v
			}
		case "user_agent":
			if s, ok := d.userAgent(e.V, fl); ok {
				c.HTTP.UserAgent = s
			}
		case "max_body", "max_body_bytes":
			// max_body_bytes is the older spelling, kept so existing
			// configs still load; both take what --max-body takes.
			if other, ok := keys[otherBodyKey(e.Key)]; ok && e.Key == "max_body_bytes" {
				d.addf(e.K.Line, "%s: set max_body or max_body_bytes (its older name), not both (max_body at line %d)", label, other.K.Line)
				break
			}
			if v, ok := d.byteSize(e.V, fl); ok {
				c.HTTP.MaxBodyBytes = v
			}

		case "device":
			if s, ok := d.str(e.V, fl); ok {
				if _, custom := cfg.Browser.Devices[s]; s != probe.DeviceDesktop && s != probe.DeviceMobile && !custom {
					d.addf(e.V.Line, "%s: unknown device %q (want desktop, mobile or a name under browser.devices)", fl, yamldoc.Clip(s))
				} else {
					c.Browser.Device = s
				}
			}
		case "max_load":
			maxLine = e.V.Line
			if v, ok := d.duration(e.V, fl, 1); ok {
				c.Browser.MaxLoad = v
			}
		case "max_vitals":
			c.Browser.MaxVitals = d.maxVitals(e.V, fl)
		case "fail_on_console_errors":
			if v, ok := d.boolean(e.V, fl); ok {
				c.Browser.FailOnConsole = v
			}

		case "journey":
			hasJourney = true
			if s, ok := d.str(e.V, fl); ok {
				if strings.TrimSpace(s) == "" {
					d.addf(e.V.Line, "%s: must not be empty", fl)
					break
				}
				c.Journey.File = d.resolvePath(s)
				journeyOK = d.loadJourney(c.Journey.File, e.V.Line, fl)
			}
		case "template":
			hasTemplate = true
			if s, ok := d.str(e.V, fl); ok {
				known := d.opts.templates
				switch {
				case !deviceName(s):
					d.addf(e.V.Line, "%s: %q is not a template name", fl, yamldoc.Clip(s))
				case known != nil && !known(s):
					d.addf(e.V.Line, "%s: unknown journey template %q", fl, s)
				default:
					c.Journey.Template = s
					journeyOK = true
				}
			}
		case "params":
			items, _ := d.strMap(e.V, fl)
			c.Journey.Params = map[string]string{}
			for _, it := range items {
				if !it.ok {
					continue
				}
				if !identifier(it.key) {
					d.addf(it.line, "%s: parameter name %q: want letters, digits and _ (not starting with a digit)", fl, yamldoc.Clip(it.key))
					continue
				}
				c.Journey.Params[it.key] = it.value
			}
		default:
			if !typeKnown {
				// The type is wrong already; one message is enough.
				if _, typed := typedKeys[e.Key]; typed {
					continue
				}
			}
			d.unknown(e, label, allCheckKeys())
		}
	}

	if typeKnown {
		switch c.Type {
		case probe.TypeHTTP, probe.TypeBrowser:
			if _, ok := keys["url"]; !ok {
				d.addf(n.Line, "%s: url is required for %s checks", label, c.Type)
			}
		case probe.TypeJourney:
			switch {
			case hasJourney && hasTemplate:
				d.addf(keys["template"].K.Line, "%s: set journey or template, not both", label)
			case !hasJourney && !hasTemplate:
				d.addf(n.Line, "%s: a journey check needs journey: FILE or template: NAME", label)
			}
			if journeyOK && hasJourney != hasTemplate && d.opts.params != nil {
				line, where := n.Line, label
				if e, ok := keys["params"]; ok {
					line, where = e.K.Line, label+": params"
				}
				d.hookError(d.opts.params(c.Journey), line, where)
			}
			// The journey's base URL stands for the check's URL (the host
			// tag) when the check names none.
			if _, ok := keys["url"]; !ok {
				if u, err := url.Parse(c.Journey.Params["base_url"]); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
					c.URL = u.String()
				}
			}
		}
	}
	if _, ok := keys["schedule"]; !ok {
		d.addf(n.Line, "%s: schedule is required (a cron spec such as \"*/5 * * * *\" or \"@every 1m\")", label)
	}

	// defaults.timeout is an HTTP setting, like user_agent and resolver: a
	// page load or a journey legitimately takes longer than a request, and a
	// shared 10s would cut every journey short.
	if !hasTimeout {
		switch c.Type {
		case probe.TypeBrowser:
			c.Timeout = probe.DefaultBrowserTimeout
		case probe.TypeJourney:
			c.Timeout = probe.DefaultJourneyTimeout
		default:
			c.Timeout = def.Timeout
			if c.Timeout == 0 {
				c.Timeout = probe.DefaultTimeout
			}
		}
	}
	// Each spec carries only what its type uses.
	switch c.Type {
	case probe.TypeHTTP:
		c.Browser = probe.BrowserSpec{}
	default:
		c.HTTP = probe.HTTPSpec{}
	}
	// A journey without a device of its own check runs on the device its
	// file names (else desktop), so the empty value must survive.
	if _, ok := keys["device"]; !ok && c.Type == probe.TypeJourney {
		c.Browser.Device = ""
	}
	// A limit the timeout always cuts short would never report too_slow.
	limit, limitKey := c.HTTP.MaxDuration, "max_duration"
	if c.Type != probe.TypeHTTP {
		limit, limitKey = c.Browser.MaxLoad, "max_load"
	}
	if limit > 0 && c.Timeout > 0 && limit >= c.Timeout {
		where := "the default timeout"
		if hasTimeout {
			where = "the timeout"
		} else if c.Type == probe.TypeHTTP && def.Timeout > 0 {
			where = "defaults.timeout"
		}
		d.addf(maxLine, "%s: %s %s is not below %s %s, so the check would time out before it is too slow", label, limitKey, limit, where, c.Timeout)
	}
	switch {
	case clientCert != nil && clientKey == nil:
		d.addf(clientCert.K.Line, "%s: client_cert needs client_key", label)
	case clientKey != nil && clientCert == nil:
		d.addf(clientKey.K.Line, "%s: client_key needs client_cert", label)
	case clientCert != nil && c.HTTP.ClientCert != "" && c.HTTP.ClientKey != "":
		if _, err := tls.LoadX509KeyPair(c.HTTP.ClientCert, c.HTTP.ClientKey); err != nil {
			d.addf(clientCert.V.Line, "%s: client_cert/client_key: %v", label, err)
		}
	}
	if maxRedirSet != nil && followSet != nil && !c.HTTP.FollowRedirects {
		d.addf(maxRedirSet.K.Line, "%s: max_redirects has no effect with follow_redirects: false", label)
	}
	// Only a check the config accepts goes to the validator: a bad key
	// would otherwise be reported twice, in two wordings.
	if len(d.problems) == before && c.Type == probe.TypeHTTP && d.opts.checkHTTP != nil {
		d.validated(d.opts.checkHTTP(c), n.Line, label, keys)
	}
	return c, len(d.problems) == before
}

// fieldAliases are the config keys a validator's field may be written as.
var fieldAliases = map[string][]string{"max_body": {"max_body", "max_body_bytes"}}

// validated reports a check validator's error: each *probe.FieldError at the line
// of its key in the check, falling back to the check's line (a value
// inherited from defaults, a missing key).
func (d *decoder) validated(err error, line int, label string, keys map[string]yamldoc.Pair) {
	for _, e := range probe.LeafErrors(err) {
		var fe *probe.FieldError
		if !errors.As(e, &fe) {
			d.addf(line, "%s: %v", label, e)
			continue
		}
		at := line
		names := fieldAliases[fe.Field]
		if names == nil {
			names = []string{fe.Field}
		}
		for _, k := range names {
			if ent, ok := keys[k]; ok {
				at = ent.K.Line
				break
			}
		}
		d.addf(at, "%s: %v", label, fe)
	}
}

func otherBodyKey(k string) string {
	if k == "max_body" {
		return "max_body_bytes"
	}
	return "max_body"
}

func hasType(types []probe.CheckType, t probe.CheckType) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

func typeList(types []probe.CheckType) string {
	s := make([]string, len(types))
	for i, t := range types {
		s[i] = string(t)
	}
	return strings.Join(s, " and ")
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
			items, _ := d.strList(e.V, fl)
			for _, it := range items {
				if !it.ok {
					continue
				}
				if re, ok := d.regex(it, fl); ok {
					h.ExpectBody = append(h.ExpectBody, re)
				}
			}
		case "headers":
			items, _ := d.strMap(e.V, fl)
			for _, it := range items {
				if !it.ok {
					continue
				}
				hd, err := probe.ParseHeader(it.key + ": x")
				if err != nil {
					d.addf(it.line, "%s: %v", fl, err)
					continue
				}
				if re, ok := d.regex(it, fl+"."+it.key); ok {
					h.ExpectHeaders = append(h.ExpectHeaders, probe.HeaderExpectation{Name: hd.Name, Pattern: re})
				}
			}
		default:
			d.unknown(e, label, []string{"status", "body", "headers"})
		}
	}
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

// maxVitals decodes per-vital limits: durations for the timed vitals (kept
// in ms), a plain number for CLS.
func (d *decoder) maxVitals(n *yaml.Node, label string) map[probe.Vital]float64 {
	es, ok := d.mapping(n, label)
	if !ok {
		return nil
	}
	out := map[probe.Vital]float64{}
	for _, e := range es {
		fl := label + "." + e.Key
		switch v := probe.Vital(e.Key); v {
		case probe.VitalCLS:
			if x, ok := d.number(e.V, fl, 0, 10); ok {
				out[v] = x
			}
		case probe.VitalLCP, probe.VitalINP, probe.VitalFCP, probe.VitalTTFB:
			if e.V.ShortTag() == "!!int" || e.V.ShortTag() == "!!float" {
				d.addf(e.V.Line, "%s: want a duration such as %s, got the number %s (add a unit)", fl, vitalExample(v), yamldoc.Clip(e.V.Value))
				continue
			}
			if x, ok := d.duration(e.V, fl, 1); ok {
				out[v] = float64(x) / float64(time.Millisecond)
			}
		default:
			d.unknown(e, label, []string{"lcp", "cls", "inp", "fcp", "ttfb"})
		}
	}
	return out
}

func vitalExample(v probe.Vital) string {
	return fmt.Sprintf("%gms", probe.Thresholds(v).Good)
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

// loadJourney validates a journey file once, however many checks name it.
func (d *decoder) loadJourney(path string, line int, label string) bool {
	if valid, done := d.journeys[path]; done {
		return valid
	}
	var err error
	if d.opts.journey != nil {
		err = d.opts.journey(path)
	} else {
		err = regularFile(path)
	}
	d.journeys[path] = err == nil
	d.hookError(err, line, label)
	return err == nil
}

// hookError reports the error of a caller-supplied validator: the
// probe.Problems in it keep their own file and line (a journey's), any
// other error is put at line, one problem per line of its message.
func (d *decoder) hookError(err error, line int, label string) {
	for _, e := range probe.LeafErrors(err) {
		var ps probe.Problems
		if errors.As(e, &ps) {
			for _, p := range ps {
				d.add(p)
			}
			continue
		}
		for _, ln := range strings.Split(e.Error(), "\n") {
			if strings.TrimSpace(ln) != "" {
				d.addf(line, "%s: %s", label, ln)
			}
		}
	}
}

func regularFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New(path + " is not a regular file")
	}
	return nil
}
