package config

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
	"go.yaml.in/yaml/v3"
)

const (
	// nodeBudget bounds the work on one document: aliases and merge keys
	// can make a small file expand exponentially ("billion laughs").
	nodeBudget = 200_000
	// maxProblems keeps a pathological file from producing a flood.
	maxProblems = 500
)

// decoder walks one document, collecting problems as it goes.
type decoder struct {
	file     string
	dir      string // base for relative paths
	opts     options
	problems probe.Problems
	budget   int
	journeys map[string]bool // journey files already validated: true if valid
	// defaultSLO is defaults.slo as written, which each check's slo block
	// refines.
	defaultSLO sloSpec
	// Names used before they may be defined, checked by alertingRefs.
	notifyRefs    []ref
	checkRefs     []ref
	checkNames    map[string]bool // every check named, valid or not
	notifierNames map[string]bool // every notifier named, valid or not
	dependsLines  map[string]int  // line of each check's depends_on

	stopped bool
}

func newDecoder(file string, o options) *decoder {
	return &decoder{file: file, dir: filepath.Dir(file), opts: o, budget: nodeBudget, journeys: map[string]bool{},
		checkNames: map[string]bool{}, notifierNames: map[string]bool{}, dependsLines: map[string]int{}}
}

// addf records a problem at line of the config file.
func (d *decoder) addf(line int, format string, args ...any) {
	d.add(probe.Problem{File: d.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (d *decoder) add(p probe.Problem) {
	if d.stopped {
		return
	}
	if p.Line < 1 {
		p.Line = 1
	}
	if len(d.problems) == maxProblems {
		d.problems = append(d.problems, probe.Problem{File: d.file, Line: p.Line, Message: "too many problems; stopping here"})
		d.stopped = true
		return
	}
	d.problems = append(d.problems, p)
}

// spend takes one unit of work; false once the budget is gone.
func (d *decoder) spend(line int) bool {
	if d.budget <= 0 {
		return false
	}
	d.budget--
	if d.budget == 0 {
		d.addf(line, "document too large after expanding aliases and merge keys (over %d values)", nodeBudget)
		return false
	}
	return true
}

// document parses data and decodes its single document.
func (d *decoder) document(data []byte) *Config {
	doc, serr := yamldoc.Decode(data)
	switch {
	case serr != nil && serr.Limit:
		d.addf(serr.Line, "%s", serr.Message)
		return nil
	case serr != nil:
		d.addf(serr.Line, "YAML syntax: %s", serr.Message)
		return nil
	}
	if doc.Extra > 0 {
		d.addf(doc.Extra, "only one YAML document is allowed")
	}
	if doc.Root == nil || doc.Root.ShortTag() == "!!null" {
		d.addf(1, "empty config: want a mapping with at least a checks list")
		return nil
	}
	return d.top(doc.Root)
}

// mapping returns the entries of n in document order, with YAML merge keys
// (<<: *anchor) resolved: explicit keys win over merged ones, and earlier
// merge sources over later ones. Repeated keys are problems.
func (d *decoder) mapping(n *yaml.Node, label string) ([]yamldoc.Pair, bool) {
	n = yamldoc.Deref(n)
	if n.ShortTag() == "!!null" {
		// "scheduler:" with every key commented out means no settings.
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		d.addf(n.Line, "%s: want a mapping, got %s", label, yamldoc.Describe(n))
		return nil, false
	}
	pairs, bad := yamldoc.Pairs(n)
	for _, b := range bad {
		d.addf(b.K.Line, "%s: %v", label, b)
	}
	var out, merged []yamldoc.Pair
	seen := map[string]bool{}
	for _, p := range pairs {
		if !d.spend(n.Line) {
			return out, false
		}
		if p.K.ShortTag() == "!!merge" {
			merged = append(merged, d.merge(p.V, label)...)
			continue
		}
		seen[p.Key] = true
		out = append(out, p)
	}
	for _, e := range merged {
		if !seen[e.Key] {
			seen[e.Key] = true
			out = append(out, e)
		}
	}
	return out, true
}

// merge returns the entries a merge key's value contributes.
func (d *decoder) merge(v *yaml.Node, label string) []yamldoc.Pair {
	switch v.Kind {
	case yaml.MappingNode:
		es, _ := d.mapping(v, label)
		return es
	case yaml.SequenceNode:
		var out []yamldoc.Pair
		for _, item := range v.Content {
			item = yamldoc.Deref(item)
			if item.Kind != yaml.MappingNode {
				d.addf(item.Line, "%s: a merge key (<<) takes mappings, got %s", label, yamldoc.Describe(item))
				continue
			}
			es, _ := d.mapping(item, label)
			out = append(out, es...)
		}
		return out
	}
	d.addf(v.Line, "%s: a merge key (<<) takes a mapping or a list of mappings, got %s", label, yamldoc.Describe(v))
	return nil
}

// unknown reports a key that has no meaning where it is, suggesting the
// closest known key for typos.
func (d *decoder) unknown(e yamldoc.Pair, label string, known []string) {
	where := ""
	if label != "" {
		where = label + ": "
	}
	if s := closest(e.Key, known); s != "" {
		d.addf(e.K.Line, "%sunknown key %q (did you mean %q?)", where, e.Key, s)
		return
	}
	d.addf(e.K.Line, "%sunknown key %q (known: %s)", where, e.Key, strings.Join(known, ", "))
}

// closest returns the known key within edit distance 2 of key, if any.
func closest(key string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if dist := editDistance(strings.ToLower(key), k); dist < bestD {
			best, bestD = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// expandAt expands ${VAR}s of a value, reporting failures at n.
func (d *decoder) expandAt(n *yaml.Node, label, s string) (string, bool) {
	v, err := expand(s, d.opts.env)
	if err != nil {
		d.addf(n.Line, "%s: %v", label, err)
		return "", false
	}
	return v, true
}

// str decodes a string value (a YAML string, not a number or boolean:
// strictness catches `name: 404` meant as a string and `method: yes`).
func (d *decoder) str(n *yaml.Node, label string) (string, bool) {
	switch n.ShortTag() {
	case "!!str":
		return d.expandAt(n, label, n.Value)
	case "!!int", "!!float", "!!bool":
		d.addf(n.Line, "%s: want a string, got %s (quote it to make it a string)", label, yamldoc.Describe(n))
	default:
		d.addf(n.Line, "%s: want a string, got %s", label, yamldoc.Describe(n))
	}
	return "", false
}

// text decodes any scalar but null as its text, for free-form map values
// (headers, tags, params) where `quantity: 2` is natural.
func (d *decoder) text(n *yaml.Node, label string) (string, bool) {
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool":
		return d.expandAt(n, label, n.Value)
	}
	d.addf(n.Line, "%s: want a string, got %s", label, yamldoc.Describe(n))
	return "", false
}

// integer decodes an integer in [lo, hi].
func (d *decoder) integer(n *yaml.Node, label string, lo, hi int) (int, bool) {
	if n.ShortTag() != "!!int" {
		d.addf(n.Line, "%s: want an integer, got %s", label, yamldoc.Describe(n))
		return 0, false
	}
	var v int64
	if err := n.Decode(&v); err != nil || v < int64(lo) || v > int64(hi) {
		d.addf(n.Line, "%s: want an integer from %d to %d, got %s", label, lo, hi, yamldoc.Clip(n.Value))
		return 0, false
	}
	return int(v), true
}

// number decodes an integer or float in [lo, hi].
func (d *decoder) number(n *yaml.Node, label string, lo, hi float64) (float64, bool) {
	tag := n.ShortTag()
	if tag != "!!int" && tag != "!!float" {
		d.addf(n.Line, "%s: want a number, got %s", label, yamldoc.Describe(n))
		return 0, false
	}
	var v float64
	if err := n.Decode(&v); err != nil || math.IsNaN(v) || v < lo || v > hi {
		d.addf(n.Line, "%s: want a number from %g to %g, got %s", label, lo, hi, yamldoc.Clip(n.Value))
		return 0, false
	}
	return v, true
}

// percent decodes a target percentage, above 0 and at most 100.
func (d *decoder) percent(n *yaml.Node, label string) (float64, bool) {
	v, ok := d.number(n, label, 0, 100)
	if ok && v == 0 {
		d.addf(n.Line, "%s: want a percentage above 0 and at most 100, got 0 (leave the key out for no target)", label)
		return 0, false
	}
	return v, ok
}

func (d *decoder) boolean(n *yaml.Node, label string) (bool, bool) {
	if n.ShortTag() != "!!bool" {
		d.addf(n.Line, "%s: want true or false, got %s", label, yamldoc.Describe(n))
		return false, false
	}
	var v bool
	if err := n.Decode(&v); err != nil {
		d.addf(n.Line, "%s: want true or false, got %s", label, yamldoc.Clip(n.Value))
		return false, false
	}
	return v, true
}

// duration decodes a duration string ("500ms", "30s", "90d"), at least min.
// A bare 0 is accepted; other bare numbers lack a unit and are refused.
func (d *decoder) duration(n *yaml.Node, label string, min time.Duration) (time.Duration, bool) {
	var v time.Duration
	switch {
	case n.ShortTag() == "!!int" && n.Value == "0":
	case n.ShortTag() == "!!str":
		s, ok := d.expandAt(n, label, n.Value)
		if !ok {
			return 0, false
		}
		var err error
		if v, err = probe.ParseDuration(s); err != nil {
			d.addf(n.Line, "%s: %v", label, err)
			return 0, false
		}
	default:
		d.addf(n.Line, "%s: want a duration such as 500ms, 30s, 5m or 90d, got %s", label, yamldoc.Describe(n))
		return 0, false
	}
	if v < min {
		if min == 1 {
			d.addf(n.Line, "%s: must be above 0", label)
		} else {
			d.addf(n.Line, "%s: must be at least %s, got %s", label, min, v)
		}
		return 0, false
	}
	return v, true
}

// maxBodyCap bounds a body cap: the probe buffers the body in memory.
const maxBodyCap = 1 << 30

// byteSize decodes a size as --max-body takes it: "10MiB", "512KB", or a
// plain integer of bytes; from 1 byte to 1 GiB.
func (d *decoder) byteSize(n *yaml.Node, label string) (int64, bool) {
	var s string
	switch n.ShortTag() {
	case "!!int":
		s = n.Value
	case "!!str":
		var ok bool
		if s, ok = d.expandAt(n, label, n.Value); !ok {
			return 0, false
		}
	default:
		d.addf(n.Line, "%s: want a size such as 10MiB, 512KB or a number of bytes, got %s", label, yamldoc.Describe(n))
		return 0, false
	}
	v, err := probe.ParseByteSize(s)
	if err != nil {
		d.addf(n.Line, "%s: %v", label, err)
		return 0, false
	}
	if v > maxBodyCap {
		d.addf(n.Line, "%s: at most 1GiB, got %s", label, yamldoc.Clip(s))
		return 0, false
	}
	return v, true
}

// item is one decoded element of a list or map, with where it was.
type item struct {
	key, value string
	raw        string // before ${VAR} expansion, for messages that must not leak secrets
	line       int
	ok         bool // decoded without a problem
}

// strList decodes a string or a list of strings.
func (d *decoder) strList(n *yaml.Node, label string) ([]item, bool) {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.str(n, label)
		return []item{{value: s, raw: n.Value, line: n.Line, ok: ok}}, ok
	}
	if n.Kind != yaml.SequenceNode {
		d.addf(n.Line, "%s: want a string or a list of strings, got %s", label, yamldoc.Describe(n))
		return nil, false
	}
	out, allOK := []item{}, true
	for i, c := range n.Content {
		if !d.spend(c.Line) {
			return out, false
		}
		c = yamldoc.Deref(c)
		s, ok := d.str(c, fmt.Sprintf("%s[%d]", label, i))
		allOK = allOK && ok
		out = append(out, item{value: s, raw: c.Value, line: c.Line, ok: ok})
	}
	return out, allOK
}

// strMap decodes a mapping of scalar values, in document order.
func (d *decoder) strMap(n *yaml.Node, label string) ([]item, bool) {
	es, ok := d.mapping(n, label)
	if !ok {
		return nil, false
	}
	out, allOK := []item{}, true
	for _, e := range es {
		v, ok := d.text(e.V, label+"."+e.Key)
		allOK = allOK && ok
		out = append(out, item{key: e.Key, value: v, raw: e.V.Value, line: e.K.Line, ok: ok})
	}
	return out, allOK
}

// resolvePath makes a path from the config relative to the config's directory.
func (d *decoder) resolvePath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(d.dir, p)
}

// plainText reports whether s is non-empty, has no control characters and
// is at most max bytes: the rule for names that become tags and log fields.
func plainText(s string, max int) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("must not be empty")
	}
	if len(s) > max {
		return fmt.Errorf("longer than %d bytes", max)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return errors.New("contains a control character")
		}
	}
	return nil
}

// identifier reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func identifier(s string) bool { return validEnvName(s) }
