package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
)

// ref is a name the config uses somewhere (a notifier in a notify list, a
// check in depends_on or a maintenance window), checked once every section
// is decoded.
type ref struct {
	name  string
	line  int
	label string
}

// notifierKey is one key of a notifier and how it is decoded.
type notifierKey struct {
	name   string
	decode func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string)
}

// notifierCommon apply to every notifier type.
var notifierCommon = []notifierKey{
	{"name", nil},
	{"type", nil},
	{"send_resolved", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
		if v, ok := d.boolean(e.V, fl); ok {
			n.SendResolved = v
		}
	}},
	{"timeout", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
		if v, ok := d.duration(e.V, fl, time.Second); ok {
			n.Timeout = v
		}
	}},
}

// notifierURL decodes url into n.URL.
func notifierURL(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
	if s, ok := d.str(e.V, fl); ok {
		if u, ok := d.httpURL(e.V, fl, s); ok {
			n.URL = u
		}
	}
}

// secretEnv decodes a *_env key: the name of the environment variable that
// holds the notifier's secret, which must be set.
func secretEnv(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
	s, ok := d.str(e.V, fl)
	if !ok {
		return
	}
	if !validEnvName(s) {
		d.addf(e.V.Line, "%s: %q is not an environment variable name", fl, yamldoc.Clip(s))
		return
	}
	v, set := d.opts.env(s)
	if !set || v == "" {
		d.addf(e.V.Line, "%s: environment variable %s is not set", fl, s)
		return
	}
	n.Secret, n.SecretEnv = v, s
}

func recipients(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
	items, _ := d.strList(e.V, fl)
	for _, it := range items {
		if it.ok {
			n.To = append(n.To, it.value)
		}
	}
	if len(items) == 0 {
		d.addf(e.V.Line, "%s: the list is empty", fl)
	}
}

func fromKey(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
	if s, ok := d.str(e.V, fl); ok {
		n.From = s
	}
}

// notifierTypes are the keys each notifier type takes besides the common
// ones, and which of them it requires.
var notifierTypes = map[string]struct {
	keys     []notifierKey
	required []string
}{
	probe.NotifierWebhook: {[]notifierKey{
		{"url", notifierURL},
		{"headers", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
			items, _ := d.strMap(e.V, fl)
			for _, it := range items {
				if !it.ok {
					continue
				}
				h, err := probe.ParseHeader(it.key + ": " + it.value)
				if err != nil {
					d.addf(it.line, "%s: header %q: not a valid header", fl, yamldoc.Clip(it.key))
					continue
				}
				n.Headers = append(n.Headers, h)
			}
		}},
		{"secret_env", secretEnv},
	}, []string{"url"}},
	probe.NotifierSlack:     {[]notifierKey{{"url", notifierURL}}, []string{"url"}},
	probe.NotifierPagerDuty: {[]notifierKey{{"url", notifierURL}, {"routing_key_env", secretEnv}}, []string{"routing_key_env"}},
	probe.NotifierEmail: {[]notifierKey{
		{"smtp", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
			s, ok := d.str(e.V, fl)
			if !ok {
				return
			}
			host, port, err := net.SplitHostPort(s)
			if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
				d.addf(e.V.Line, "%s: want the SMTP server as host:port (e.g. smtp.example.com:587), got %q", fl, yamldoc.Clip(s))
				return
			}
			n.SMTP = s
		}},
		{"tls", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
			if s, ok := d.str(e.V, fl); ok {
				if s != "starttls" && s != "tls" && s != "none" {
					d.addf(e.V.Line, "%s: want starttls, tls or none, got %q", fl, yamldoc.Clip(s))
					return
				}
				n.TLS = s
			}
		}},
		{"ca_file", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
			if s, ok := d.str(e.V, fl); ok {
				n.CAFile = d.resolvePath(s)
				d.caFile(e.V, fl, n.CAFile)
			}
		}},
		{"username", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
			if s, ok := d.str(e.V, fl); ok {
				n.Username = s
			}
		}},
		{"password_env", secretEnv},
		{"from", fromKey},
		{"to", recipients},
	}, []string{"smtp", "from", "to"}},
	probe.NotifierSMS: {[]notifierKey{
		{"url", notifierURL},
		{"account_sid", func(d *decoder, n *probe.Notifier, e yamldoc.Pair, fl string) {
			if s, ok := d.str(e.V, fl); ok {
				if err := plainText(s, 64); err != nil {
					d.addf(e.V.Line, "%s: %v", fl, err)
					return
				}
				n.AccountSID = s
			}
		}},
		{"auth_token_env", secretEnv},
		{"from", fromKey},
		{"to", recipients},
	}, []string{"account_sid", "auth_token_env", "from", "to"}},
	probe.NotifierAlertmanager: {[]notifierKey{{"url", notifierURL}}, []string{"url"}},
}

