package probe

import (
	"fmt"
	"slices"
	"strings"
)

// RetryOn is the set of failures a scheduled check retries (Check.Retries
// times at most). A retry helps where the failure may be transient: a
// dropped packet, a reset, an overloaded origin's 5xx, a crashed browser.
// It does not help where the answer is deterministic (a failed assertion,
// a body over the cap, a 404): retrying those only makes the run slower
// and its timings noisier, and the final attempt fails the same way.
//
// Its values are failure kinds (FailureKinds), the status classes "4xx"
// and "5xx" (a status failure whose code is in that class; "status" is
// any status failure, a 200 where a 301 was expected included), and "any"
// (every failure, the policy before retry_on existed). nil means
// DefaultRetryOn.
type RetryOn []string

// Values of RetryOn besides the failure kinds.
const (
	RetryAny = "any"
	Retry4xx = "4xx"
	Retry5xx = "5xx"
)

// DefaultRetryOn is what a check without retry_on retries: the network
// and protocol failures that a second attempt may not meet, a 5xx, and
// the probe's own faults (a crashed browser deserves a second try). A
// fresh slice each call, so no caller can change the default of another.
func DefaultRetryOn() RetryOn {
	return RetryOn{string(FailureDNS), string(FailureConnect), string(FailureTLS), string(FailureTimeout),
		string(FailureProtocol), Retry5xx, string(FailureNavigation), string(FailureProbeError), string(FailureBrowserCrash)}
}

// RetryOnValues lists every value RetryOn takes, for messages and docs.
func RetryOnValues() []string {
	out := []string{RetryAny, Retry4xx, Retry5xx}
	for _, k := range FailureKinds() {
		out = append(out, string(k))
	}
	return out
}

// ValidRetryOn reports whether v is one of RetryOnValues.
func ValidRetryOn(v string) error {
	if v == RetryAny || v == Retry4xx || v == Retry5xx || FailureKind(v).Valid() {
		return nil
	}
	return fmt.Errorf("%q is not a failure kind, 4xx, 5xx or any (want one of %s)", v, strings.Join(RetryOnValues(), ", "))
}

// Retries reports whether a failed attempt with result res is retried.
// A passed attempt never is.
func (r RetryOn) Retries(res Result) bool {
	if res.OK || res.Failure == nil {
		return false
	}
	if r == nil {
		r = DefaultRetryOn()
	}
	kind := res.Failure.Kind
	code := 0
	if res.HTTPDetails != nil {
		code = res.StatusCode
	}
	return slices.ContainsFunc(r, func(v string) bool {
		switch v {
		case RetryAny:
			return true
		case Retry5xx:
			return kind == FailureStatus && code >= 500 && code <= 599
		case Retry4xx:
			return kind == FailureStatus && code >= 400 && code <= 499
		}
		return FailureKind(v) == kind
	})
}
