package scenarios

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
)

// MaxFileBytes caps a journey file; a journey is a page of YAML, and a cap
// keeps a mistaken path (a log file, a binary) from being read whole.
const MaxFileBytes = 1 << 20

// Devices a journey may name.
var devices = []string{probe.DeviceDesktop, probe.DeviceMobile}

var (
	paramNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// Screenshot names become file names: no separators, no dot files.
	shotNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
)

var topKeys = []string{"name", "description", "device", "timeout", "params", "steps"}

// actionKeys lists the step actions in the order messages name them.
var actionKeys = []probe.Action{
	probe.ActionGoto, probe.ActionClick, probe.ActionWaitFor, probe.ActionType, probe.ActionSelect,
	probe.ActionAssertText, probe.ActionAssertURL, probe.ActionScreenshot, probe.ActionSleep,
	probe.ActionWaitForPayment,
}

var stepOptionKeys = []string{"name", "page", "timeout", "optional"}

// LoadFile reads and parses a journey file.
func LoadFile(path string) (probe.Journey, error) {
	f, err := os.Open(path)
	if err != nil {
		return probe.Journey{}, fmt.Errorf("open journey: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return probe.Journey{}, fmt.Errorf("read journey %s: %w", path, err)
	}
	if len(data) > MaxFileBytes {
		return probe.Journey{}, probe.Problems{{File: path, Line: 1, Message: fmt.Sprintf("file is larger than %d bytes; is this a journey?", MaxFileBytes)}}
	}
	return Parse(path, data)
}

// Parse parses one journey. file names it in messages. All problems are
// collected and returned together as probe.Problems, in line order; the
// returned Journey holds whatever parsed, so a caller may still show it,
// but must not run it when the error is non-nil. Placeholders stay in place: run Apply before running.
func Parse(file string, data []byte) (probe.Journey, error) {
	p := &parser{file: file}
	j := p.parse(data)
	if len(p.probs) > 0 {
		sort.SliceStable(p.probs, func(a, b int) bool { return p.probs[a].Line < p.probs[b].Line })
		if n := len(p.probs); n > MaxProblems {
			last := p.probs[MaxProblems-1]
			p.probs = append(p.probs[:MaxProblems], probe.Problem{File: file, Line: last.Line, Message: fmt.Sprintf("%d more problems not shown", n-MaxProblems)})
		}
		return j, p.probs
	}
	return j, nil
}

// MaxProblems caps the problems Parse reports: past a few dozen, the file
// is not a journey, and the first ones say why.
const MaxProblems = 50

type parser struct {
	file   string
	probs  probe.Problems
	params map[string]string
}

func (p *parser) at(line int, format string, args ...any) {
	if line < 1 {
		line = 1
	}
	p.probs = append(p.probs, probe.Problem{File: p.file, Line: line, Message: fmt.Sprintf(format, args...)})
}

func (p *parser) atNode(n *yaml.Node, format string, args ...any) { p.at(n.Line, format, args...) }

var unquotedPlaceholderRE = regexp.MustCompile(`(^|[:\-[,]\s*)\{\{`)

// yamlError reports YAML that does not parse, with a hint for the classic
// mistake: goto: {{base_url}}/ unquoted is a flow mapping.
func (p *parser) yamlError(se *yamldoc.SyntaxError, data []byte) {
	msg := se.Message
	lines := strings.Split(string(data), "\n")
	for _, l := range []int{se.Line, se.Line + 1} {
		if l >= 1 && l <= len(lines) && unquotedPlaceholderRE.MatchString(lines[l-1]) &&
			!strings.ContainsAny(strings.SplitN(lines[l-1], "{{", 2)[0], "\"'") {
			msg += " (quote values that start with {{)"
			break
		}
	}
	p.at(se.Line, "YAML: %s", msg)
}

func (p *parser) parse(data []byte) probe.Journey {
	j := probe.Journey{File: p.file}
	doc, serr := yamldoc.Decode(data)
	switch {
	case serr != nil && serr.Limit:
		p.at(serr.Line, "%s", serr.Message)
	case serr != nil:
		p.yamlError(serr, data)
	}
	if doc.Extra > 0 {
		p.at(doc.Extra, "a second YAML document; a journey file holds one journey")
	}
	root := doc.Root
	if root == nil {
		if serr == nil {
			p.at(1, "empty journey: want name, params and steps")
		}
		return j
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		p.atNode(root, "empty journey: want name, params and steps")
		return j
	}
	if root.Kind != yaml.MappingNode {
		p.atNode(root, "want a mapping with name, params and steps, got %s", yamldoc.Describe(root))
		return j
	}

	var stepsKey, stepsNode *yaml.Node
	p.params = map[string]string{}
	for _, kv := range p.pairs(root) {
		k, v := kv.K, kv.V
		switch k.Value {
		case "name":
			j.Name, _ = p.str(v, "name")
		case "description":
			j.Description, _ = p.str(v, "description")
		case "device":
			if d, ok := p.str(v, "device"); ok {
				if !contains(devices, d) {
					p.atNode(v, "device %q: want %s", d, strings.Join(devices, " or "))
				}
				j.Device = d
			}
		case "timeout":
			j.Timeout, _ = p.duration(v, "timeout")
		case "params":
			p.parseParams(v)
		case "steps":
			stepsKey, stepsNode = k, v
		default:
			p.atNode(k, "unknown key %q (want %s)", k.Value, strings.Join(topKeys, ", "))
		}
	}
	if j.Name == "" {
		j.Name = strings.TrimSuffix(filepath.Base(p.file), filepath.Ext(p.file))
	}
	if len(p.params) > 0 {
		j.Params = p.params
	}
	switch {
	case stepsNode == nil:
		p.atNode(root, "no steps: a journey needs a steps list")
	case stepsNode.Kind == yaml.ScalarNode && stepsNode.ShortTag() == "!!null",
		stepsNode.Kind == yaml.SequenceNode && len(stepsNode.Content) == 0:
		p.atNode(stepsKey, "steps is empty: a journey needs at least one step")
	case stepsNode.Kind != yaml.SequenceNode:
		p.atNode(stepsNode, "steps: want a list, got %s", yamldoc.Describe(stepsNode))
	default:
		for i, sn := range stepsNode.Content {
			if s, ok := p.parseStep(i+1, yamldoc.Deref(sn), j.Timeout); ok {
				j.Steps = append(j.Steps, s)
			}
		}
	}
	j.SecretParams = secretParams(j)
	return j
}

// pairs returns a mapping's pairs, reporting keys that are not names and
// repeated keys.
func (p *parser) pairs(m *yaml.Node) []yamldoc.Pair {
	pairs, bad := yamldoc.Pairs(m)
	for _, b := range bad {
		p.atNode(b.K, "%v", b)
	}
	return pairs
}

func (p *parser) parseParams(v *yaml.Node) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null" {
		return
	}
	if v.Kind != yaml.MappingNode {
		p.atNode(v, "params: want a mapping of name: default value, got %s", yamldoc.Describe(v))
		return
	}
	for _, kv := range p.pairs(v) {
		k, val := kv.K, kv.V
		if !paramNameRE.MatchString(k.Value) {
			p.atNode(k, "param name %q: use letters, digits and _ (not starting with a digit)", k.Value)
			continue
		}
		if val.Kind == yaml.ScalarNode && val.ShortTag() == "!!null" {
			p.params[k.Value] = "" // declared without a default: must be given
			continue
		}
		s, ok := p.str(val, "param "+k.Value)
		if ok && strings.Contains(s, "{{") {
			p.atNode(val, "param %s: a default cannot contain placeholders", k.Value)
			continue
		}
		p.params[k.Value] = s
	}
}

