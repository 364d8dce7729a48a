package probe

import (
	"strings"
	"testing"
)

func TestRetryOnValues(t *testing.T) {
	for _, v := range RetryOnValues() {
		if err := ValidRetryOn(v); err != nil {
			t.Errorf("%s: %v", v, err)
		}
	}
	for _, v := range DefaultRetryOn() {
		if err := ValidRetryOn(v); err != nil {
			t.Errorf("default %s: %v", v, err)
		}
	}
	for _, v := range []string{"", "5XX", "Timeout", "500", "all"} {
		if err := ValidRetryOn(v); err == nil || !strings.Contains(err.Error(), "want one of any, 4xx, 5xx, assertion") {
			t.Errorf("%q: %v", v, err)
		}
	}
	// A status failure without a known code is matched by "status" only.
	browser503 := Result{Failure: Fail(FailureStatus, "", "the page answered HTTP 503")}
	if (RetryOn{"5xx"}).Retries(browser503) || !(RetryOn{"status"}).Retries(browser503) {
		t.Error("5xx must need a known code; status must not")
	}
	if (RetryOn{"any"}).Retries(Result{OK: true}) {
		t.Error("a passed attempt is never retried")
	}
}
