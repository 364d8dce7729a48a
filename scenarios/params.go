package scenarios

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/yamldoc"
)

// placeholderRE finds candidate placeholders; scanPlaceholders validates them.
var placeholderRE = regexp.MustCompile(`\{\{[^{}]*\}\}`)

// filters are the transformations a placeholder may ask for.
var filters = map[string]func(string) string{
	// query escapes a value for a URL query, so a search term such as
	// "red & blue" stays one parameter.
	"query": url.QueryEscape,
}

type placeholder struct {
	raw    string // as written, e.g. "{{ term | query }}"
	name   string
	filter string
	start  int
	end    int
}

// scanPlaceholders returns the placeholders in s, or an error naming the
// first malformed one.
func scanPlaceholders(s string) ([]placeholder, error) {
	var out []placeholder
	for i := 0; ; {
		open := strings.Index(s[i:], "{{")
		if open < 0 {
			return out, nil
		}
		open += i
		closeAt := strings.Index(s[open+2:], "}}")
		if closeAt < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", yamldoc.Clip(s))
		}
		end := open + 2 + closeAt + 2
		raw := s[open:end]
		inner := s[open+2 : end-2]
		name, filter, hasFilter := strings.Cut(inner, "|")
		name, filter = strings.TrimSpace(name), strings.TrimSpace(filter)
		if !paramNameRE.MatchString(name) {
			return nil, fmt.Errorf("malformed placeholder %s: want {{name}} or {{name | query}}", raw)
		}
		if hasFilter {
			if _, ok := filters[filter]; !ok {
				return nil, fmt.Errorf("unknown filter %q in %s (want query)", filter, raw)
			}
		}
		out = append(out, placeholder{raw: raw, name: name, filter: filter, start: open, end: end})
		i = end
	}
}