func (p *parser) parseStep(n int, sn *yaml.Node, journeyTimeout time.Duration) (probe.Step, bool) {
	s := probe.Step{Line: sn.Line}
	if sn.Kind != yaml.MappingNode {
		p.atNode(sn, "step %d: want a mapping with one action (e.g. goto: URL), got %s", n, yamldoc.Describe(sn))
		return s, false
	}
	var actionKey, actionVal *yaml.Node
	for _, kv := range p.pairs(sn) {
		k, v := kv.K, kv.V
		switch k.Value {
		case "name":
			s.Name, _ = p.str(v, "name")
			p.placeholders(v, s.Name)
		case "page":
			if pg, ok := p.str(v, "page"); ok {
				if pg == "" || len(pg) > 64 || strings.ContainsFunc(pg, isControl) {
					p.atNode(v, "step %d: page name %q: want 1 to 64 printable characters", n, pg)
				}
				p.placeholders(v, pg)
				s.Page = pg
			}
		case "timeout":
			s.Timeout, _ = p.duration(v, "timeout")
			if journeyTimeout > 0 && s.Timeout > journeyTimeout {
				p.atNode(v, "step %d: timeout %s is longer than the journey's timeout %s", n, s.Timeout, journeyTimeout)
			}
		case "optional":
			s.Optional, _ = p.boolean(v, "optional")
		default:
			a := probe.Action(k.Value)
			if !contains(actionKeys, a) {
				p.atNode(k, "step %d: unknown key %q (want one action of %s, and optionally %s)",
					n, k.Value, joinActions(), strings.Join(stepOptionKeys, ", "))
				continue
			}
			if actionKey != nil {
				p.atNode(k, "step %d: two actions, %s (line %d) and %s: a step has exactly one; split it in two",
					n, actionKey.Value, actionKey.Line, k.Value)
				continue
			}
			actionKey, actionVal = k, v
		}
	}
	if actionKey == nil {
		p.atNode(sn, "step %d: no action (want one of %s)", n, joinActions())
		return s, false
	}
	s.Action = probe.Action(actionKey.Value)
	before := len(p.probs)
	p.parseAction(n, &s, actionVal, journeyTimeout)
	return s, len(p.probs) == before
}

