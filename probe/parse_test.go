package probe

import (
	"math"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

func TestParseStatusRanges(t *testing.T) {
	tests := []struct {
		in      string
		want    StatusRanges
		wantErr string
	}{
		{in: "200", want: StatusRanges{{200, 200}}},
		{in: "200-399", want: StatusRanges{{200, 399}}},
		{in: "200,301", want: StatusRanges{{200, 200}, {301, 301}}},
		{in: " 2xx , 304 ", want: StatusRanges{{200, 299}, {304, 304}}},
		{in: "5XX", want: StatusRanges{{500, 599}}},
		{in: "1xx,200-204,418", want: StatusRanges{{100, 199}, {200, 204}, {418, 418}}},
		{in: "100-599", want: StatusRanges{{100, 599}}},
		{in: "", wantErr: "empty"},
		{in: "  ", wantErr: "empty"},
		{in: "99", wantErr: "not an HTTP status code"},
		{in: "600", wantErr: "not an HTTP status code"},
		{in: "6xx", wantErr: "not an HTTP status code"},
		{in: "0200", wantErr: "not an HTTP status code"},
		{in: "+200", wantErr: "not an HTTP status code"},
		{in: "399-200", wantErr: "low end above high end"},
		{in: "200-", wantErr: "status range"},
		{in: "-300", wantErr: "status range"},
		{in: "200,,300", wantErr: "not an HTTP status code"},
		{in: "200--300", wantErr: "status range"},
		{in: "-0", wantErr: `status range "-0": "" is not an HTTP status code`}, // both ends bad: the first named
		{in: "abc", wantErr: "not an HTTP status code"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseStatusRanges(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStatusRanges(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Fatalf("ParseStatusRanges(%q): error %q is not one line", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseStatusRanges(%q): %v", tt.in, err)
			}
			if !equalRanges(got, tt.want) {
				t.Fatalf("ParseStatusRanges(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestStatusRangesContains(t *testing.T) {
	tests := []struct {
		rs   StatusRanges
		code int
		want bool
	}{
		{nil, 200, true},
		{nil, 399, true},
		{nil, 400, false},
		{nil, 199, false},
		{StatusRanges{{200, 200}, {301, 301}}, 301, true},
		{StatusRanges{{200, 200}, {301, 301}}, 302, false},
		{StatusRanges{{500, 599}}, 503, true},
	}
	for _, tt := range tests {
		if got := tt.rs.Contains(tt.code); got != tt.want {
			t.Errorf("%v.Contains(%d) = %v, want %v", tt.rs, tt.code, got, tt.want)
		}
	}
	if got := StatusRanges(nil).String(); got != "200-399" {
		t.Errorf("default String() = %q", got)
	}
	if got := (StatusRanges{{200, 200}, {301, 308}}).String(); got != "200,301-308" {
		t.Errorf("String() = %q", got)
	}
}

func FuzzParseStatusRanges(f *testing.F) {
	for _, s := range []string{"200", "200-399", "2xx,301", "", "399-200", "5XX, 100", "0", "200,,", "-", "1xx-2xx"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		rs, err := ParseStatusRanges(s)
		if err != nil {
			return
		}
		if len(rs) == 0 {
			t.Fatalf("%q: no ranges and no error", s)
		}
		for _, r := range rs {
			if r.Lo < 100 || r.Hi > 599 || r.Lo > r.Hi {
				t.Fatalf("%q: bad range %v", s, r)
			}
			if !rs.Contains(r.Lo) || !rs.Contains(r.Hi) {
				t.Fatalf("%q: %v does not contain its own bounds", s, rs)
			}
		}
		// String is the canonical form and must parse back to the same set.
		back, err := ParseStatusRanges(rs.String())
		if err != nil || !equalRanges(back, rs) {
			t.Fatalf("%q: round trip via %q = %v, %v", s, rs.String(), back, err)
		}
	})
}

func equalRanges(a, b StatusRanges) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseHeader(t *testing.T) {
	tests := []struct {
		in      string
		want    Header
		wantErr string
		secret  string // must not appear in the error
	}{
		{in: "Accept: text/html", want: Header{"Accept", "text/html"}},
		{in: "x-shop-id:  42 ", want: Header{"X-Shop-Id", "42"}},
		{in: "X-Empty:", want: Header{"X-Empty", ""}},
		{in: "Authorization: Bearer abc:def", want: Header{"Authorization", "Bearer abc:def"}},
		{in: "Authorization Bearer s3cr3t-t0ken", wantErr: "want \"Name: value\"", secret: "s3cr3t-t0ken"},
		{in: ": value", wantErr: "not a valid token"},
		{in: "Bad Name: v", wantErr: "not a valid token"},
		{in: "Name(x): v", wantErr: "not a valid token"},
		{in: "X-A: line\r\nInjected: 1", wantErr: "control character"},
		{in: "Cookie: a\x00b", wantErr: "control character", secret: "a\x00b"},
		// net/http refuses every CTL but HTAB; so must we, or the check
		// fails at run time and is blamed on the target.
		{in: "X-Token: ab\x01cd", wantErr: "control character", secret: "ab\x01cd"},
		{in: "X-Token: ab\x1bcd", wantErr: "control character"},
		{in: "X-Token: ab\x7fcd", wantErr: "control character"},
		{in: "X-Token: ab\x0bcd", wantErr: "control character"},
		{in: "X-Tab: a\tb", want: Header{"X-Tab", "a\tb"}},
		{in: "X-Latin: caf\xe9", want: Header{"X-Latin", "caf\xe9"}}, // obs-text is allowed
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHeader(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseHeader(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
					t.Fatalf("error %q leaks the secret", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseHeader(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"Accept: */*", "a:b", ":", "", "X: \r\n", "Authorization: Basic Zm9vOmJhcg==", "ä: x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHeader(s)
		if err != nil {
			return
		}
		if !validHeaderName(h.Name) {
			t.Fatalf("%q: invalid name %q accepted", s, h.Name)
		}
		if !httpguts.ValidHeaderFieldValue(h.Value) {
			t.Fatalf("%q: value %q is one net/http refuses", s, h.Value)
		}
		if h.Value != strings.TrimSpace(h.Value) {
			t.Fatalf("%q: value %q not trimmed", s, h.Value)
		}
		// A parsed header formats back to itself.
		again, err := ParseHeader(h.Name + ": " + h.Value)
		if err != nil || again != h {
			t.Fatalf("%q: round trip = %+v, %v", s, again, err)
		}
	})
}

// TestValidHeaderValueAgreesWithNetHTTP: probe stays stdlib-only, so it
// carries its own copy of the rule; it must accept exactly what net/http
// (httpguts) accepts, byte for byte.
func TestValidHeaderValueAgreesWithNetHTTP(t *testing.T) {
	for b := range 256 {
		v := "a" + string([]byte{byte(b)}) + "b"
		if got, want := validHeaderValue(v), httpguts.ValidHeaderFieldValue(v); got != want {
			t.Errorf("byte %#02x: validHeaderValue = %v, httpguts = %v", b, got, want)
		}
	}
}

func TestParseHeaderExpectation(t *testing.T) {
	tests := []struct {
		in, name, match, noMatch, wantErr string
		secret                            string // must not appear in the error
	}{
		{in: "Content-Type: ^text/html", name: "Content-Type", match: "text/html; charset=utf-8", noMatch: "application/json"},
		{in: "cache-control: max-age=\\d+", name: "Cache-Control", match: "public, max-age=60", noMatch: "no-store"},
		{in: "X-Cache: (HIT|MISS)", name: "X-Cache", match: "HIT", noMatch: "hit"},
		{in: "X-Any:", name: "X-Any", match: "", noMatch: ""},
		{in: "no colon", wantErr: "want \"Name: REGEX\""},
		{in: "Bad Name: x", wantErr: "want \"Name: REGEX\""},
		{in: "X-A: (unclosed", wantErr: "X-A"},
		{in: "Authorization Bearer SECRETTOKEN42", wantErr: "want \"Name: REGEX\"", secret: "SECRETTOKEN42"},
		{in: "Bad Name: SECRETTOKEN42", wantErr: "want \"Name: REGEX\"", secret: "SECRETTOKEN42"},
		{in: "Authorization: Bearer (SECRETTOKEN42", wantErr: "missing closing )", secret: "SECRETTOKEN42"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseHeaderExpectation(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tt.wantErr)
				}
				if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
					t.Fatalf("error %q echoes the value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tt.name || !got.Pattern.MatchString(tt.match) {
				t.Fatalf("got %s %v, want name %s matching %q", got.Name, got.Pattern, tt.name, tt.match)
			}
			if tt.noMatch != "" && got.Pattern.MatchString(tt.noMatch) {
				t.Fatalf("%v matches %q", got.Pattern, tt.noMatch)
			}
		})
	}
}

func FuzzParseHeaderExpectation(f *testing.F) {
	for _, s := range []string{"Content-Type: ^text/", "X: (", "X: [a-z]+", ":", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseHeaderExpectation(s)
		if err != nil {
			return
		}
		if !validHeaderName(e.Name) || e.Pattern == nil {
			t.Fatalf("%q: accepted %+v", s, e)
		}
	})
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "500ms", want: 500 * time.Millisecond},
		{in: "30s", want: 30 * time.Second},
		{in: " 5m ", want: 5 * time.Minute},
		{in: "2h30m", want: 150 * time.Minute},
		{in: "90d", want: 90 * 24 * time.Hour},
		{in: "1d12h", want: 36 * time.Hour},
		{in: "0d", want: 0},
		{in: "0", want: 0},
		{in: "", wantErr: true},
		{in: "d", wantErr: true},
		{in: "-1d", wantErr: true},
		{in: "+1d", wantErr: true},
		{in: "-5s", wantErr: true},
		{in: "1d-5m", wantErr: true},
		{in: "1.5d", wantErr: true},
		{in: "10", wantErr: true},
		{in: "1w", wantErr: true},
		{in: "106752d", wantErr: true}, // more than MaxInt64 nanoseconds
		{in: "106751d23h47m16s", want: 106751*24*time.Hour + 23*time.Hour + 47*time.Minute + 16*time.Second},
		{in: "106751d23h48m", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDuration(%q) = %v, want error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"1s", "90d", "1d1h", "-1s", "d", "9223372036854775807ns", "106751d", "1d-1s", "0.5h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 || d > math.MaxInt64 {
			t.Fatalf("%q = %v", s, d)
		}
		// Without days it agrees with the standard library.
		if !strings.Contains(s, "d") {
			std, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || std != d {
				t.Fatalf("%q = %v, time.ParseDuration says %v, %v", s, d, std, err)
			}
		}
	})
}

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "1024", want: 1024},
		{in: "10MiB", want: 10 << 20},
		{in: "10 MiB", want: 10 << 20},
		{in: "512KiB", want: 512 << 10},
		{in: "1kb", want: 1000},
		{in: "2MB", want: 2_000_000},
		{in: "1GiB", want: 1 << 30},
		{in: "1B", want: 1},
		{in: "0", wantErr: true},
		{in: "-1", wantErr: true},
		{in: "1.5MiB", wantErr: true},
		{in: "MiB", wantErr: true},
		{in: "10XB", wantErr: true},
		{in: "9999999999GiB", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseByteSize(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseByteSize(%q) = %d, want error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseByteSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"1", "10MiB", "1 kb", "0", "-5", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseByteSize(s)
		if err == nil && n <= 0 {
			t.Fatalf("%q = %d", s, n)
		}
	})
}
