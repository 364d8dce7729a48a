package notify

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// slack posts to a Slack incoming webhook (Slack API docs, "Sending
// messages using incoming webhooks": a JSON body with `text`, the
// notification fallback, and `blocks`, the Block Kit layout).
type slack struct {
	base
	p *poster
}

func newSlack(b base, n probe.Notifier, v *validator) Notifier {
	s := &slack{base: b}
	v.noHeaders(n)
	if u := v.httpURL("url", n.URL); u != nil {
		s.p = newPoster(&s.base, u, nil)
	}
	return s
}

// Block Kit limits (Slack API docs, "Blocks" reference, section block: text
// at most 3000 characters; at most 10 fields of at most 2000 each).
const (
	slackSectionMax = 3000
	slackFieldMax   = 2000
	slackFields     = 10
)

type slackText struct {
	Type string `json:"type"` // mrkdwn
	Text string `json:"text"`
}

type slackBlock struct {
	Type   string      `json:"type"` // section
	Text   *slackText  `json:"text,omitempty"`
	Fields []slackText `json:"fields,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

func (s *slack) Notify(ctx context.Context, n alert.Notification) error {
	if s.skips(n) {
		return nil
	}
	body, err := json.Marshal(slackPayload(s.scrub(n)))
	if err != nil {
		return permanent(ReasonOther, "encode slack message: %v", err)
	}
	return s.p.post(ctx, "application/json", body, nil)
}

// slackPayload lays n out as a title with the failure under it, then the
// details as fields; text, the notification's fallback, is the title.
// Everything from the notification is escaped: Slack
// parses &, < and > as control characters (Slack API docs, "Formatting
// text for app surfaces", Escaping text).
func slackPayload(n alert.Notification) slackMessage {
	t := title(n)
	main := "*" + slackEscape(t) + "*"
	if f := failure(n); f != "" {
		main += "\n" + slackEscape(f)
	}
	msg := slackMessage{Text: slackEscape(t), Blocks: []slackBlock{{
		Type: "section", Text: &slackText{"mrkdwn", slackClip(main, slackSectionMax)},
	}}}
	var fs []slackText
	for _, f := range fields(n) {
		if f.Label == "Failure" || len(fs) == slackFields {
			continue
		}
		value := slackEscape(f.Value)
		if (f.Label == "Runbook" || f.Label == "URL") && linkable(f.Value) {
			value = "<" + value + "|" + slackEscape(f.Value) + ">"
		}
		fs = append(fs, slackText{"mrkdwn", slackClip("*"+f.Label+"*\n"+value, slackFieldMax)})
	}
	if len(fs) > 0 {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "section", Fields: fs})
	}
	return msg
}

// slackEscape replaces Slack's three control characters with their HTML
// entities, as Slack's formatting docs ask; nothing else is encoded.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackClip bounds already escaped text to n characters without cutting an
// entity in half.
func slackClip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	s = clip(s, n)
	if i := strings.LastIndexByte(s, '&'); i >= 0 && !strings.Contains(s[i:], ";") {
		s = s[:i] + "…"
	}
	return s
}

// linkable reports whether s can be made a link (Slack, PagerDuty, email):
// an absolute http(s) URL without the characters that end a Slack link.
func linkable(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && !strings.ContainsAny(s, "|<> ")
}
