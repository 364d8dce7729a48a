package probe

import (
	"crypto/tls"
	"testing"
	"time"
)

func TestAttemptTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    Check
		want time.Duration
	}{
		{"plain http", Check{Type: TypeHTTP, Timeout: 10 * time.Second}, 10 * time.Second},
		{"warm-up", Check{Type: TypeHTTP, Timeout: 5 * time.Second, HTTP: HTTPSpec{Warmup: 2}}, 15 * time.Second},
		{"origin", Check{Type: TypeHTTP, Timeout: 5 * time.Second, HTTP: HTTPSpec{OriginURL: "https://o/"}}, 10 * time.Second},
		{"both", Check{Type: TypeHTTP, Timeout: time.Second, HTTP: HTTPSpec{Warmup: 3, OriginURL: "https://o/"}}, 5 * time.Second},
		{"a browser check ignores http keys", Check{Type: TypeBrowser, Timeout: 30 * time.Second, HTTP: HTTPSpec{Warmup: 3}}, 30 * time.Second},
	} {
		if got := tc.c.AttemptTimeout(); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestParsers(t *testing.T) {
	if v, err := ParseTLSVersion("1.3"); err != nil || v != tls.VersionTLS13 {
		t.Errorf("1.3: %v %v", v, err)
	}
	for _, bad := range []string{"1.4", "TLS1.2", "", "1"} {
		if _, err := ParseTLSVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if c, err := ParseCacheStatus(" HIT "); err != nil || c != CacheHit {
		t.Errorf("HIT: %v %v", c, err)
	}
	if _, err := ParseCacheStatus("warm"); err == nil {
		t.Error("warm accepted")
	}
	if s, err := ParseSeverity("Medium"); err != nil || s != SeverityMedium || s.Rank() != 3 {
		t.Errorf("Medium: %v %v", s, err)
	}
	if _, err := ParseSeverity("critical"); err == nil || Severity("critical").Rank() != 0 {
		t.Error("critical accepted")
	}
}

func TestPOPCode(t *testing.T) {
	for in, want := range map[string]string{"FRA": "FRA", " fra56 ": "FRA56", "FRA56-P1": UnknownPOP, "": UnknownPOP,
		"unknown": UnknownPOP, "ABCDEFGH": "ABCDEFGH", "ABCDEFGHI": UnknownPOP, "FRÄ": UnknownPOP} {
		if got := POPCode(in); got != want {
			t.Errorf("POPCode(%q) = %q, want %q", in, got, want)
		}
	}
}