func (p *parser) parseAction(n int, s *probe.Step, v *yaml.Node, journeyTimeout time.Duration) {
	what := fmt.Sprintf("step %d: %s", n, s.Action)
	switch s.Action {
	case probe.ActionGoto:
		if u, ok := p.nonEmpty(v, what); ok {
			s.URL = u
			if p.placeholders(v, u) == 0 {
				if err := checkURL(u); err != nil {
					p.atNode(v, "%s: %v", what, err)
				}
			}
		}
	case probe.ActionClick:
		s.Selector, _ = p.selector(v, what)
	case probe.ActionAssertURL:
		s.URL, _ = p.regex(v, what)
	case probe.ActionScreenshot:
		if name, ok := p.nonEmpty(v, what); ok {
			s.Shot = name
			if p.placeholders(v, name) == 0 && !shotNameRE.MatchString(name) {
				p.atNode(v, "%s: name %q: want letters, digits, . _ - (it becomes a file name)", what, name)
			}
		}
	case probe.ActionSleep:
		s.Sleep, _ = p.duration(v, what)
		if journeyTimeout > 0 && s.Sleep >= journeyTimeout {
			p.atNode(v, "%s: %s is not shorter than the journey's timeout %s", what, s.Sleep, journeyTimeout)
		}
	case probe.ActionWaitForPayment:
		// A closed set, not a placeholder: which gateway decides what is
		// waited for, so it is known when the journey is validated.
		if name, ok := p.nonEmpty(v, what); ok {
			if pp := probe.PaymentProvider(name); pp.Valid() {
				s.Payment = pp
			} else {
				p.atNode(v, "%s: unknown payment provider %q (want %s)", what, yamldoc.Clip(name), probe.PaymentProviderNames())
			}
		}
	case probe.ActionWaitFor:
		fields := p.fields(v, what, map[string]bool{"text": false, "selector": false, "url": false})
		if fields == nil {
			return
		}
		if len(fields) != 1 {
			p.atNode(v, "%s: want exactly one of text, selector or url", what)
			return
		}
		switch {
		case fields["text"] != nil:
			s.Text, _ = p.nonEmpty(fields["text"], what+" text")
			p.placeholders(fields["text"], s.Text)
		case fields["selector"] != nil:
			s.Selector, _ = p.selector(fields["selector"], what+" selector")
		default:
			s.URLMatch, _ = p.regex(fields["url"], what+" url")
		}
	case probe.ActionType:
		fields := p.fields(v, what, map[string]bool{"selector": true, "text": true, "secret": false})
		if fields == nil {
			return
		}
		if f := fields["selector"]; f != nil {
			s.Selector, _ = p.selector(f, what+" selector")
		}
		if f := fields["text"]; f != nil {
			// Typing nothing is allowed (clearing a field is a real action),
			// but only when said explicitly.
			s.Text, _ = p.str(f, what+" text")
			p.placeholders(f, s.Text)
		}
		if f := fields["secret"]; f != nil {
			s.Secret, _ = p.boolean(f, what+" secret")
		}
	case probe.ActionSelect:
		fields := p.fields(v, what, map[string]bool{"selector": true, "value": true})
		if fields == nil {
			return
		}
		if f := fields["selector"]; f != nil {
			s.Selector, _ = p.selector(f, what+" selector")
		}
		if f := fields["value"]; f != nil {
			s.Value, _ = p.str(f, what+" value")
			p.placeholders(f, s.Value)
		}
	case probe.ActionAssertText:
		fields := p.fields(v, what, map[string]bool{"selector": false, "text": true})
		if fields == nil {
			return
		}
		s.Selector = "body"
		if f := fields["selector"]; f != nil {
			s.Selector, _ = p.selector(f, what+" selector")
		}
		if f := fields["text"]; f != nil {
			s.Text, _ = p.nonEmpty(f, what+" text")
			p.placeholders(f, s.Text)
		}
	}
}

