package probe

import (
	"fmt"
	"sort"
)

// FailureKind classifies why a check failed. The set is closed: every failed
// Result carries exactly one of the kinds below, and users' dashboards and
// alert rules match on these strings, so they are never renamed.
type FailureKind string

// HTTP and network failure kinds.
const (
	FailureDNS          FailureKind = "dns"           // name did not resolve (NXDOMAIN, no address of the wanted family, resolver unreachable)
	FailureConnect      FailureKind = "connect"       // TCP connect refused or reset
	FailureTLS          FailureKind = "tls"           // handshake or certificate verification failed
	FailureTimeout      FailureKind = "timeout"       // deadline hit; Failure.Phase says where
	FailureStatus       FailureKind = "status"        // status code outside the expected set
	FailureAssertion    FailureKind = "assertion"     // body or header expectation not met
	FailureTooSlow      FailureKind = "too_slow"      // finished, but slower than the configured limit
	FailureRedirectLoop FailureKind = "redirect_loop" // redirect cycle or more hops than allowed
	FailureTooLarge     FailureKind = "too_large"     // body over the size cap; a page's JS heap over its cap
	FailureProtocol     FailureKind = "protocol"      // malformed response: bad chunking, header flood, HTTP/2 reset, bad redirect
	FailureProbeError   FailureKind = "probe_error"   // fault of the probe itself, not of the target
)

// Browser failure kinds.
const (
	FailureNavigation   FailureKind = "navigation"    // the page could not be navigated to (other than the network kinds above)
	FailureSelector     FailureKind = "selector"      // an element a step needs did not appear in time
	FailureScript       FailureKind = "script"        // uncaught page error, when the check asks to fail on them
	FailureBrowserCrash FailureKind = "browser_crash" // Chromium or its renderer died: a probe fault
)

var failureKinds = map[FailureKind]string{
	FailureDNS:          "the host name did not resolve",
	FailureConnect:      "the TCP connection was refused, reset or unreachable",
	FailureTLS:          "the TLS handshake or certificate verification failed",
	FailureTimeout:      "the check hit its deadline; phase says where",
	FailureStatus:       "the status code was not in the expected set",
	FailureAssertion:    "a body, header, text or URL expectation was not met, or a payment gateway's script failed to load",
	FailureTooSlow:      "the check succeeded but took longer than its limit",
	FailureRedirectLoop: "a redirect loop, or more redirects than allowed",
	FailureTooLarge:     "the response body, or a page's JavaScript heap, was larger than its cap",
	FailureProtocol:     "a malformed response: bad chunking, header flood, HTTP/2 reset, redirect to a non-HTTP scheme",
	FailureProbeError:   "a fault of the probe itself; not counted against the target's uptime",
	FailureNavigation:   "the browser could not navigate to the page",
	FailureSelector:     "an element a step needs did not appear in time",
	FailureScript:       "an uncaught error in the page's JavaScript",
	FailureBrowserCrash: "Chromium or the page's renderer crashed; a probe fault, not the shop's downtime",
}

// FailureKinds lists every kind, sorted, for documentation and validation.
func FailureKinds() []FailureKind {
	out := make([]FailureKind, 0, len(failureKinds))
	for k := range failureKinds {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Valid reports whether k is one of the closed set.
func (k FailureKind) Valid() bool { _, ok := failureKinds[k]; return ok }

// Describe is a one-line explanation of the kind.
func (k FailureKind) Describe() string { return failureKinds[k] }

// ProbeFault reports whether a failure of this kind is the probe's own fault.
// Such runs are excluded from the target's uptime and counted separately.
func (k FailureKind) ProbeFault() bool {
	return k == FailureProbeError || k == FailureBrowserCrash
}

// Phase names where in a check something happened.
type Phase string

// HTTP phases, in order. Browser checks use PhaseNavigation and step names.
const (
	PhaseDNS        Phase = "dns"
	PhaseConnect    Phase = "connect"
	PhaseTLS        Phase = "tls"
	PhaseWait       Phase = "wait"     // request written -> first response byte
	PhaseTransfer   Phase = "transfer" // first byte -> last byte
	PhaseNavigation Phase = "navigation"
)

// Failure says why a check failed. Message never contains secrets.
type Failure struct {
	Kind    FailureKind `json:"kind"`
	Phase   Phase       `json:"phase"`
	Message string      `json:"message"`
}

// Fail builds a Failure with a formatted message.
func Fail(kind FailureKind, phase Phase, format string, args ...any) *Failure {
	return &Failure{Kind: kind, Phase: phase, Message: fmt.Sprintf(format, args...)}
}

func (f *Failure) Error() string {
	if f == nil {
		return "<nil>"
	}
	if f.Phase != "" {
		return fmt.Sprintf("%s (%s): %s", f.Kind, f.Phase, f.Message)
	}
	return fmt.Sprintf("%s: %s", f.Kind, f.Message)
}