// literalSecrets are keys a user might write a secret into; the config
// refuses them and names the *_env key to use instead.
var literalSecrets = map[string]string{"secret": "secret_env", "routing_key": "routing_key_env", "password": "password_env",
	"auth_token": "auth_token_env", "token": "a *_env key"}

// notifiers decodes the notifiers list.
func (d *decoder) notifiers(sec yamldoc.Pair, cfg *Config) {
	n := sec.V
	if n.ShortTag() == "!!null" {
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.addf(n.Line, "notifiers: want a list of notifiers, got %s", yamldoc.Describe(n))
		return
	}
	seen := map[string]int{}
	for i, item := range n.Content {
		if !d.spend(item.Line) {
			return
		}
		item = yamldoc.Deref(item)
		before := len(d.problems)
		nf, keys := d.notifier(i, item)
		if nf.Name != "" {
			// Named is known: a notifier with a problem is reported once,
			// not again at every notify list that names it.
			d.notifierNames[nf.Name] = true
			if first, dup := seen[nf.Name]; dup {
				d.addf(item.Line, "notifier %q: duplicate name (first at line %d)", nf.Name, first)
				continue
			}
			seen[nf.Name] = item.Line
		}
		if len(d.problems) == before && d.opts.notifier != nil {
			d.validated(d.opts.notifier(nf), item.Line, fmt.Sprintf("notifier %q", nf.Name), keys)
		}
		if len(d.problems) == before {
			cfg.Notifiers = append(cfg.Notifiers, nf)
		}
	}
}

func (d *decoder) notifier(i int, n *yaml.Node) (probe.Notifier, map[string]yamldoc.Pair) {
	label := fmt.Sprintf("notifiers[%d]", i)
	nf := probe.Notifier{SendResolved: true}
	es, ok := d.mapping(n, label)
	if !ok {
		return nf, nil
	}
	keys := map[string]yamldoc.Pair{}
	for _, e := range es {
		keys[e.Key] = e
	}
	if e, ok := keys["name"]; ok {
		if s, ok := d.str(e.V, label+": name"); ok {
			if !identifierish(s) {
				d.addf(e.V.Line, "%s: name %q: want letters, digits, - and _", label, yamldoc.Clip(s))
			} else {
				nf.Name = s
				label = fmt.Sprintf("notifier %q", s)
			}
		}
	} else {
		d.addf(n.Line, "%s: name is required", label)
	}
	typ, known := "", false
	if e, ok := keys["type"]; ok {
		if s, ok := d.str(e.V, label+": type"); ok {
			if _, known = notifierTypes[s]; !known {
				d.addf(e.V.Line, "%s: unknown notifier type %q (want %s)", label, yamldoc.Clip(s), strings.Join(probe.NotifierTypes(), ", "))
			}
			typ = s
		}
	} else {
		d.addf(n.Line, "%s: type is required (%s)", label, strings.Join(probe.NotifierTypes(), ", "))
	}
	nf.Type = typ
	spec := notifierTypes[typ]
	for _, e := range es {
		fl := label + ": " + e.Key
		if use, ok := literalSecrets[e.Key]; ok {
			d.addf(e.K.Line, "%s: secrets do not belong in the config file: put it in an environment variable and name it with %s", fl, use)
			continue
		}
		k, ok := findNotifierKey(append(slices.Clone(notifierCommon), spec.keys...), e.Key)
		switch {
		case ok && k.decode != nil:
			k.decode(d, &nf, e, fl)
		case ok:
		case known:
			if types := notifierTypesOf(e.Key); len(types) > 0 {
				d.addf(e.K.Line, "%s: %s applies to %s notifiers, not %s", label, e.Key, strings.Join(types, " and "), typ)
				continue
			}
			d.unknown(e, label, notifierKeyNames(spec.keys))
		}
	}
	for _, req := range spec.required {
		if _, ok := keys[req]; !ok {
			d.addf(n.Line, "%s: %s is required for %s notifiers", label, req, typ)
		}
	}
	return nf, keys
}

