package config

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

const alertingExample = `notifiers:
  - name: ops
    type: webhook
    url: https://hooks.example.com/storeprobe
    secret_env: HOOK_SECRET
    headers: {X-Team: web}
  - name: chat
    type: slack
    url: https://hooks.slack.test/services/T0/B0/XYZ
    send_resolved: false
  - name: pager
    type: pagerduty
    routing_key_env: PD_KEY
  - name: mail
    type: email
    smtp: smtp.example.com:587
    username: probe
    password_env: SMTP_PASSWORD
    from: storeprobe@example.com
    to: [oncall@example.com, shop@example.com]
  - name: sms
    type: sms
    url: https://api.twilio.test
    account_sid: AC123
    auth_token_env: TWILIO_TOKEN
    from: "+15005550006"
    to: ["+15005550001"]
  - name: am
    type: alertmanager
    url: http://alertmanager:9093
    timeout: 5s
alerting:
  notify: [ops, chat]
  down_after: 3
  up_after: 2
  renotify: 2h
  cert_warning_days: 21
  quorum: 2
  silent_after: 15m
  burn_rate: {min_runs: 30, min_failures: 4}
  breach: {window: 30m, min_samples: 12}
  flapping: {changes: 6, window: 2h}
  maintenance:
    - name: nightly-deploy
      schedule: "0 3 * * *"
      duration: 30m
      timezone: Europe/Berlin
      tags: {team: web}
    - name: migration
      start: "2026-12-24 22:00"
      end: "2026-12-25 02:00"
      timezone: Europe/Berlin
      checks: [checkout]
checks:
  - name: cdn-edge
    url: https://cdn.example.com/health
    schedule: "@every 1m"
  - name: checkout
    url: https://shop.example.com/checkout
    schedule: "@every 1m"
    depends_on: [cdn-edge]
    runbook_url: https://wiki.example.com/checkout-down
    notify: [pager, mail, sms, am]
    slo: {preset: payment}
`

var alertingEnv = map[string]string{"HOOK_SECRET": "hook-s3cret", "PD_KEY": "pd-k3y", "SMTP_PASSWORD": "smtp-pw", "TWILIO_TOKEN": "tw-t0ken"}

func TestAlertingConfig(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(alertingExample), testEnv(alertingEnv), withHostname(fixedHost))
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	a := cfg.Alerting
	want := probe.Alerting{
		Notify: []string{"ops", "chat"}, DownAfter: 3, UpAfter: 2, Renotify: 2 * time.Hour, CertWarningDays: 21,
		BurnRate: probe.BurnRatePolicy{MinRuns: 30, MinFailures: 4}, Breach: probe.BreachPolicy{Window: 30 * time.Minute, MinSamples: 12},
		Flapping: probe.FlappingPolicy{Changes: 6, Window: 2 * time.Hour}, Quorum: 2, SilentAfter: 15 * time.Minute,
		Maintenance: []probe.Maintenance{
			{Name: "nightly-deploy", Schedule: "0 3 * * *", Duration: 30 * time.Minute, Location: berlin, Tags: map[string]string{"team": "web"}},
			{Name: "migration", Start: time.Date(2026, 12, 24, 22, 0, 0, 0, berlin), End: time.Date(2026, 12, 25, 2, 0, 0, 0, berlin),
				Location: berlin, Checks: []string{"checkout"}},
		},
	}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("alerting:\n got %+v\nwant %+v", a, want)
	}
	names := []string{}
	for _, n := range cfg.Notifiers {
		names = append(names, n.Type+":"+n.Name)
	}
	if !slices.Equal(names, []string{"webhook:ops", "slack:chat", "pagerduty:pager", "email:mail", "sms:sms", "alertmanager:am"}) {
		t.Fatalf("notifiers %v", names)
	}
	ops, chat, pager, mail, sms, am := cfg.Notifiers[0], cfg.Notifiers[1], cfg.Notifiers[2], cfg.Notifiers[3], cfg.Notifiers[4], cfg.Notifiers[5]
	if ops.Secret != "hook-s3cret" || ops.SecretEnv != "HOOK_SECRET" || len(ops.Headers) != 1 || !ops.SendResolved {
		t.Errorf("webhook %#v %+v", ops, ops.Headers)
	}
	if chat.SendResolved || pager.Secret != "pd-k3y" || mail.Secret != "smtp-pw" || mail.SMTP != "smtp.example.com:587" ||
		len(mail.To) != 2 || sms.AccountSID != "AC123" || sms.Secret != "tw-t0ken" || am.Timeout != 5*time.Second {
		t.Errorf("notifiers: chat %v pager %v mail %+v sms %v am %v", chat.SendResolved, pager.SecretEnv, mail.To, sms.AccountSID, am.Timeout)
	}
	if s := ops.String() + ops.GoString(); strings.Contains(s, "hook-s3cret") {
		t.Errorf("a notifier prints its secret: %s", s)
	}
	co := cfg.Checks[1]
	if !slices.Equal(co.DependsOn, []string{"cdn-edge"}) || co.RunbookURL != "https://wiki.example.com/checkout-down" ||
		!slices.Equal(co.Notify, []string{"pager", "mail", "sms", "am"}) || co.SLO.Preset != "payment" {
		t.Errorf("checkout %+v", co)
	}
	if cfg.Checks[0].Notify != nil {
		t.Errorf("a check without notify keeps nil (alerting.notify), got %v", cfg.Checks[0].Notify)
	}
}

