package notify

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// title is the one line every human-facing notifier leads with:
// "[FIRING] checkout down (eu-west)".
func title(n alert.Notification) string {
	t := "[" + strings.ToUpper(string(n.Status)) + "] " + summary(n)
	if n.Location != "" {
		t += " (" + n.Location + ")"
	}
	return oneLine(t)
}

// summary is the notification's summary, or "check rule" without one.
func summary(n alert.Notification) string {
	if n.Summary != "" {
		return n.Summary
	}
	return strings.TrimSpace(n.Check + " " + n.Alert)
}

// failure is "kind: message", or whichever of them is set.
func failure(n alert.Notification) string {
	switch {
	case n.FailureKind != "" && n.Message != "":
		return n.FailureKind + ": " + n.Message
	case n.FailureKind != "":
		return n.FailureKind
	}
	return n.Message
}

// field is one labelled detail of a notification.
type field struct{ Label, Value string }

// fields are the details the human-facing notifiers (Slack, email) show
// under the title, empty ones left out.
func fields(n alert.Notification) []field {
	var out []field
	add := func(label, v string) {
		if v != "" {
			out = append(out, field{label, v})
		}
	}
	add("Check", n.Check)
	add("Alert", n.Alert)
	add("Severity", string(n.Severity))
	add("Location", n.Location)
	add("Probe", n.Probe)
	if !n.StartedAt.IsZero() {
		add("Started", n.StartedAt.UTC().Format(time.RFC3339))
	}
	if n.EndedAt != nil && !n.EndedAt.IsZero() {
		add("Ended", n.EndedAt.UTC().Format(time.RFC3339))
	}
	add("Failure", failure(n))
	add("URL", n.URL)
	add("Runbook", n.RunbookURL)
	add("Screenshot", n.Screenshot)
	return out
}

// oneLine replaces line breaks, tabs and other control characters with
// spaces: in a mail header or an SMS they would break the format or the
// layout.
func oneLine(s string) string {
	if strings.IndexFunc(s, unicode.IsControl) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// clip shortens s to at most n characters, the last of them "…" when
// something was cut (probe.Clip adds its "…" after n).
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	return probe.Clip(s, n-1)
}