func findNotifierKey(keys []notifierKey, name string) (notifierKey, bool) {
	for _, k := range keys {
		if k.name == name {
			return k, true
		}
	}
	return notifierKey{}, false
}

func notifierTypesOf(key string) []string {
	var out []string
	for _, t := range probe.NotifierTypes() {
		if _, ok := findNotifierKey(notifierTypes[t].keys, key); ok {
			out = append(out, t)
		}
	}
	return out
}

func notifierKeyNames(typed []notifierKey) []string {
	var out []string
	for _, k := range append(slices.Clone(notifierCommon), typed...) {
		out = append(out, k.name)
	}
	return out
}

// identifierish: letters, digits, - and _, as notifier and window names.
func identifierish(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

var alertingKeys = []string{"notify", "down_after", "up_after", "renotify", "cert_warning_days", "burn_rate",
	"breach", "flapping", "quorum", "silent_after", "maintenance"}

// alerting decodes the alerting section; defaults fill what it leaves out.
func (d *decoder) alerting(sec yamldoc.Pair, cfg *Config) {
	a := &cfg.Alerting
	defer func() { *a = alert.WithDefaults(*a) }()
	a.Renotify = alert.DefaultRenotify
	es, ok := d.mapping(sec.V, "alerting")
	if !ok {
		return
	}
	count := func(e yamldoc.Pair, label string, p *int, lo, hi int) {
		if v, ok := d.integer(e.V, label, lo, hi); ok {
			*p = v
		}
	}
	for _, e := range es {
		label := "alerting." + e.Key
		switch e.Key {
		case "notify":
			a.Notify = d.notifyList(e, label)
		case "down_after":
			count(e, label, &a.DownAfter, 1, 100)
		case "up_after":
			count(e, label, &a.UpAfter, 1, 100)
		case "quorum":
			count(e, label, &a.Quorum, 1, 100)
		case "cert_warning_days":
			count(e, label, &a.CertWarningDays, 1, 365)
		case "renotify":
			if v, ok := d.duration(e.V, label, 0); ok {
				a.Renotify = v
				if v > 0 && v < time.Minute {
					d.addf(e.V.Line, "%s: at least 1m (or 0 for never), got %s", label, v)
				}
			}
		case "silent_after":
			if v, ok := d.duration(e.V, label, time.Minute); ok {
				a.SilentAfter = v
			}
		case "burn_rate":
			d.subsection(e, label, map[string]func(yamldoc.Pair, string){
				"min_runs":     func(f yamldoc.Pair, fl string) { count(f, fl, &a.BurnRate.MinRuns, 1, 100_000) },
				"min_failures": func(f yamldoc.Pair, fl string) { count(f, fl, &a.BurnRate.MinFailures, 1, 100_000) },
			})
		case "breach":
			d.subsection(e, label, map[string]func(yamldoc.Pair, string){
				"window": func(f yamldoc.Pair, fl string) {
					if v, ok := d.duration(f.V, fl, time.Minute); ok {
						a.Breach.Window = v
					}
				},
				"min_samples": func(f yamldoc.Pair, fl string) { count(f, fl, &a.Breach.MinSamples, 1, 100_000) },
			})
		case "flapping":
			d.subsection(e, label, map[string]func(yamldoc.Pair, string){
				"changes": func(f yamldoc.Pair, fl string) { count(f, fl, &a.Flapping.Changes, 2, 1000) },
				"window": func(f yamldoc.Pair, fl string) {
					if v, ok := d.duration(f.V, fl, time.Minute); ok {
						a.Flapping.Window = v
					}
				},
			})
		case "maintenance":
			d.maintenance(e, a)
		default:
			d.unknown(e, "alerting", alertingKeys)
		}
	}
}

// subsection decodes a small mapping with a decoder per key.
func (d *decoder) subsection(e yamldoc.Pair, label string, keys map[string]func(yamldoc.Pair, string)) {
	es, ok := d.mapping(e.V, label)
	if !ok {
		return
	}
	for _, f := range es {
		if dec, ok := keys[f.Key]; ok {
			dec(f, label+"."+f.Key)
			continue
		}
		d.unknown(f, label, slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		}))
	}
}

