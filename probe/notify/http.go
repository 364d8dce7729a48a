package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/storeprobe/storeprobe/probe"
)

// poster sends one HTTP POST per attempt to one receiver.
type poster struct {
	b        *base
	endpoint string // the full URL, credentials included
	where    string // scheme://host, for messages
	header   http.Header
	client   *http.Client
}

func newPoster(b *base, u *url.URL, header http.Header) *poster {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	return &poster{b: b, endpoint: u.String(), where: origin(u), header: header,
		client: &http.Client{
			Transport: tr,
			// A redirect is not followed: our headers (tokens among them) and
			// body would go to a host the configuration never named. The 3xx
			// is reported, permanent, so the URL gets fixed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
}

// userAgent is "storeprobe/VERSION", or "storeprobe" without a version.
func (b *base) userAgent() string {
	if b.opts.version == "" {
		return "storeprobe"
	}
	return "storeprobe/" + b.opts.version
}

// post sends body and classifies the answer: 2xx is success; 408, 429 and
// 5xx are transient (with the Retry-After the server asked for); any other
// status is permanent. prepare, if set, adds to the request (auth,
// signatures) after the configured headers.
func (p *poster) post(ctx context.Context, contentType string, body []byte, prepare func(*http.Request)) error {
	ctx, cancel := context.WithTimeout(ctx, p.b.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil {
		return permanent(ReasonOther, "POST %s: %v", p.where, unwrapURLError(err))
	}
	for k, vs := range p.header {
		req.Header[k] = append([]string(nil), vs...)
	}
	req.Header.Set("Content-Type", contentType)
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", p.b.userAgent())
	}
	if prepare != nil {
		prepare(req)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return connError("POST "+p.where, unwrapURLError(err))
	}
	defer resp.Body.Close()
	// A little of the answer explains a refusal; the rest is read so the
	// connection can be reused.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return statusError(p.where, resp, snippet, p.b.red)
}

// statusError is nil for a 2xx answer, else the *Error it means.
func statusError(where string, resp *http.Response, snippet []byte, red *probe.Redactor) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	msg := fmt.Sprintf("POST %s: %s", where, resp.Status)
	if s := strings.TrimSpace(oneLine(red.String(string(snippet)))); s != "" {
		msg += ": " + clip(s, 200)
	}
	e := &Error{Err: errors.New(msg)}
	switch {
	case code == http.StatusTooManyRequests:
		e.Reason, e.RetryAfter = ReasonRateLimited, retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code == http.StatusRequestTimeout || code >= 500:
		e.Reason, e.RetryAfter = ReasonServerError, retryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code >= 300 && code < 400:
		e.Reason, e.Permanent = ReasonRejected, true
		e.Err = fmt.Errorf("%s (redirects are not followed: configure the URL it points to)", msg)
	default:
		e.Reason, e.Permanent = ReasonRejected, true
	}
	return e
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP-date
// (RFC 9110 §10.2.3). 0 when absent, unparseable or past.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(min(s, 1<<20)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// unwrapURLError drops the *url.Error around err: its message quotes the
// whole URL, credentials and Slack token included.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// reserved reports whether storeprobe sets the header itself: the
// configuration may not replace it.
func reserved(name string) bool {
	switch name {
	case "Content-Type", "Content-Length", "Host", "Transfer-Encoding", "Connection", signatureHeader:
		return true
	}
	return false
}

// headers validates the configured extra headers of an HTTP notifier. Their
// values are secret and never quoted.
func (v *validator) headers(hs []probe.Header) http.Header {
	h := http.Header{}
	for _, x := range hs {
		name := http.CanonicalHeaderKey(strings.TrimSpace(x.Name))
		switch {
		case !httpguts.ValidHeaderFieldName(name):
			v.bad("headers", "%q is not a valid header name", clip(x.Name, 40))
		case reserved(name):
			v.bad("headers", "%s is set by storeprobe", name)
		case !httpguts.ValidHeaderFieldValue(x.Value):
			v.bad("headers", "the value of %s has characters a header cannot carry", name)
		default:
			h.Add(name, x.Value)
		}
	}
	return h
}

// noHeaders refuses headers where a notifier type would ignore them.
func (v *validator) noHeaders(n probe.Notifier) {
	if len(n.Headers) > 0 {
		v.bad("headers", "%s notifiers send no extra headers", n.Type)
	}
}