func TestAlertingDefaults(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte("checks:\n  - {name: a, url: \"https://x.test/\", schedule: \"@every 1m\"}\n"), withHostname(fixedHost))
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Alerting
	if a.DownAfter != 2 || a.UpAfter != 2 || a.Renotify != 4*time.Hour || a.CertWarningDays != 14 || a.Quorum != 1 ||
		a.BurnRate.MinRuns == 0 || a.Breach.Window != time.Hour || a.Flapping.Changes == 0 || a.SilentAfter != 10*time.Minute {
		t.Errorf("defaults %+v", a)
	}
}

func TestAlertingProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string
	}{
		{"unknown names, cycles and self", `notifiers:
  - {name: ops, type: webhook, url: "https://h.test/"}
alerting:
  notify: [ops, pager]
checks:
  - {name: a, url: "https://x.test/", schedule: "@every 1m", depends_on: [b]}
  - {name: b, url: "https://x.test/", schedule: "@every 1m", depends_on: [c]}
  - {name: c, url: "https://x.test/", schedule: "@every 1m", depends_on: [a], notify: [mail]}
  - {name: d, url: "https://x.test/", schedule: "@every 1m", depends_on: [nope]}
`, []string{
			`c.yaml:4: alerting.notify: unknown notifier "pager" (define it under notifiers)`,
			`c.yaml:6: check "a": depends_on makes a cycle: a → b → c → a`,
			`c.yaml:8: check "c": notify: unknown notifier "mail" (define it under notifiers)`,
			`c.yaml:9: check "d": depends_on: unknown check "nope"`,
		}},
		{"notifier keys", `notifiers:
  - {name: a, type: webhook}
  - {name: b, type: pagerduty, routing_key_env: UNSET}
  - {name: c, type: email, smtp: "smtp.test", from: x@y.test, to: []}
  - {name: d, type: slack, url: "https://h.test/", smtp: "x:1"}
  - {name: e, type: webhook, url: "https://h.test/", secret: hunter2}
  - {name: f, type: carrier-pigeon}
  - {name: a, type: slack, url: "https://h.test/"}
  - {type: slack, url: "https://h.test/"}
checks:
  - {name: x, url: "https://x.test/", schedule: "@every 1m"}
`, []string{
			`c.yaml:2: notifier "a": url is required for webhook notifiers`,
			`c.yaml:3: notifier "b": routing_key_env: environment variable UNSET is not set`,
			`c.yaml:4: notifier "c": smtp: want the SMTP server as host:port (e.g. smtp.example.com:587), got "smtp.test"`,
			`c.yaml:4: notifier "c": to: the list is empty`,
			`c.yaml:5: notifier "d": smtp applies to email notifiers, not slack`,
			`c.yaml:6: notifier "e": secret: secrets do not belong in the config file: put it in an environment variable and name it with secret_env`,
			`c.yaml:7: notifier "f": unknown notifier type "carrier-pigeon" (want webhook, slack, pagerduty, email, sms, alertmanager)`,
			`c.yaml:8: notifier "a": duplicate name (first at line 2)`,
			`c.yaml:9: notifiers[7]: name is required`,
		}},
		{"maintenance windows", `alerting:
  maintenance:
    - {name: a, schedule: "0 3 * * *", timezone: Mars/Olympus, duration: 1h}
    - {name: b, schedule: "0 3 * * *"}
    - {name: c, start: "2026-12-24 22:00", end: "2026-12-24 21:00"}
    - {name: d, start: "tomorrow", end: "2026-12-24 21:00"}
    - {name: e, schedule: "TZ=UTC 0 3 * * *", duration: 1h}
    - {name: f, start: "2026-12-24 22:00", end: "2026-12-25 02:00", checks: [ghost]}
    - {name: g, start: "2026-12-24 22:00", end: "2026-12-25 02:00", schedule: "0 3 * * *", duration: 1h}
checks:
  - {name: x, url: "https://x.test/", schedule: "@every 1m"}
`, []string{
			`c.yaml:3: alerting.maintenance[0].timezone: unknown time zone "Mars/Olympus" (want an IANA name such as Europe/Berlin, or UTC)`,
			`c.yaml:4: alerting.maintenance[1]: a recurring window needs a duration`,
			`c.yaml:5: alerting.maintenance[2]: end is not after start`,
			`c.yaml:6: alerting.maintenance[3].start: "tomorrow" is not a time: want "2006-01-02 15:04" (in the window's timezone) or RFC 3339`,
			`c.yaml:7: alerting.maintenance[4].schedule: give the time zone with timezone:, not in the schedule`,
			`c.yaml:8: alerting.maintenance[5].checks: unknown check "ghost"`,
			`c.yaml:9: alerting.maintenance[6]: a window is one-off (start, end) or recurring (schedule, duration), not both`,
		}},
		{"alerting keys", `alerting:
  down_after: 0
  renotify: 10s
  flapping: {changes: 1, windw: 1h}
  bogus: 1
checks:
  - {name: x, url: "https://x.test/", schedule: "@every 1m", runbook_url: "wiki"}
`, []string{
			`c.yaml:2: alerting.down_after: want an integer from 1 to 100, got 0`,
			`c.yaml:3: alerting.renotify: at least 1m (or 0 for never), got 10s`,
			`c.yaml:4: alerting.flapping.changes: want an integer from 2 to 1000, got 1`,
			`c.yaml:4: alerting.flapping: unknown key "windw" (did you mean "window"?)`,
			`c.yaml:5: alerting: unknown key "bogus" (known: notify, down_after, up_after, renotify, cert_warning_days, burn_rate, breach, flapping, quorum, silent_after, maintenance)`,
			`c.yaml:7: check "x": runbook_url: "wiki": want an http:// or https:// URL`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.yaml), testEnv(map[string]string{}), withHostname(fixedHost))
			var errs probe.Problems
			if !errors.As(err, &errs) {
				t.Fatalf("Parse error %v, want probe.Problems", err)
			}
			got := strings.Split(err.Error(), "\n")
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestNotifierValidator: the notifiers' own constructor judges what the
// config accepted, its field errors placed at their key's line.
func TestNotifierValidator(t *testing.T) {
	doc := `notifiers:
  - name: mail
    type: email
    smtp: smtp.example.com:587
    from: not-an-address
    to: [x@y.test]
checks:
  - {name: x, url: "https://x.test/", schedule: "@every 1m"}
`
	_, err := Parse("c.yaml", []byte(doc), withHostname(fixedHost), WithNotifierValidator(func(n probe.Notifier) error {
		return &probe.FieldError{Field: "from", Err: errors.New("not an email address")}
	}))
	if err == nil || err.Error() != `c.yaml:5: notifier "mail": from: not an email address` {
		t.Errorf("error %v", err)
	}
}

func TestShardKey(t *testing.T) {
	doc := "shard: \"1/3\"\nchecks:\n  - {name: x, url: \"https://x.test/\", schedule: \"@every 1m\"}\n"
	cfg, err := Parse("c.yaml", []byte(doc), withHostname(fixedHost))
	if err != nil || cfg.Shard.String() != "1/3" {
		t.Fatalf("shard %v, %v", cfg.Shard, err)
	}
	_, err = Parse("c.yaml", []byte(strings.Replace(doc, "1/3", "3/3", 1)), withHostname(fixedHost))
	if err == nil || err.Error() != `c.yaml:1: shard: shard "3/3": i must be from 0 to 2 (0-based)` {
		t.Errorf("bad shard: %v", err)
	}
}