// notifyList decodes a list of notifier names, remembered for checking
// once the notifiers are known. An empty list means "no one".
func (d *decoder) notifyList(e yamldoc.Pair, label string) []string {
	items, _ := d.strList(e.V, label)
	out := []string{}
	for _, it := range items {
		if it.ok {
			out = append(out, it.value)
			d.notifyRefs = append(d.notifyRefs, ref{name: it.value, line: it.line, label: label})
		}
	}
	return out
}

var maintenanceKeys = []string{"name", "start", "end", "schedule", "duration", "timezone", "checks", "tags"}

// maintenance decodes the maintenance windows.
func (d *decoder) maintenance(sec yamldoc.Pair, a *probe.Alerting) {
	if sec.V.Kind != yaml.SequenceNode {
		d.addf(sec.V.Line, "alerting.maintenance: want a list of windows, got %s", yamldoc.Describe(sec.V))
		return
	}
	for i, item := range sec.V.Content {
		item = yamldoc.Deref(item)
		label := fmt.Sprintf("alerting.maintenance[%d]", i)
		es, ok := d.mapping(item, label)
		if !ok {
			continue
		}
		before := len(d.problems)
		m := probe.Maintenance{Location: time.UTC}
		keys := map[string]yamldoc.Pair{}
		for _, e := range es {
			keys[e.Key] = e
		}
		// The time zone first: start and end are read in it.
		if e, ok := keys["timezone"]; ok {
			if s, ok := d.str(e.V, label+".timezone"); ok {
				loc, err := time.LoadLocation(s)
				if err != nil || s == "" || strings.EqualFold(s, "local") {
					d.addf(e.V.Line, "%s.timezone: unknown time zone %q (want an IANA name such as Europe/Berlin, or UTC)", label, yamldoc.Clip(s))
				} else {
					m.Location = loc
				}
			}
		}
		for _, e := range es {
			fl := label + "." + e.Key
			switch e.Key {
			case "timezone":
			case "name":
				if s, ok := d.str(e.V, fl); ok {
					if err := plainText(s, 128); err != nil {
						d.addf(e.V.Line, "%s: %v", fl, err)
					}
					m.Name = s
				}
			case "start", "end":
				if s, ok := d.timestamp(e.V, fl, m.Location); ok {
					if e.Key == "start" {
						m.Start = s
					} else {
						m.End = s
					}
				}
			case "schedule":
				if s, ok := d.str(e.V, fl); ok {
					if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
						d.addf(e.V.Line, "%s: give the time zone with timezone:, not in the schedule", fl)
					} else if _, err := schedule.ParseSpec(s); err != nil {
						d.addf(e.V.Line, "%s: %v", fl, err)
					} else {
						m.Schedule = s
					}
				}
			case "duration":
				if v, ok := d.duration(e.V, fl, time.Minute); ok {
					m.Duration = v
				}
			case "checks":
				items, _ := d.strList(e.V, fl)
				for _, it := range items {
					if it.ok {
						m.Checks = append(m.Checks, it.value)
						d.checkRefs = append(d.checkRefs, ref{name: it.value, line: it.line, label: fl})
					}
				}
			case "tags":
				items, _ := d.strMap(e.V, fl)
				m.Tags = map[string]string{}
				for _, it := range items {
					if it.ok {
						m.Tags[it.key] = it.value
					}
				}
			default:
				d.unknown(e, label, maintenanceKeys)
			}
		}
		_, hasStart := keys["start"]
		_, hasEnd := keys["end"]
		_, hasSched := keys["schedule"]
		_, hasDur := keys["duration"]
		switch {
		case m.Name == "" && keys["name"].K == nil:
			d.addf(item.Line, "%s: name is required", label)
		}
		switch {
		case hasSched && (hasStart || hasEnd):
			d.addf(item.Line, "%s: a window is one-off (start, end) or recurring (schedule, duration), not both", label)
		case hasSched && !hasDur:
			d.addf(keys["schedule"].K.Line, "%s: a recurring window needs a duration", label)
		case hasDur && !hasSched:
			d.addf(keys["duration"].K.Line, "%s: duration goes with schedule; a one-off window has start and end", label)
		case !hasSched && (!hasStart || !hasEnd):
			d.addf(item.Line, "%s: give start and end (one-off) or schedule and duration (recurring)", label)
		case hasStart && hasEnd && !m.Start.IsZero() && !m.End.After(m.Start):
			d.addf(keys["end"].V.Line, "%s: end is not after start", label)
		}
		if len(d.problems) == before {
			a.Maintenance = append(a.Maintenance, m)
		}
	}
}

