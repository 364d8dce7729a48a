package config

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
	"github.com/storeprobe/storeprobe/probe/shard"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
	"go.yaml.in/yaml/v3"
)

var topKeys = []string{"defaults", "retention", "store", "scheduler", "browser", "influxdb", "notifiers", "alerting", "shard", "checks"}

// top decodes the root mapping. Sections are decoded in dependency order
// (browser devices before the checks that name them), not file order;
// problems are sorted by line afterwards.
func (d *decoder) top(n *yaml.Node) *Config {
	es, ok := d.mapping(n, "config")
	if !ok {
		return nil
	}
	sec := map[string]yamldoc.Pair{}
	for _, e := range es {
		switch e.Key {
		case "defaults", "retention", "store", "scheduler", "browser", "influxdb", "notifiers", "alerting", "shard", "checks":
			sec[e.Key] = e
		default:
			if e.Key == "check" || e.Key == "journeys" {
				d.addf(e.K.Line, "unknown top-level key %q (checks, each with a type, go under \"checks\")", e.Key)
				continue
			}
			d.unknown(e, "", topKeys)
		}
	}
	cfg := &Config{
		File:      d.file,
		Retention: DefaultRetention,
		Store:     DefaultStore,
		Scheduler: Scheduler{Concurrency: DefaultConcurrency, BrowserConcurrency: DefaultBrowserConcurrency, GracePeriod: DefaultGracePeriod},
		Lines:     map[string]int{},
	}
	cfg.Defaults = d.defaults(sec)
	if e, ok := sec["retention"]; ok {
		if v, ok := d.duration(e.V, "retention", 0); ok {
			cfg.Retention = v
		}
	}
	if e, ok := sec["store"]; ok {
		if s, ok := d.str(e.V, "store"); ok {
			if strings.TrimSpace(s) == "" {
				d.addf(e.V.Line, "store: must not be empty (leave it out for %s)", DefaultStore)
			} else {
				cfg.Store = d.resolvePath(s)
			}
		}
	}
	if e, ok := sec["shard"]; ok {
		if v, ok := d.str(e.V, "shard"); ok {
			if sh, err := shard.Parse(v); err != nil {
				d.addf(e.V.Line, "shard: %v", err)
			} else {
				cfg.Shard = sh
			}
		}
	}
	if e, ok := sec["scheduler"]; ok {
		d.scheduler(e.V, &cfg.Scheduler)
	}
	if e, ok := sec["browser"]; ok {
		d.browser(e.V, &cfg.Browser)
	}
	if e, ok := sec["influxdb"]; ok && e.V.ShortTag() != "!!null" {
		cfg.InfluxDB = d.influxdb(e)
	}
	if e, ok := sec["notifiers"]; ok {
		d.notifiers(e, cfg)
	}
	if e, ok := sec["alerting"]; ok && e.V.ShortTag() != "!!null" {
		d.alerting(e, cfg)
	} else {
		cfg.Alerting = alert.WithDefaults(probe.Alerting{Renotify: alert.DefaultRenotify})
	}
	if e, ok := sec["checks"]; ok {
		d.checks(e, cfg)
	} else {
		d.addf(n.Line, "no checks: add a \"checks\" list")
	}
	d.alertingRefs(cfg)
	return cfg
}

func (d *decoder) defaults(sec map[string]yamldoc.Pair) Defaults {
	host, err := d.opts.hostname()
	if err != nil || plainText(host, 128) != nil {
		host = "localhost"
	}
	def := Defaults{Location: DefaultLocation, Probe: host, UserAgent: probe.UserAgent(d.opts.version)}
	e, ok := sec["defaults"]
	if !ok {
		return def
	}
	es, ok := d.mapping(e.V, "defaults")
	if !ok {
		return def
	}
	known := []string{"location", "probe", "timeout", "retries", "user_agent", "resolver", "tags", "slo"}
	for _, e := range es {
		label := "defaults." + e.Key
		switch e.Key {
		case "location", "probe":
			if s, ok := d.str(e.V, label); ok {
				if err := plainText(s, 128); err != nil {
					d.addf(e.V.Line, "%s: %v", label, err)
				} else if e.Key == "location" {
					def.Location = s
				} else {
					def.Probe = s
				}
			}
		case "timeout":
			if v, ok := d.duration(e.V, label, 1); ok {
				def.Timeout = v
			}
		case "retries":
			if v, ok := d.integer(e.V, label, 0, maxRetries); ok {
				def.Retries = v
			}
		case "user_agent":
			if s, ok := d.userAgent(e.V, label); ok {
				def.UserAgent = s
			}
		case "resolver":
			if s, ok := d.resolver(e.V, label); ok {
				def.Resolver = s
			}
		case "tags":
			def.Tags = d.tags(e.V, label, nil)
		case "slo":
			d.defaultSLO = d.slo(e.V, label, sloSpec{})
			def.SLO = d.defaultSLO.targets(probe.TypeHTTP)
		default:
			d.unknown(e, "defaults", known)
		}
	}
	return def
}

