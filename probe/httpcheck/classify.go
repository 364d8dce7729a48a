package httpcheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/storeprobe/storeprobe/probe"
)

// classify turns a transport error into a Failure. The phase the hop was in
// decides most cases; error types refine them.
func (k *Checker) classify(ctx context.Context, h *hop, err error) *probe.Failure {
	phase := h.phase()
	msg := k.red.String(errText(err))
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return probe.Fail(probe.FailureTimeout, phase, "no progress in %s within the %s timeout", phaseWords[phase], k.timeout)
	case context.Canceled:
		// Shutdown or a caller's cancel: not the target's fault.
		return probe.Fail(probe.FailureProbeError, phase, "check cancelled during %s", phaseWords[phase])
	}
	var nerr net.Error
	if errors.As(err, &nerr) && nerr.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
		return probe.Fail(probe.FailureTimeout, phase, "%s timed out: %s", phaseWords[phase], msg)
	}

	var (
		dnsErr    *net.DNSError
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostErr   x509.HostnameError
		verifyErr *tls.CertificateVerificationError
		alertErr  tls.AlertError
		recordErr tls.RecordHeaderError
		opErr     *net.OpError
		errno     syscall.Errno
	)
	var connected, certAsked bool
	h.set(func() { connected, certAsked = !h.connDone.IsZero(), h.certAsked })
	// With TLS 1.3 a server rejecting our client certificate says so in an
	// alert after the handshake has completed on our side.
	remoteAlert := errors.As(err, &opErr) && opErr.Op == "remote error"
	switch {
	case phase == probe.PhaseDNS || errors.As(err, &dnsErr):
		return probe.Fail(probe.FailureDNS, probe.PhaseDNS, "%s", msg)
	case certAsked && (phase == probe.PhaseTLS || phase == probe.PhaseWait):
		// The server asked for a certificate we do not have and the hop
		// died before any answer: how it died (alert, reset, broken pipe,
		// HTTP/2 setup error) is timing, the cause is always this.
		return probe.Fail(probe.FailureTLS, probe.PhaseTLS, "server requires a client certificate and none is configured (client_cert)")
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostErr),
		errors.As(err, &verifyErr), errors.As(err, &alertErr), errors.As(err, &recordErr),
		remoteAlert, phase == probe.PhaseTLS:
		return probe.Fail(probe.FailureTLS, probe.PhaseTLS, "%s", msg)
	case phase == probe.PhaseConnect:
		if !connected && !errors.As(err, &opErr) && !errors.As(err, &errno) {
			// Nothing was dialled and no network error: net/http refused
			// the request itself. Ours, not the target's.
			return probe.Fail(probe.FailureProbeError, phase, "request not sent: %s", msg)
		}
		if k.proxy != nil {
			// Connected yet still connecting: the proxy refused the
			// CONNECT tunnel (its status is the message).
			return probe.Fail(probe.FailureConnect, phase, "via proxy: %s", msg)
		}
		return probe.Fail(probe.FailureConnect, phase, "%s", msg)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		// The target accepted the connection and then broke the exchange:
		// like an early EOF, a protocol failure where it happened.
		return probe.Fail(probe.FailureProtocol, phase, "connection reset by the server during %s: %s", phase, msg)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return probe.Fail(probe.FailureProtocol, phase, "connection closed early: %s", msg)
	}
	// Everything else after the connection is up is the server speaking
	// HTTP badly: malformed status lines or chunks, header floods, HTTP/2
	// stream resets and GOAWAYs.
	return probe.Fail(probe.FailureProtocol, phase, "%s", msg)
}

var phaseWords = map[probe.Phase]string{
	probe.PhaseDNS:      "DNS resolution",
	probe.PhaseConnect:  "connecting",
	probe.PhaseTLS:      "the TLS handshake",
	probe.PhaseWait:     "waiting for the first byte",
	probe.PhaseTransfer: "the body transfer",
}

// errText drops net/http's "Get URL:" style prefixes (they may carry
// credentials) and keeps the cause.
func errText(err error) string {
	s := unwrapURLError(err).Error()
	s = strings.TrimPrefix(s, "net/http: ")
	return s
}