// timestamp decodes a point in time: RFC 3339 with its offset, or a local
// time "2006-01-02 15:04" (seconds optional) in loc.
func (d *decoder) timestamp(n *yaml.Node, label string, loc *time.Location) (time.Time, bool) {
	var s string
	switch n.ShortTag() {
	case "!!str", "!!timestamp":
		s = n.Value
	default:
		d.addf(n.Line, "%s: want a time such as \"2026-12-24 22:00\" or 2026-12-24T22:00:00+01:00, got %s", label, yamldoc.Describe(n))
		return time.Time{}, false
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, true
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, true
		}
	}
	d.addf(n.Line, "%s: %q is not a time: want \"2006-01-02 15:04\" (in the window's timezone) or RFC 3339", label, yamldoc.Clip(s))
	return time.Time{}, false
}

// alertingRefs checks the names the config uses against what it defines:
// notifiers in notify lists, checks in depends_on and maintenance windows,
// and that no check depends on itself through others.
func (d *decoder) alertingRefs(cfg *Config) {
	for _, r := range d.notifyRefs {
		if !d.notifierNames[r.name] {
			d.addf(r.line, "%s: unknown notifier %q (define it under notifiers)", r.label, yamldoc.Clip(r.name))
		}
	}
	for _, r := range d.checkRefs {
		if !d.checkNames[r.name] {
			d.addf(r.line, "%s: unknown check %q", r.label, yamldoc.Clip(r.name))
		}
	}
	// Cycles: each check's dependencies, depth first.
	deps := map[string][]string{}
	for _, c := range cfg.Checks {
		deps[c.Name] = c.DependsOn
	}
	const (
		unseen = iota
		visiting
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		switch state[name] {
		case visiting:
			i := slices.Index(path, name)
			return append(slices.Clone(path[i:]), name)
		case done:
			return nil
		}
		state[name] = visiting
		path = append(path, name)
		for _, dep := range deps[name] {
			if cycle := visit(dep); cycle != nil {
				return cycle
			}
		}
		path = path[:len(path)-1]
		state[name] = done
		return nil
	}
	for _, c := range cfg.Checks {
		if cycle := visit(c.Name); cycle != nil {
			line := cfg.Lines[cycle[0]]
			if l, ok := d.dependsLines[cycle[0]]; ok {
				line = l
			}
			d.addf(line, "check %q: depends_on makes a cycle: %s", cycle[0], strings.Join(cycle, " → "))
			return
		}
	}
}
