// Package notify delivers alert notifications (alert.Notification, from the
// state machine in probe/alert) to the receivers of the config's
// `notifiers:`. New builds one Notifier per probe.Notifier, validating it;
// a Dispatcher queues and retries deliveries so that alerting never waits
// on a receiver.
//
// # What each type sends
//
// Every notification is one message per notifier (an SMS: one per
// recipient). Human-facing types lead with a title,
// "[FIRING] checkout down (eu-west)": the status, the summary (else check
// and rule) and the location; then the failure ("kind: message"), and the
// check, rule, severity, location, probe, start and end, the check's URL,
// runbook_url and the screenshot's path, each when set. A resolved
// notification is sent only when send_resolved is on.
//
//   - webhook: POST url with the JSON of alert.Notification exactly (its
//     keys are a public contract), Content-Type application/json,
//     User-Agent storeprobe/VERSION, the configured headers, and when a
//     secret is set X-Storeprobe-Signature: sha256=HEX, HEX being the
//     lowercase hex HMAC-SHA256 of the exact body bytes keyed with the
//     secret (see Signature). Receivers verify it over the raw body with a
//     constant-time compare, and de-duplicate on the body's key: a retried
//     delivery is the same body again.
//   - slack: a Slack incoming webhook (Slack API docs, "Sending messages
//     using incoming webhooks"): {"text": title, "blocks": [a section with
//     the title in bold and the failure, a section of up to 10 fields]}.
//     Text from the notification has &, < and > escaped as Slack's
//     formatting docs ask, and is cut to Block Kit's limits (3000
//     characters a section, 2000 a field). The webhook URL is itself the
//     credential: it is shown as its host only.
//   - pagerduty: PagerDuty Events API v2 (developer docs, "Send an Alert
//     Event"), POST url (default DefaultPagerDutyURL) of {routing_key,
//     event_action, dedup_key, payload, client, links}. Firing (repeats
//     included) is "trigger" with payload {summary: the title (at most
//     1024 characters), source: the checked URL's host else the check,
//     severity: critical|warning|info (anything else: error), timestamp:
//     started_at, component: check, group: location, class: rule,
//     custom_details: the notification's fields}, and links to the runbook
//     and the checked URL; resolved is "resolve" with routing_key and
//     dedup_key only. dedup_key is the notification's key (hashed when
//     over 255 characters), the same for an alert's trigger and resolve.
//     The routing key is the secret; the API wants it in the body.
//   - email: one SMTP transaction (RFC 5321) to every address in to.
//     tls: starttls (default) connects in plain text and requires STARTTLS
//     (RFC 3207) before anything else is sent, tls is TLS from the first
//     byte, none is plain text throughout and refuses a username: no
//     credential ever crosses the network unencrypted. ca_file adds the
//     CAs trusted for the server. With a username, AUTH PLAIN (RFC 4954)
//     with the secret as password. The message has From, To, Subject (the
//     title, RFC 2047-encoded), Date, Message-ID (at from's domain),
//     Auto-Submitted: auto-generated (RFC 3834), and a
//     multipart/alternative body (RFC 2046) of a text/plain and a
//     text/html part, UTF-8, quoted-printable; html/template escapes every
//     value in the HTML part and links only http(s) URLs.
//   - sms: Twilio's Messages API shape (Twilio docs, Messages resource,
//     "Create a Message resource"): for each number in to, POST
//     {url}/2010-04-01/Accounts/{account_sid}/Messages.json (url default
//     DefaultTwilioURL) with the form To, From, Body and HTTP basic auth of
//     account_sid and the secret (the auth token). Body is the title and
//     the failure, then the runbook URL, at most SMSMax characters.
//   - alertmanager: Prometheus Alertmanager API v2 (Alertmanager docs,
//     "Clients"), POST {url}/api/v2/alerts with one alert: labels alertname
//     (the rule), check, location, severity and probe, so routing,
//     grouping, inhibition and silences stay in Alertmanager; annotations
//     summary, description (the failure), runbook_url, screenshot;
//     startsAt the alert's start; generatorURL the checked URL. Alertmanager
//     resolves an alert when its endsAt passes, so a firing alert carries
//     endsAt = now + WithAlertmanagerHold (default DefaultAlertmanagerHold,
//     to outlast the renotify interval, when the engine sends it again)
//     and a resolved one its end time. The configured headers (say,
//     Authorization for a proxy in front) are sent too.
//
// # Secrets
//
// A notifier's secret, its header values and its URL's credentials (for
// Slack, the URL's path) are known to a probe.Redactor: they are scrubbed
// from every text of a notification before it is rendered, and from the
// piece of a receiver's answer an error quotes. Errors and logs name a
// receiver by scheme and host only, never quote a header value, and
// validation messages never quote a secret or a URL. The check's own
// secrets (its headers, journey secrets) are redacted by the engine before
// a notification is made; the notifiers add none.
//
// # Failures and retries
//
// Notify makes one attempt, bounded by the notifier's timeout (default
// DefaultTimeout), and returns an *Error: Permanent when sending the same
// message again cannot succeed (HTTP 3xx, since redirects are not
// followed, and 4xx except 408 and 429; SMTP 5xx replies; a server
// without the STARTTLS the config requires; an email some of whose
// recipients were refused after others got it), transient otherwise
// (network errors, timeouts, TLS handshakes, HTTP 408, 429 and 5xx with
// the Retry-After they carry, SMTP 4xx), with a Reason that labels the
// failure metric.
//
// The Dispatcher gives each notifier a queue of at most QueueSize
// notifications (an SMS notifier: one per recipient, each retried on its
// own so nobody is texted twice) and one worker, so a dead receiver
// delays only its own notifications, and Send never blocks. The worker
// delivers in order, retrying a transient failure after
// MinBackoff·2^(n-1), capped at MaxBackoff and jittered into its upper
// half, never sooner than a Retry-After (itself capped); it drops a
// notification on a permanent failure, when it is older than MaxAge or
// would be by the next try, and the oldest waiting one when the queue is
// full. Every failed attempt is logged (a warning when it will be retried,
// an error when the notification is dropped), with the alert's rule,
// check, status and key, never its text. Nothing is persisted: after a restart the engine re-sends from its
// own state. As a prometheus.Collector it reports storeprobe_notifier_sent_total{notifier},
// storeprobe_notifier_failures_total{notifier,reason},
// storeprobe_notifier_dropped_total{notifier,reason} and
// storeprobe_notifier_queue_length{notifier} to /metrics.
package notify
