package notify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"time"
)

// Reason says why a delivery attempt failed. The set is closed: it is a
// label of storeprobe_notifier_failures_total, so its values stay few.
type Reason string

// Reasons.
const (
	ReasonNetwork     Reason = "network"      // refused, reset, unreachable, DNS
	ReasonTimeout     Reason = "timeout"      // the notifier's timeout passed
	ReasonTLS         Reason = "tls"          // handshake or certificate; STARTTLS not offered
	ReasonRateLimited Reason = "rate_limited" // HTTP 429
	ReasonServerError Reason = "server_error" // HTTP 5xx or 408; SMTP 4xx: the receiver failed for now
	ReasonRejected    Reason = "rejected"     // HTTP 3xx/4xx; SMTP 5xx: the receiver refused this message
	ReasonOther       Reason = "other"
)

// Reasons lists every Reason, in the order metrics show them.
func Reasons() []Reason {
	return []Reason{ReasonNetwork, ReasonTimeout, ReasonTLS, ReasonRateLimited, ReasonServerError, ReasonRejected, ReasonOther}
}

// Error is a failed delivery. Notifiers return it (possibly wrapped) for
// every failure, so that a dispatcher can tell whether to try again.
// Messages name the receiver by scheme and host only, never carry a path,
// query, header value or token, and quote at most a short, redacted piece
// of the receiver's answer.
type Error struct {
	Reason Reason
	// Permanent: sending the same notification again cannot succeed (the
	// receiver refused it, or the configuration forbids sending), so it is
	// not retried.
	Permanent bool
	// RetryAfter is how long the receiver asked us to wait (HTTP
	// Retry-After on 429 or 503); 0 when it did not say.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether err is a delivery failure that retrying cannot
// fix: a 4xx answer other than 408 and 429, an SMTP 5xx reply, a server
// that does not offer the STARTTLS the configuration demands. Anything else
// (network errors, timeouts, 5xx, 429, errors of unknown kind) is
// transient.
func Permanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// RetryAfter is the wait the receiver asked for with err, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

// reasonOf is err's Reason; ReasonOther for errors that are not *Error.
func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) && e.Reason != "" {
		return e.Reason
	}
	return ReasonOther
}

func transient(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Err: fmt.Errorf(format, args...)}
}

func permanent(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Permanent: true, Err: fmt.Errorf(format, args...)}
}

// connError classifies an error of dialing, TLS or talking to a receiver at
// where (scheme://host). The caller must have taken err out of any
// *url.Error first: that one quotes the whole URL.
func connError(where string, err error) *Error {
	r := ReasonNetwork
	var ne net.Error
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var rh tls.RecordHeaderError
	var ae tls.AlertError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		r = ReasonTimeout
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci),
		errors.As(err, &rh), errors.As(err, &ae):
		// Transient: a receiver's certificate gets fixed without our
		// configuration changing.
		r = ReasonTLS
	}
	return &Error{Reason: r, Err: fmt.Errorf("%s: %w", where, err)}
}

// smtpError classifies an error of an SMTP exchange: a reply code of 4xx is
// transient and 5xx permanent (RFC 5321 §4.2.1); anything else is the
// connection's.
func smtpError(where, step string, err error) *Error {
	var te *textproto.Error
	if errors.As(err, &te) {
		msg := fmt.Sprintf("%s: %s: %d %s", where, step, te.Code, clip(oneLine(te.Msg), 200))
		if te.Code >= 500 {
			return &Error{Reason: ReasonRejected, Permanent: true, Err: errors.New(msg)}
		}
		return &Error{Reason: ReasonServerError, Err: errors.New(msg)}
	}
	return connError(where+": "+step, err)
}
