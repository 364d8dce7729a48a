package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
	"go.yaml.in/yaml/v3"
)

// A check's grammar is tables of keys: commonKeys for every check, then one
// table per check type (httpKeys, browserKeys, journeyKeys, beside their
// decoders). The same tables decode a check's keys and word the problem
// with a key that is another type's ("applies to http checks only") or no
// type's ("unknown key"); the rules between keys are in crossCheck.

const maxRetries = 10

// checkKey is one key a check may have and how its value is decoded into
// the check; fl labels the key in messages (`check "home": timeout`).
type checkKey struct {
	name   string
	decode func(k *checkDecoder, e yamldoc.Pair, fl string)
}

// checkTypes lists the check types, in the order messages name them, with
// the tables of keys each takes besides commonKeys.
var checkTypes = []struct {
	typ  probe.CheckType
	keys [][]checkKey
}{
	{probe.TypeHTTP, [][]checkKey{httpKeys}},
	{probe.TypeBrowser, [][]checkKey{browserKeys, pageKeys}},
	{probe.TypeJourney, [][]checkKey{browserKeys, journeyKeys}},
}

// commonKeys apply to every check type.
var commonKeys = []checkKey{
	// Decoded before the others (see start): every message's label and the
	// check's tables depend on them.
	{"name", nil},
	{"type", nil},
	{"url", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if u, ok := k.httpURL(e.V, fl, s); ok {
				k.c.URL = u
			}
		}
	}},
	{"schedule", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			// The scheduler's own parser, so validate and run agree.
			if _, err := schedule.ParseSpec(s); err != nil {
				k.addf(e.V.Line, "%s: %v", k.label, err)
			} else {
				k.c.Schedule = s
			}
		}
	}},
	{"timeout", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.duration(e.V, fl, 1); ok {
			k.c.Timeout = v
		}
	}},
	{"retries", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.integer(e.V, fl, 0, maxRetries); ok {
			k.c.Retries = v
		}
	}},
	{"retry_on", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if e.V.Kind == yaml.SequenceNode && len(e.V.Content) == 0 {
			k.addf(e.V.Line, "%s: the list is empty; to retry nothing, set retries: 0", fl)
			return
		}
		items, ok := k.strList(e.V, fl)
		on := probe.RetryOn{}
		for _, it := range items {
			if !it.ok {
				continue
			}
			if err := probe.ValidRetryOn(it.value); err != nil {
				k.addf(it.line, "%s: %v", fl, err)
				ok = false
				continue
			}
			on = append(on, it.value)
		}
		if ok {
			k.c.RetryOn = on
		}
	}},
	{"tags", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		k.c.Tags = k.tags(e.V, fl, k.cfg.Defaults.Tags)
	}},
	{"slo", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		k.sloSpec = k.slo(e.V, fl, k.defaultSLO)
	}},
	{"notify", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		k.c.Notify = k.notifyList(e, fl)
	}},
	{"depends_on", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		items, _ := k.strList(e.V, fl)
		for _, it := range items {
			if it.ok {
				k.c.DependsOn = append(k.c.DependsOn, it.value)
				k.checkRefs = append(k.checkRefs, ref{name: it.value, line: it.line, label: fl})
			}
		}
		if k.c.Name != "" {
			k.dependsLines[k.c.Name] = e.K.Line
		}
	}},
	{"runbook_url", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if u, ok := k.httpURL(e.V, fl, s); ok {
				k.c.RunbookURL = u
			}
		}
	}},
}

// findKey returns the key called name in tables.
func findKey(tables [][]checkKey, name string) (checkKey, bool) {
	for _, t := range tables {
		for _, ck := range t {
			if ck.name == name {
				return ck, true
			}
		}
	}
	return checkKey{}, false
}

// typesOf lists the check types that take the typed key name.
func typesOf(name string) []probe.CheckType {
	var out []probe.CheckType
	for _, ct := range checkTypes {
		if _, ok := findKey(ct.keys, name); ok {
			out = append(out, ct.typ)
		}
	}
	return out
}

// allCheckKeys is every key a check may have, for the unknown-key message:
// the common keys in their order, then the others sorted.
func allCheckKeys() []string {
	var out []string
	for _, ck := range commonKeys {
		out = append(out, ck.name)
	}
	typed := map[string]bool{}
	for _, ct := range checkTypes {
		for _, t := range ct.keys {
			for _, ck := range t {
				typed[ck.name] = true
			}
		}
	}
	return append(out, slices.Sorted(maps.Keys(typed))...)
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
		if !d.spend(c.Line) || d.stopped {
			return // out of budget, or past the problem cap: nothing more will be said
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
		d.checkNames[chk.Name] = true
		if ok {
			cfg.Lines[chk.Name] = c.Line
			cfg.Checks = append(cfg.Checks, chk)
		}
	}
}