func (d *decoder) scheduler(n *yaml.Node, s *Scheduler) {
	es, ok := d.mapping(n, "scheduler")
	if !ok {
		return
	}
	for _, e := range es {
		label := "scheduler." + e.Key
		switch e.Key {
		case "concurrency":
			if v, ok := d.integer(e.V, label, 1, 100_000); ok {
				s.Concurrency = v
			}
		case "browser_concurrency":
			if v, ok := d.integer(e.V, label, 1, 1000); ok {
				s.BrowserConcurrency = v
			}
		case "grace_period":
			if v, ok := d.duration(e.V, label, 0); ok {
				s.GracePeriod = v
			}
		default:
			d.unknown(e, "scheduler", []string{"concurrency", "browser_concurrency", "grace_period"})
		}
	}
}

func (d *decoder) browser(n *yaml.Node, b *Browser) {
	es, ok := d.mapping(n, "browser")
	if !ok {
		return
	}
	for _, e := range es {
		switch e.Key {
		case "path":
			if s, ok := d.str(e.V, "browser.path"); ok {
				b.Path = d.executable(e.V, "browser.path", s)
			}
		case "devices":
			d.devices(e.V, b)
		case "max_page_memory":
			if v, ok := d.byteSize(e.V, "browser.max_page_memory"); ok {
				b.MaxPageMemory = v
			}
		default:
			d.unknown(e, "browser", []string{"path", "devices", "max_page_memory"})
		}
	}
}

// executable checks a program path. A bare name is left to PATH lookup at
// run time; a path must name an executable file.
func (d *decoder) executable(n *yaml.Node, label, s string) string {
	if !strings.ContainsRune(s, os.PathSeparator) {
		if err := plainText(s, 256); err != nil {
			d.addf(n.Line, "%s: %v", label, err)
		}
		return s
	}
	p := d.resolvePath(s)
	fi, err := os.Stat(p)
	switch {
	case err != nil:
		d.addf(n.Line, "%s: %v", label, err)
	case fi.IsDir() || fi.Mode().Perm()&0o111 == 0:
		d.addf(n.Line, "%s: %s is not an executable file", label, p)
	}
	return p
}

var deviceKeys = []string{"width", "height", "device_scale_factor", "mobile", "user_agent",
	"latency", "download_kbps", "upload_kbps", "cpu_slowdown"}

func (d *decoder) devices(n *yaml.Node, b *Browser) {
	es, ok := d.mapping(n, "browser.devices")
	if !ok {
		return
	}
	b.Devices = map[string]DeviceOverride{}
	for _, e := range es {
		label := "browser.devices." + e.Key
		if !deviceName(e.Key) {
			d.addf(e.K.Line, "%s: a device name is lower-case letters, digits, - and _", label)
			continue
		}
		fields, ok := d.mapping(e.V, label)
		if !ok {
			continue
		}
		var o DeviceOverride
		for _, f := range fields {
			fl := label + "." + f.Key
			switch f.Key {
			case "width", "height":
				if v, ok := d.integer(f.V, fl, 200, 10_000); ok {
					if f.Key == "width" {
						o.Width = &v
					} else {
						o.Height = &v
					}
				}
			case "device_scale_factor":
				if v, ok := d.number(f.V, fl, 0.5, 5); ok {
					o.DeviceScaleFactor = &v
				}
			case "mobile":
				if v, ok := d.boolean(f.V, fl); ok {
					o.Mobile = &v
				}
			case "user_agent":
				if v, ok := d.userAgent(f.V, fl); ok {
					o.UserAgent = &v
				}
			case "latency":
				if v, ok := d.duration(f.V, fl, 0); ok {
					o.Latency = &v
				}
			case "download_kbps", "upload_kbps":
				if v, ok := d.number(f.V, fl, 0, 10_000_000); ok {
					if f.Key == "download_kbps" {
						o.DownloadKbps = &v
					} else {
						o.UploadKbps = &v
					}
				}
			case "cpu_slowdown":
				if v, ok := d.number(f.V, fl, 1, 20); ok {
					o.CPUSlowdown = &v
				}
			default:
				d.unknown(f, label, deviceKeys)
			}
		}
		if e.Key != probe.DeviceDesktop && e.Key != probe.DeviceMobile && (o.Width == nil || o.Height == nil) {
			d.addf(e.K.Line, "%s: a new device needs width and height (only desktop and mobile have built-in values)", label)
		}
		b.Devices[e.Key] = o
	}
}

