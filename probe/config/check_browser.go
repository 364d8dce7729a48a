package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
	"go.yaml.in/yaml/v3"
)

// browserKeys are the keys of browser checks, which journeys share; they
// fill the check's Browser spec.
var browserKeys = []checkKey{
	{"device", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if _, custom := k.cfg.Browser.Devices[s]; s != probe.DeviceDesktop && s != probe.DeviceMobile && !custom {
				k.addf(e.V.Line, "%s: unknown device %q (want desktop, mobile or a name under browser.devices)", fl, yamldoc.Clip(s))
			} else {
				k.c.Browser.Device = s
			}
		}
	}},
	{"max_load", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.duration(e.V, fl, 1); ok {
			k.c.Browser.MaxLoad = v
		}
	}},
	{"max_vitals", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		k.c.Browser.MaxVitals = k.maxVitals(e.V, fl)
	}},
	{"fail_on_console_errors", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.boolean(e.V, fl); ok {
			k.c.Browser.FailOnConsole = v
		}
	}},
	{"analytics", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		items, ok := k.strList(e.V, fl)
		var list []string
		for _, it := range items {
			if !it.ok {
				continue
			}
			v, err := probe.ParseAnalytics(append(slices.Clone(list), it.value))
			if err != nil {
				k.addf(it.line, "%s: %v", fl, err)
				ok = false
				continue
			}
			list = v
		}
		if ok {
			k.c.Browser.Analytics = list
		}
	}},
	{"analytics_passthrough", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if v, ok := k.boolean(e.V, fl); ok {
			k.c.Browser.AnalyticsPassthrough = v
		}
	}},
	{"consent_selector", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if strings.TrimSpace(s) == "" {
				k.addf(e.V.Line, "%s: must not be empty", fl)
				return
			}
			k.c.Browser.ConsentSelector = s
		}
	}},
}

// pageKeys are the keys of single-page browser checks only (a journey
// says the same with a step).
var pageKeys = []checkKey{
	{"payment", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if p := probe.PaymentProvider(s); p.Valid() {
				k.c.Browser.Payment = p
			} else {
				k.addf(e.V.Line, "%s: unknown payment provider %q (want %s; a journey waits with a wait_for_payment step)",
					fl, yamldoc.Clip(s), probe.PaymentProviderNames())
			}
		}
	}},
}

// journeyKeys are the keys of journey checks only: which journey, with
// which params. journey and template exclude each other (journeySource).
var journeyKeys = []checkKey{
	{"journey", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			if strings.TrimSpace(s) == "" {
				k.addf(e.V.Line, "%s: must not be empty", fl)
				return
			}
			k.c.Journey.File = k.resolvePath(s)
			k.journeyOK = k.loadJourney(k.c.Journey.File, e.V.Line, fl)
		}
	}},
	{"template", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		if s, ok := k.str(e.V, fl); ok {
			known := k.opts.templates
			switch {
			case !deviceName(s):
				k.addf(e.V.Line, "%s: %q is not a template name", fl, yamldoc.Clip(s))
			case known != nil && !known(s):
				k.addf(e.V.Line, "%s: unknown journey template %q", fl, s)
			default:
				k.c.Journey.Template = s
				k.journeyOK = true
			}
		}
	}},
	{"params", func(k *checkDecoder, e yamldoc.Pair, fl string) {
		items, _ := k.strMap(e.V, fl)
		k.c.Journey.Params = map[string]string{}
		for _, it := range items {
			if !it.ok {
				continue
			}
			if !identifier(it.key) {
				k.addf(it.line, "%s: parameter name %q: want letters, digits and _ (not starting with a digit)", fl, yamldoc.Clip(it.key))
				continue
			}
			k.c.Journey.Params[it.key] = it.value
		}
	}},
}

// journeySource checks that a journey check names its journey once, and
// its params against that journey when the journey itself is valid.
func (k *checkDecoder) journeySource() {
	_, hasJourney := k.decoded["journey"]
	template, hasTemplate := k.decoded["template"]
	switch {
	case hasJourney && hasTemplate:
		k.addf(template.K.Line, "%s: set journey or template, not both", k.label)
	case !hasJourney && !hasTemplate:
		k.addf(k.n.Line, "%s: a journey check needs journey: FILE or template: NAME", k.label)
	}
	if k.journeyOK && hasJourney != hasTemplate && k.opts.params != nil {
		line, where := k.n.Line, k.label
		if e, ok := k.keys["params"]; ok {
			line, where = e.K.Line, k.label+": params"
		}
		k.hookError(k.opts.params(k.c.Journey), line, where)
	}
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