// checkDecoder holds one check while its keys are decoded.
type checkDecoder struct {
	*decoder
	cfg   *Config
	n     *yaml.Node // the list entry
	label string     // checks[i], then check "name" once the name is known
	c     probe.Check
	keys  map[string]yamldoc.Pair // every key of the entry
	// decoded are the keys decoded for the check's type. The rules between
	// keys look only at these: a key of another type is reported as that,
	// once.
	decoded   map[string]yamldoc.Pair
	typeKnown bool
	journeyOK bool    // the journey file or template it names is valid
	sloSpec   sloSpec // the check's slo block over the defaults'
}

// check decodes one list entry. ok is false if anything was wrong with it;
// the name is returned even then, so duplicates are still found.
func (d *decoder) check(i int, n *yaml.Node, cfg *Config) (probe.Check, bool) {
	before := len(d.problems)
	k := &checkDecoder{decoder: d, cfg: cfg, n: n, label: fmt.Sprintf("checks[%d]", i),
		keys: map[string]yamldoc.Pair{}, decoded: map[string]yamldoc.Pair{}, typeKnown: true, sloSpec: d.defaultSLO}
	if n.ShortTag() == "!!null" {
		d.addf(n.Line, "%s: empty entry", k.label)
		return probe.Check{}, false
	}
	es, ok := d.mapping(n, k.label)
	if !ok {
		return probe.Check{}, false
	}
	for _, e := range es {
		k.keys[e.Key] = e
	}
	k.start()
	for _, e := range es {
		k.key(e)
	}
	k.complete()
	k.crossCheck()
	// Only a check the config accepts goes to the validator: a bad key
	// would otherwise be reported twice, in two wordings.
	if len(d.problems) == before && k.c.Type == probe.TypeHTTP && d.opts.checkHTTP != nil {
		d.validated(d.opts.checkHTTP(k.c), n.Line, k.label, k.keys)
	}
	return k.c, len(d.problems) == before
}

// start sets what a check inherits (defaults of the file and of each spec)
// and decodes its name and type.
func (k *checkDecoder) start() {
	def := k.cfg.Defaults
	k.c = probe.Check{
		Type:     probe.TypeHTTP,
		Retries:  def.Retries,
		Location: def.Location,
		Probe:    def.Probe,
		Tags:     def.Tags,
		HTTP: probe.HTTPSpec{
			UserAgent:       def.UserAgent,
			Resolver:        def.Resolver,
			FollowRedirects: true,
			MaxRedirects:    probe.DefaultMaxRedirects,
			MaxBodyBytes:    probe.DefaultMaxBodyBytes,
		},
		Browser: probe.BrowserSpec{Device: probe.DeviceDesktop},
	}
	if e, ok := k.keys["name"]; ok {
		if s, ok := k.str(e.V, k.label+": name"); ok {
			if err := plainText(s, 128); err != nil {
				k.addf(e.V.Line, "%s: name: %v", k.label, err)
			} else {
				k.c.Name = s
				k.label = fmt.Sprintf("check %q", s)
			}
		}
	} else {
		k.addf(k.n.Line, "%s: name is required", k.label)
	}
	if e, ok := k.keys["type"]; ok {
		if s, ok := k.str(e.V, k.label+": type"); ok {
			k.c.Type = probe.CheckType(s)
		}
		if !k.c.Type.Valid() {
			k.typeKnown = false
			if e.V.ShortTag() == "!!str" {
				k.addf(e.V.Line, "%s: unknown check type %q (want http, browser or journey)", k.label, yamldoc.Clip(e.V.Value))
			}
		}
	}
}

// key decodes one key of the check with its type's table.
func (k *checkDecoder) key(e yamldoc.Pair) {
	ck, ok := k.lookup(e.Key)
	switch types := typesOf(e.Key); {
	case !ok && len(types) > 0:
		k.addf(e.K.Line, "%s: %s applies to %s checks only, not %s checks", k.label, e.Key, typeList(types), k.c.Type)
	case !ok:
		k.unknown(e, k.label, allCheckKeys())
	case ck.decode != nil:
		k.decoded[e.Key] = e
		ck.decode(k, e, k.label+": "+e.Key)
	}
}

// lookup finds a key of the check's type: a common one or one of its
// type's tables; of every type's while the type is unknown, so that each
// value is still checked.
func (k *checkDecoder) lookup(name string) (checkKey, bool) {
	if ck, ok := findKey([][]checkKey{commonKeys}, name); ok {
		return ck, true
	}
	for _, ct := range checkTypes {
		if !k.typeKnown || ct.typ == k.c.Type {
			if ck, ok := findKey(ct.keys, name); ok {
				return ck, true
			}
		}
	}
	return checkKey{}, false
}

func typeList(types []probe.CheckType) string {
	s := make([]string, len(types))
	for i, t := range types {
		s[i] = string(t)
	}
	return strings.Join(s, " and ")
}