func deviceName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

var influxKeys = []string{"url", "org", "bucket", "token_env", "batch_size", "flush_interval", "max_outbox_rows", "max_outbox_age"}

func (d *decoder) influxdb(sec yamldoc.Pair) *InfluxDB {
	es, ok := d.mapping(sec.V, "influxdb")
	if !ok {
		return nil
	}
	in := &InfluxDB{BatchSize: DefaultBatchSize, FlushInterval: DefaultFlushInterval,
		MaxOutboxRows: DefaultMaxOutboxRows, MaxOutboxAge: DefaultMaxOutboxAge}
	var hasURL, hasBucket bool
	for _, e := range es {
		label := "influxdb." + e.Key
		switch e.Key {
		case "url":
			hasURL = true
			if s, ok := d.str(e.V, label); ok {
				if u, ok := d.httpURL(e.V, label, s); ok {
					in.URL = u
				}
			}
		case "org":
			if s, ok := d.str(e.V, label); ok {
				in.Org = s
			}
		case "bucket":
			hasBucket = true
			if s, ok := d.str(e.V, label); ok {
				if err := plainText(s, 256); err != nil {
					d.addf(e.V.Line, "%s: %v", label, err)
				}
				in.Bucket = s
			}
		case "token", "password", "auth_token":
			d.addf(e.K.Line, "%s: secrets do not belong in the config file: put the token in an environment variable and name it with token_env", label)
		case "token_env":
			if s, ok := d.str(e.V, label); ok {
				if !validEnvName(s) {
					d.addf(e.V.Line, "%s: %q is not an environment variable name", label, yamldoc.Clip(s))
					break
				}
				in.TokenEnv = s
				if v, ok := d.opts.env(s); !ok || v == "" {
					d.addf(e.V.Line, "%s: environment variable %s is not set", label, s)
				} else {
					in.Token = v
				}
			}
		case "batch_size":
			if v, ok := d.integer(e.V, label, 1, 100_000); ok {
				in.BatchSize = v
			}
		case "flush_interval":
			if v, ok := d.duration(e.V, label, 100*time.Millisecond); ok {
				in.FlushInterval = v
			}
		case "max_outbox_rows":
			if v, ok := d.integer(e.V, label, 1, math32); ok {
				in.MaxOutboxRows = v
			}
		case "max_outbox_age":
			if v, ok := d.duration(e.V, label, time.Minute); ok {
				in.MaxOutboxAge = v
			}
		default:
			d.unknown(e, "influxdb", influxKeys)
		}
	}
	if !hasURL {
		d.addf(sec.K.Line, "influxdb: url is required")
	}
	if !hasBucket {
		d.addf(sec.K.Line, "influxdb: bucket is required (for InfluxDB 1.8: \"database/retention-policy\")")
	}
	return in
}

const math32 = 1<<31 - 1

// httpURL checks an absolute http(s) URL with a host. Messages quote the
// value as written (before ${VAR} expansion) with credentials redacted.
func (d *decoder) httpURL(n *yaml.Node, label, s string) (string, bool) {
	shown := shownURL(n.Value)
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		d.addf(n.Line, "%s: %q is not a valid URL: %v", label, yamldoc.Clip(shown), err)
		return "", false
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		d.addf(n.Line, "%s: %q: want an http:// or https:// URL", label, yamldoc.Clip(shown))
		return "", false
	}
	if u.Hostname() == "" {
		d.addf(n.Line, "%s: %q has no host", label, yamldoc.Clip(shown))
		return "", false
	}
	if p := u.Port(); p != "" {
		if v, err := strconv.Atoi(p); err != nil || v < 1 || v > 65535 {
			d.addf(n.Line, "%s: %q: port %s is out of range", label, yamldoc.Clip(shown), p)
			return "", false
		}
	}
	return s, true
}