// Apply returns a copy of j with params substituted into every string field
// of every step. params (from --param flags or a config's params:) override
// the journey's defaults; a name the journey does not declare is an error
// (a typo would otherwise be silently ignored), and so is a referenced param
// left without a value. Default step names are filled in after
// substitution. Secret params stay listed in SecretParams: register
// j.SecretValues() with the run's Redactor before running.
func Apply(j probe.Journey, params map[string]string) (probe.Journey, error) {
	var unknown []string
	for k := range params {
		if _, ok := j.Params[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return j, fmt.Errorf("journey %s: unknown param %s (it declares: %s)",
			j.File, strings.Join(unknown, ", "), declared(j))
	}
	merged := make(map[string]string, len(j.Params))
	for k, v := range j.Params {
		merged[k] = v
	}
	for k, v := range params {
		merged[k] = v
	}

	var missing []string
	for name := range referenced(j) {
		if merged[name] == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		noun, verb := "param", "has"
		if len(missing) > 1 {
			noun, verb = "params", "have"
		}
		return j, fmt.Errorf("journey %s: %s %s %s no value: set it with --param %s=VALUE or under params: in the config",
			j.File, noun, strings.Join(missing, ", "), verb, missing[0])
	}

	out := j
	out.Params = merged
	out.Steps = make([]probe.Step, len(j.Steps))
	var probs probe.Problems
	bad := func(s probe.Step, format string, args ...any) {
		probs = append(probs, probe.Problem{File: j.File, Line: s.Line, Message: fmt.Sprintf(format, args...)})
	}
	var err error
	sub := func(s string, regex bool) string {
		r, e := substitute(s, merged, regex)
		if e != nil && err == nil {
			err = e
		}
		return r
	}
	for i, s := range j.Steps {
		s.Name = sub(s.Name, false)
		s.Page = sub(s.Page, false)
		s.Selector = sub(s.Selector, false)
		s.Text = sub(s.Text, false)
		s.Value = sub(s.Value, false)
		s.Shot = sub(s.Shot, false)
		s.URL = sub(s.URL, s.Action == probe.ActionAssertURL)
		s.URLMatch = sub(s.URLMatch, true)
		if s.Selector != "" && s.Selector != j.Steps[i].Selector {
			if e := checkSelector(s.Selector); e != nil {
				bad(s, "%s: bad CSS selector %q after substitution: %v", s.Action, yamldoc.Clip(s.Selector), e)
			}
		}
		switch s.Action {
		case probe.ActionGoto:
			if e := checkURL(s.URL); e != nil {
				bad(s, "goto %s: %v", s.URL, e)
			}
		case probe.ActionAssertURL:
			if _, e := regexp.Compile(s.URL); e != nil {
				bad(s, "assert_url: bad regular expression after substitution: %v", e)
			}
		case probe.ActionWaitFor:
			if s.URLMatch != "" {
				if _, e := regexp.Compile(s.URLMatch); e != nil {
					bad(s, "wait_for url: bad regular expression after substitution: %v", e)
				}
			}
		case probe.ActionScreenshot:
			if !shotNameRE.MatchString(s.Shot) {
				bad(s, "screenshot: name %q: want letters, digits, . _ - (it becomes a file name)", s.Shot)
			}
		}
		if s.Name == "" {
			s.Name = DefaultStepName(s)
		}
		out.Steps[i] = s
	}
	if err != nil {
		return j, fmt.Errorf("journey %s: %w", j.File, err)
	}
	if len(probs) > 0 {
		return j, probs
	}
	out.SecretParams = secretParams(out)
	return out, nil
}

// substitute replaces placeholders in s. In a regular expression a value
// matches literally: a base URL's dots and a search term's "+" are text.
func substitute(s string, params map[string]string, regex bool) (string, error) {
	refs, err := scanPlaceholders(s)
	if err != nil || len(refs) == 0 {
		return s, err
	}
	var b strings.Builder
	last := 0
	for _, r := range refs {
		v, ok := params[r.name]
		if !ok {
			return s, fmt.Errorf("unknown param %q in %s", r.name, r.raw)
		}
		if f := filters[r.filter]; f != nil {
			v = f(v)
		}
		if regex {
			v = regexp.QuoteMeta(v)
		}
		b.WriteString(s[last:r.start])
		b.WriteString(v)
		last = r.end
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// referenced returns the params used by any step.
func referenced(j probe.Journey) map[string]bool {
	out := map[string]bool{}
	for _, s := range j.Steps {
		for _, f := range stringFields(s) {
			refs, _ := scanPlaceholders(f)
			for _, r := range refs {
				out[r.name] = true
			}
		}
	}
	return out
}

func stringFields(s probe.Step) []string {
	return []string{s.Name, s.Page, s.URL, s.Selector, s.Text, s.Value, s.URLMatch, s.Shot}
}

// secretParams lists the params typed by secret steps or named like
// credentials. It reads placeholders, so it is computed on the parsed
// journey and carried through Apply unchanged.
func secretParams(j probe.Journey) []string {
	set := map[string]bool{}
	for _, name := range j.SecretParams {
		set[name] = true
	}
	for name := range j.Params {
		if probe.LooksSecret(name) || strings.Contains(strings.ToLower(name), "password") {
			set[name] = true
		}
	}
	for _, s := range j.Steps {
		if !s.Secret {
			continue
		}
		refs, _ := scanPlaceholders(s.Text)
		for _, r := range refs {
			set[r.name] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set))
	for name := range set {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func declared(j probe.Journey) string {
	if len(j.Params) == 0 {
		return "no params"
	}
	names := make([]string, 0, len(j.Params))
	for k := range j.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// checkURL accepts absolute http and https URLs, the only ones a journey
// can navigate to.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("bad URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("URL %q: want an absolute http:// or https:// URL", yamldoc.Clip(raw))
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", yamldoc.Clip(raw))
	}
	return nil
}

// DefaultStepName is the name of a step that has none: "<action> <target>".
// It never includes typed text, which may be secret.
func DefaultStepName(s probe.Step) string {
	if target := s.Target(); target != "" {
		return string(s.Action) + " " + target
	}
	return string(s.Action)
}

// checkSelector catches the CSS typos that would otherwise surface only at
// run time, as a selector failure after the step's whole timeout: unclosed
// brackets, parentheses or quotes, empty items in a list, and a dangling
// combinator. It is not a full CSS parser; the browser has the last word.
func checkSelector(sel string) error {
	var stack []byte
	var quote byte
	item := false // the current comma-separated item has content
	last := byte(0)
	for i := 0; i < len(sel); i++ {
		c := sel[i]
		if quote != 0 {
			switch c {
			case '\\':
				i++
			case quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '\\':
			i++
			item = true
			last = 'x'
			continue
		case '"', '\'':
			quote = c
		case '[', '(':
			stack = append(stack, c)
		case ']', ')':
			open := byte('[')
			if c == ')' {
				open = '('
			}
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return fmt.Errorf("unbalanced %q", c)
			}
			stack = stack[:len(stack)-1]
		case ',':
			if len(stack) == 0 {
				if !item || strings.ContainsRune(">+~", rune(last)) {
					return errors.New("empty item in the selector list")
				}
				item, last = false, 0
				continue
			}
		}
		if c != ' ' && c != '\t' && c != '\n' {
			if !strings.ContainsRune(">+~", rune(c)) || len(stack) > 0 {
				item = true
			}
			last = c
		}
	}
	switch {
	case quote != 0:
		return fmt.Errorf("unclosed %c", quote)
	case len(stack) > 0:
		return fmt.Errorf("unclosed %q", stack[len(stack)-1])
	case !item:
		return errors.New("empty item in the selector list")
	case strings.ContainsRune(">+~", rune(last)):
		return fmt.Errorf("ends with the combinator %q", last)
	}
	return nil
}
