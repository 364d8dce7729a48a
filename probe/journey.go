package probe

import (
	"fmt"
	"time"
)

// Journey is a parsed, declarative browser journey (scenarios parses the
// YAML; probe/browser runs it). Params are already substituted in Steps
// when a journey is handed to a runner.
type Journey struct {
	Name        string
	Description string
	File        string // where it was read from, for messages
	Device      string
	Timeout     time.Duration // whole journey
	Params      map[string]string
	Steps       []Step

	// SecretParams names the params whose values are secrets: those a
	// `type` step with secret: true types, and those named like credentials
	// (password, token ...). Their values must never be logged or stored.
	SecretParams []string
}

// SecretValues returns the literal secrets of a journey whose params are
// applied: the values of SecretParams and the text of every secret step.
// A runner registers them with its Redactor before the first step.
func (j Journey) SecretValues() []string {
	var out []string
	for _, name := range j.SecretParams {
		if v := j.Params[name]; v != "" {
			out = append(out, v)
		}
	}
	for _, s := range j.Steps {
		if s.Secret && s.Text != "" {
			out = append(out, s.Text)
		}
	}
	return out
}

// Action is what a step does. Each step has exactly one.
type Action string

// Journey step actions; their names are the YAML keys.
const (
	ActionGoto       Action = "goto"
	ActionClick      Action = "click"
	ActionWaitFor    Action = "wait_for"
	ActionType       Action = "type"
	ActionSelect     Action = "select"
	ActionAssertText Action = "assert_text"
	ActionAssertURL  Action = "assert_url"
	ActionScreenshot Action = "screenshot"
	ActionSleep      Action = "sleep"
	// ActionWaitForPayment waits until a payment gateway's card field or
	// buttons are ready and interactive, and times it on the page.
	ActionWaitForPayment Action = "wait_for_payment"
)

// Step is one journey step. Only the fields of its Action are set.
type Step struct {
	Line     int    // line in the journey file, for messages
	Name     string // defaults to "<action> <target>"
	Action   Action
	Page     string        // names the page this step lands on
	Timeout  time.Duration // per step; 0 means the runner's default
	Optional bool          // skip without failing when the target is absent

	URL      string // goto; assert_url (a regular expression)
	Selector string // click, type, select, assert_text, wait_for selector
	Text     string // type, assert_text, wait_for text
	Secret   bool   // type: the text is a secret, never logged or stored
	Value    string // select
	URLMatch string // wait_for url (regular expression)
	Shot     string // screenshot name
	Sleep    time.Duration
	Payment  PaymentProvider // wait_for_payment
}

// Target is what a step acts on, for default names and messages: the URL,
// selector, pattern, screenshot name or sleep. It never includes typed
// text, which may be secret.
func (s Step) Target() string {
	switch s.Action {
	case ActionGoto, ActionAssertURL:
		return s.URL
	case ActionClick, ActionType, ActionSelect, ActionAssertText:
		return s.Selector
	case ActionWaitFor:
		switch {
		case s.Selector != "":
			return s.Selector
		case s.URLMatch != "":
			return "url " + s.URLMatch
		default:
			return fmt.Sprintf("text %q", s.Text)
		}
	case ActionScreenshot:
		return s.Shot
	case ActionSleep:
		return s.Sleep.String()
	case ActionWaitForPayment:
		return string(s.Payment)
	}
	return ""
}