// complete applies the defaults that depend on the check's type and which
// keys it set, and leaves in each spec only what its type uses.
func (k *checkDecoder) complete() {
	c := &k.c
	c.SLO = k.sloSpec.targets(c.Type)
	// The journey's base URL stands for the check's URL (the host tag)
	// when the check names none.
	if _, ok := k.keys["url"]; !ok && c.Type == probe.TypeJourney {
		if u, err := url.Parse(c.Journey.Params["base_url"]); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			c.URL = u.String()
		}
	}
	// defaults.timeout is an HTTP setting, like user_agent and resolver: a
	// page load or a journey legitimately takes longer than a request, and a
	// shared 10s would cut every journey short.
	if _, ok := k.keys["timeout"]; !ok {
		switch c.Type {
		case probe.TypeBrowser:
			c.Timeout = probe.DefaultBrowserTimeout
		case probe.TypeJourney:
			c.Timeout = probe.DefaultJourneyTimeout
		default:
			c.Timeout = k.cfg.Defaults.Timeout
			if c.Timeout == 0 {
				c.Timeout = probe.DefaultTimeout
			}
		}
	}
	switch c.Type {
	case probe.TypeHTTP:
		c.Browser = probe.BrowserSpec{}
	default:
		c.HTTP = probe.HTTPSpec{}
	}
	// A journey without a device of its own check runs on the device its
	// file names (else desktop), so the empty value must survive.
	if _, ok := k.keys["device"]; !ok && c.Type == probe.TypeJourney {
		c.Browser.Device = ""
	}
}

// crossCheck applies the rules between keys of a complete check: what its
// type requires, and combinations that cannot work.
func (k *checkDecoder) crossCheck() {
	c, label := &k.c, k.label
	if k.typeKnown {
		switch c.Type {
		case probe.TypeHTTP, probe.TypeBrowser:
			if _, ok := k.keys["url"]; !ok {
				k.addf(k.n.Line, "%s: url is required for %s checks", label, c.Type)
			}
		case probe.TypeJourney:
			k.journeySource()
		}
	}
	if _, ok := k.keys["schedule"]; !ok {
		k.addf(k.n.Line, "%s: schedule is required (a cron spec such as \"*/5 * * * *\" or \"@every 1m\")", label)
	}
	// A limit the timeout always cuts short would never report too_slow.
	limit, limitKey := c.HTTP.MaxDuration, "max_duration"
	if c.Type != probe.TypeHTTP {
		limit, limitKey = c.Browser.MaxLoad, "max_load"
	}
	if limit > 0 && c.Timeout > 0 && limit >= c.Timeout {
		where := "the default timeout"
		if _, ok := k.keys["timeout"]; ok {
			where = "the timeout"
		} else if c.Type == probe.TypeHTTP && k.cfg.Defaults.Timeout > 0 {
			where = "defaults.timeout"
		}
		k.addf(k.decoded[limitKey].V.Line, "%s: %s %s is not below %s %s, so the check would time out before it is too slow",
			label, limitKey, limit, where, c.Timeout)
	}
	cert, hasCert := k.decoded["client_cert"]
	key, hasKey := k.decoded["client_key"]
	switch {
	case hasCert && !hasKey:
		k.addf(cert.K.Line, "%s: client_cert needs client_key", label)
	case hasKey && !hasCert:
		k.addf(key.K.Line, "%s: client_key needs client_cert", label)
	case hasCert && c.HTTP.ClientCert != "" && c.HTTP.ClientKey != "":
		if _, err := tls.LoadX509KeyPair(c.HTTP.ClientCert, c.HTTP.ClientKey); err != nil {
			k.addf(cert.V.Line, "%s: client_cert/client_key: %v", label, err)
		}
	}
	if on, ok := k.decoded["retry_on"]; ok && c.Retries == 0 {
		k.addf(on.K.Line, "%s: retry_on has no effect without retries (retries is 0)", label)
	}
	if o, ok := k.decoded["origin_url"]; ok && c.HTTP.OriginURL != "" && c.HTTP.OriginURL == c.URL {
		k.addf(o.V.Line, "%s: origin_url is the check's url; name the origin behind the CDN", label)
	}
	_, hasFollow := k.decoded["follow_redirects"]
	if redir, ok := k.decoded["max_redirects"]; ok && hasFollow && !c.HTTP.FollowRedirects {
		k.addf(redir.K.Line, "%s: max_redirects has no effect with follow_redirects: false", label)
	}
}

// fieldAliases are the config keys a validator's field may be written as.
var fieldAliases = map[string][]string{"max_body": {"max_body", "max_body_bytes"},
	// A nested field is reported at its section's key.
	"tls.min_version": {"tls"}, "tls.cert_min_days": {"tls"}, "security.fail_on": {"security"}, "expect.cache": {"expect"},
	// A notifier's secret is read from the key its type names.
	"secret_env": {"secret_env", "routing_key_env", "password_env", "auth_token_env"}}

// validated reports a check validator's error: each *probe.FieldError at the
// line of its key in the check, falling back to the check's line (a value
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