// resolver checks a DNS server address: IP:PORT or [IPv6]:PORT, the rule
// the HTTP probe applies. A name is refused, not looked up: finding the
// resolver through the system's resolver would defeat the point of naming
// one, and the probe would refuse it on every run.
func (d *decoder) resolver(n *yaml.Node, label string) (string, bool) {
	s, ok := d.str(n, label)
	if !ok {
		return "", false
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		d.addf(n.Line, "%s: want IP:PORT (e.g. 127.0.0.1:53 or [::1]:53), got %q", label, yamldoc.Clip(s))
		return "", false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		d.addf(n.Line, "%s: want IP:PORT with a port from 1 to 65535, got %q", label, yamldoc.Clip(s))
		return "", false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		d.addf(n.Line, "%s: %q: %q is not an IP address; give the DNS server's IP (IP:PORT), which needs no resolver to be found", label, yamldoc.Clip(s), yamldoc.Clip(host))
		return "", false
	}
	return netip.AddrPortFrom(ip, uint16(p)).String(), true
}

func (d *decoder) userAgent(n *yaml.Node, label string) (string, bool) {
	s, ok := d.str(n, label)
	if !ok {
		return "", false
	}
	if err := plainText(s, 512); err != nil {
		d.addf(n.Line, "%s: %v", label, err)
		return "", false
	}
	return s, true
}

// reservedTags are the tags storeprobe sets itself; a user tag of the same
// name would silently replace them in InfluxDB.
var reservedTags = map[string]bool{"check": true, "type": true, "location": true, "probe": true, "host": true,
	"device": true, "page": true, "step": true, "failure_kind": true}

// tags decodes a tags mapping, merged over base (a copy is returned).
func (d *decoder) tags(n *yaml.Node, label string, base map[string]string) map[string]string {
	out := make(map[string]string, len(base))
	for k, v := range base {
		out[k] = v
	}
	items, _ := d.strMap(n, label)
	for _, it := range items {
		switch {
		case !it.ok:
		case !identifier(it.key) || len(it.key) > 64:
			d.addf(it.line, "%s: tag name %q: want letters, digits and _ (not starting with a digit)", label, yamldoc.Clip(it.key))
		case reservedTags[it.key]:
			d.addf(it.line, "%s: tag %q is set by storeprobe itself; choose another name", label, it.key)
		default:
			if err := plainText(it.value, 256); err != nil {
				d.addf(it.line, "%s.%s: %v", label, it.key, err)
				continue
			}
			out[it.key] = it.value
		}
	}
	return out
}

// sloSpec is an slo block as written: a preset, and the keys set beside it
// with their values. It becomes targets once the check's type is known
// (the storefront preset judges Core Web Vitals of browser checks only).
type sloSpec struct {
	given  bool          // an slo block exists here or in defaults
	preset string        // "" when none is named
	set    probe.Targets // keys written
	vals   probe.SLO     // their values
}

// SLO presets, by name: the shop targets of the product brief.
const (
	PresetStorefront = "storefront"
	PresetPayment    = "payment"
	PresetNone       = "none"
)

var presetNames = []string{PresetStorefront, PresetPayment, PresetNone}

// presetSLO is a preset's targets for a check type.
func presetSLO(name string, typ probe.CheckType) probe.SLO {
	switch name {
	case PresetStorefront:
		s := probe.SLO{Uptime: 99.9, LoadTime: 3 * time.Second}
		if typ == probe.TypeBrowser || typ == probe.TypeJourney {
			s.CWVGood = 90
		}
		return s
	case PresetPayment:
		// The payment field's readiness is judged only where it is
		// measured (a page waited on with wait_for_payment or payment:);
		// elsewhere the target has no data and judges nothing.
		s := probe.SLO{Uptime: 99.99, Success: 99.5, LoadTime: 2 * time.Second}
		if typ == probe.TypeBrowser || typ == probe.TypeJourney {
			s.PaymentReady = 2 * time.Second
		}
		return s
	}
	return probe.SLO{}
}

