package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// signatureHeader carries the webhook body's HMAC.
const signatureHeader = "X-Storeprobe-Signature"

// webhook POSTs the notification itself as JSON: alert.Notification is the
// public contract, so the body is exactly its encoding.
type webhook struct {
	base
	p      *poster
	secret []byte
}

func newWebhook(b base, n probe.Notifier, v *validator) Notifier {
	w := &webhook{base: b}
	u := v.httpURL("url", n.URL)
	h := v.headers(n.Headers)
	if u != nil {
		w.p = newPoster(&w.base, u, h)
	}
	if n.Secret != "" {
		w.secret = []byte(n.Secret)
	} else if n.SecretEnv != "" {
		v.secret(n, "HMAC key that signs the body")
	}
	return w
}

func (w *webhook) Notify(ctx context.Context, n alert.Notification) error {
	if w.skips(n) {
		return nil
	}
	body, err := json.Marshal(w.scrub(n))
	if err != nil {
		return permanent(ReasonOther, "encode notification: %v", err)
	}
	return w.p.post(ctx, "application/json", body, func(r *http.Request) {
		if w.secret != nil {
			r.Header.Set(signatureHeader, Signature(w.secret, body))
		}
	})
}

// Signature is the X-Storeprobe-Signature of a webhook body:
// "sha256=" followed by the lowercase hex HMAC-SHA256 of the exact body
// bytes, keyed with the notifier's secret. Receivers recompute it over the
// raw body and compare in constant time (hmac.Equal).
func Signature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}
