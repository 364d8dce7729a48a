package probe

import "time"

// Journey is a parsed, declarative browser journey (scenarios parses the
// YAML; probe/browser runs it). Params are already substituted in Steps
// when a journey is handed to a runner.
type Journey struct {
	Name    string
	File    string // where it was read from, for messages
	Device  string
	Timeout time.Duration // whole journey
	Params  map[string]string
	Steps   []Step
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
}