// fields decodes an action's mapping; allowed maps each key to whether it
// is required. It returns nil after reporting when v is not a mapping.
func (p *parser) fields(v *yaml.Node, what string, allowed map[string]bool) map[string]*yaml.Node {
	keys := make([]string, 0, len(allowed))
	for k := range allowed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if v.Kind != yaml.MappingNode {
		p.atNode(v, "%s: want a mapping with %s, got %s%s", what, strings.Join(keys, ", "), yamldoc.Describe(v), quoteHint(v))
		return nil
	}
	out := map[string]*yaml.Node{}
	for _, kv := range p.pairs(v) {
		k, val := kv.K, kv.V
		if _, ok := allowed[k.Value]; !ok {
			p.atNode(k, "%s: unknown key %q (want %s)", what, k.Value, strings.Join(keys, ", "))
			continue
		}
		out[k.Value] = val
	}
	for _, k := range keys {
		if allowed[k] && out[k] == nil {
			p.atNode(v, "%s: missing %s", what, k)
		}
	}
	return out
}

func (p *parser) str(v *yaml.Node, what string) (string, bool) {
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case "!!str", "!!int", "!!float":
			// Numbers are accepted as their source text: a zip code or a
			// product id is a string to the page.
			return v.Value, true
		}
	}
	p.atNode(v, "%s: want a string, got %s%s", what, yamldoc.Describe(v), quoteHint(v))
	return "", false
}

func (p *parser) nonEmpty(v *yaml.Node, what string) (string, bool) {
	s, ok := p.str(v, what)
	if ok && strings.TrimSpace(s) == "" {
		p.atNode(v, "%s: empty", what)
		return s, false
	}
	return s, ok
}

func (p *parser) selector(v *yaml.Node, what string) (string, bool) {
	s, ok := p.nonEmpty(v, what)
	if !ok {
		return s, false
	}
	if p.placeholders(v, s) == 0 {
		if err := checkSelector(s); err != nil {
			p.atNode(v, "%s: bad CSS selector %q: %v", what, yamldoc.Clip(s), err)
			return s, false
		}
	}
	return s, true
}

// regex parses a regular expression field. Placeholders are checked, then
// stand in as literals so the rest of the pattern is still validated.
func (p *parser) regex(v *yaml.Node, what string) (string, bool) {
	s, ok := p.nonEmpty(v, what)
	if !ok {
		return s, false
	}
	p.placeholders(v, s)
	probeRE := placeholderRE.ReplaceAllString(s, "x")
	if _, err := regexp.Compile(probeRE); err != nil {
		p.atNode(v, "%s: bad regular expression: %s", what, strings.TrimPrefix(err.Error(), "error parsing regexp: "))
		return s, false
	}
	return s, true
}

func (p *parser) boolean(v *yaml.Node, what string) (bool, bool) {
	if v.Kind == yaml.ScalarNode && v.ShortTag() == "!!bool" {
		b, err := strconv.ParseBool(v.Value)
		if err == nil {
			return b, true
		}
	}
	p.atNode(v, "%s: want true or false, got %s", what, yamldoc.Describe(v))
	return false, false
}

func (p *parser) duration(v *yaml.Node, what string) (time.Duration, bool) {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		p.atNode(v, "%s: want a duration with a unit like 500ms, 30s or 2m, got %s", what, yamldoc.Describe(v))
		return 0, false
	}
	d, err := probe.ParseDuration(v.Value)
	if err != nil {
		p.atNode(v, "%s: %v", what, err)
		return 0, false
	}
	if d <= 0 {
		p.atNode(v, "%s: must be longer than zero", what)
		return 0, false
	}
	return d, true
}

// placeholders checks every {{...}} in s against the declared params and
// returns how many there are.
func (p *parser) placeholders(v *yaml.Node, s string) int {
	refs, err := scanPlaceholders(s)
	if err != nil {
		p.atNode(v, "%v", err)
		return 1
	}
	for _, r := range refs {
		if _, ok := p.params[r.name]; !ok {
			p.atNode(v, "unknown param %q in %s (declare it under params)", r.name, r.raw)
		}
	}
	return len(refs)
}

// quoteHint explains the classic mistake: an unquoted value starting with
// "{{" is a YAML flow mapping, not a string.
func quoteHint(n *yaml.Node) string {
	if n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle != 0 && len(n.Content) > 0 && n.Content[0].Kind == yaml.MappingNode {
		return " (quote values that start with {{)"
	}
	return ""
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func joinActions() string {
	names := make([]string, len(actionKeys))
	for i, a := range actionKeys {
		names[i] = string(a)
	}
	return strings.Join(names, ", ")
}