// targets resolves a spec for a check type: a check with no slo anywhere
// is judged against the storefront preset; keys set beside a preset
// override it; without a preset, only the keys set are targets.
func (s sloSpec) targets(typ probe.CheckType) probe.SLO {
	preset := s.preset
	if !s.given {
		preset = PresetStorefront
	}
	out := presetSLO(preset, typ)
	out.Preset = preset
	for _, t := range []struct {
		name string
		set  bool
	}{{probe.TargetUptime, out.Uptime > 0}, {probe.TargetLoadTime, out.LoadTime > 0},
		{probe.TargetSuccess, out.Success > 0}, {probe.TargetCWVGood, out.CWVGood > 0},
		{probe.TargetPaymentReady, out.PaymentReady > 0}} {
		if t.set {
			out.FromPreset = out.FromPreset.With(t.name)
		}
	}
	set := func(name string, apply func()) {
		if s.set.Has(name) {
			apply()
			out.FromPreset &^= probe.Targets(0).With(name)
		}
	}
	set(probe.TargetUptime, func() { out.Uptime = s.vals.Uptime })
	set(probe.TargetLoadTime, func() { out.LoadTime = s.vals.LoadTime })
	set(probe.TargetSuccess, func() { out.Success = s.vals.Success })
	set(probe.TargetCWVGood, func() { out.CWVGood = s.vals.CWVGood })
	set(probe.TargetPaymentReady, func() { out.PaymentReady = s.vals.PaymentReady })
	return out
}

// slo decodes an slo block over base (the defaults' block for a check): a
// preset it names starts afresh from that preset; otherwise its keys are
// merged over base's, key by key.
func (d *decoder) slo(n *yaml.Node, label string, base sloSpec) sloSpec {
	es, ok := d.mapping(n, label)
	if !ok {
		return base
	}
	out := base
	out.given = true
	for _, e := range es {
		if e.Key != "preset" {
			continue
		}
		if s, ok := d.str(e.V, label+".preset"); ok {
			if !slices.Contains(presetNames, s) {
				d.addf(e.V.Line, "%s.preset: unknown preset %q (want %s)", label, yamldoc.Clip(s), strings.Join(presetNames, ", "))
				continue
			}
			out.preset, out.set, out.vals = s, 0, probe.SLO{}
		}
	}
	for _, e := range es {
		fl := label + "." + e.Key
		switch e.Key {
		case "preset":
		case probe.TargetUptime:
			if v, ok := d.percent(e.V, fl); ok {
				out.vals.Uptime, out.set = v, out.set.With(e.Key)
			}
		case probe.TargetSuccess:
			if v, ok := d.percent(e.V, fl); ok {
				out.vals.Success, out.set = v, out.set.With(e.Key)
			}
		case probe.TargetCWVGood:
			if v, ok := d.percent(e.V, fl); ok {
				out.vals.CWVGood, out.set = v, out.set.With(e.Key)
			}
		case probe.TargetLoadTime:
			if v, ok := d.duration(e.V, fl, 1); ok {
				out.vals.LoadTime, out.set = v, out.set.With(e.Key)
			}
		case probe.TargetPaymentReady:
			if v, ok := d.duration(e.V, fl, 1); ok {
				out.vals.PaymentReady, out.set = v, out.set.With(e.Key)
			}
		default:
			d.unknown(e, label, []string{"preset", "uptime", "load_time", "success", "cwv_good", "payment_ready"})
		}
	}
	return out
}

// shownURL is a URL as written in the file, fit for a message: userinfo and
// token-like query values are redacted textually (a URL that fails to parse
// must not leak either), and ${VAR} references, which are not secrets, stay.
func shownURL(raw string) string {
	rest, frag, hasFrag := strings.Cut(raw, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	if i := strings.Index(rest, "://"); i >= 0 {
		auth := rest[i+3:]
		end := strings.IndexByte(auth, '/')
		if end < 0 {
			end = len(auth)
		}
		if at := strings.LastIndexByte(auth[:end], '@'); at >= 0 && !isRef(auth[:at]) {
			rest = rest[:i+3] + probe.Redacted + auth[at:]
		}
	}
	if hasQuery {
		params := strings.Split(query, "&")
		for i, p := range params {
			if k, v, ok := strings.Cut(p, "="); ok && probe.LooksSecret(k) && !isRef(v) {
				params[i] = k + "=" + probe.Redacted
			}
		}
		rest += "?" + strings.Join(params, "&")
	}
	if hasFrag {
		rest += "#" + frag
	}
	return rest
}

// isRef reports whether s is only a ${VAR} reference (or several), which
// names a secret without revealing it.
func isRef(s string) bool {
	for s != "" {
		if !strings.HasPrefix(s, "${") {
			return false
		}
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return false
		}
		s = s[end+1:]
		if strings.HasPrefix(s, ":") {
			s = s[1:]
		}
	}
	return true
}
