package probe

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/textproto"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"
)

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }

// StatusRanges is a set of accepted status codes; empty means 200-399.
type StatusRanges []StatusRange

// DefaultStatus is what checks accept when nothing is configured.
var DefaultStatus = StatusRanges{{200, 399}}

// Contains reports whether code is accepted.
func (rs StatusRanges) Contains(code int) bool {
	if len(rs) == 0 {
		rs = DefaultStatus
	}
	for _, r := range rs {
		if code >= r.Lo && code <= r.Hi {
			return true
		}
	}
	return false
}

func (rs StatusRanges) String() string {
	if len(rs) == 0 {
		rs = DefaultStatus
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		if r.Lo == r.Hi {
			parts[i] = strconv.Itoa(r.Lo)
		} else {
			parts[i] = fmt.Sprintf("%d-%d", r.Lo, r.Hi)
		}
	}
	return strings.Join(parts, ",")
}

// ParseStatusRanges parses "200-399", "200,301", "2xx" or mixes of them.
func ParseStatusRanges(s string) (StatusRanges, error) {
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("empty status list")
	}
	var out StatusRanges
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var r StatusRange
		switch {
		case len(part) == 3 && strings.HasSuffix(strings.ToLower(part), "xx") && part[0] >= '1' && part[0] <= '5':
			r = StatusRange{int(part[0]-'0') * 100, int(part[0]-'0')*100 + 99}
		case strings.Contains(part, "-"):
			lo, hi, _ := strings.Cut(part, "-")
			a, err1 := parseStatus(lo)
			b, err2 := parseStatus(hi)
			// The first bad end only: a problem is one line (errors.Join
			// would put each on its own).
			if err := cmp.Or(err1, err2); err != nil {
				return nil, fmt.Errorf("status range %q: %w", part, err)
			}
			if a > b {
				return nil, fmt.Errorf("status range %q: low end above high end", part)
			}
			r = StatusRange{a, b}
		default:
			c, err := parseStatus(part)
			if err != nil {
				return nil, err
			}
			r = StatusRange{c, c}
		}
		out = append(out, r)
	}
	return out, nil
}

func parseStatus(s string) (int, error) {
	s = strings.TrimSpace(s)
	c, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 || c < 100 || c > 599 {
		return 0, fmt.Errorf("%q is not an HTTP status code (100-599)", s)
	}
	return c, nil
}

// ParseHeader parses "Name: value". The name must be a valid header token.
func ParseHeader(s string) (Header, error) {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return Header{}, fmt.Errorf("header %q: want \"Name: value\"", RedactHeaderLine(s))
	}
	name = strings.TrimSpace(name)
	if !validHeaderName(name) {
		return Header{}, fmt.Errorf("header name %q is not a valid token", name)
	}
	value = strings.TrimSpace(value)
	if !validHeaderValue(value) {
		return Header{}, fmt.Errorf("header %s: value contains a control character", name)
	}
	return Header{Name: textproto.CanonicalMIMEHeaderKey(name), Value: value}, nil
}

// ParseHeaderExpectation parses "Name: REGEX". Errors never echo the
// argument's value: a mistyped "Authorization Bearer …" is a credential.
func ParseHeaderExpectation(s string) (HeaderExpectation, error) {
	name, pattern, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || !validHeaderName(name) {
		return HeaderExpectation{}, fmt.Errorf("header expectation %q: want \"Name: REGEX\"", RedactHeaderLine(s))
	}
	re, err := regexp.Compile(strings.TrimSpace(pattern))
	if err != nil {
		// syntax errors quote the expression; keep only what is wrong when
		// the header carries a secret.
		var se *syntax.Error
		if errors.As(err, &se) && (&Redactor{}).SecretHeader(name) {
			err = fmt.Errorf("invalid regular expression: %s", se.Code)
		}
		return HeaderExpectation{}, fmt.Errorf("header expectation %s: %w", name, err)
	}
	return HeaderExpectation{Name: textproto.CanonicalMIMEHeaderKey(name), Pattern: re}, nil
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) {
			return false
		}
	}
	return true
}

// ParseDuration is time.ParseDuration plus whole days ("90d", "1d12h"),
// which retention and report windows need. Negative durations are refused.
func ParseDuration(s string) (time.Duration, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return 0, errors.New("empty duration")
	}
	var days int64
	rest := in
	if i := strings.IndexByte(rest, 'd'); i >= 0 {
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || n < 0 || strings.ContainsAny(rest[:i], "+-") {
			return 0, fmt.Errorf("duration %q: bad day count", s)
		}
		if n > int64(math.MaxInt64/int64(24*time.Hour)) {
			return 0, fmt.Errorf("duration %q: too long", s)
		}
		days, rest = n, rest[i+1:]
	}
	var d time.Duration
	if rest != "" {
		var err error
		if d, err = time.ParseDuration(rest); err != nil {
			return 0, fmt.Errorf("duration %q: want e.g. 500ms, 30s, 5m, 2h or 90d", s)
		}
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	total := time.Duration(days) * 24 * time.Hour
	if total > math.MaxInt64-d {
		return 0, fmt.Errorf("duration %q: too long", s)
	}
	return total + d, nil
}

// byteUnits are the size suffixes ParseByteSize accepts, case-insensitive.
var byteUnits = map[string]int64{
	"": 1, "b": 1,
	"kb": 1000, "mb": 1000 * 1000, "gb": 1000 * 1000 * 1000,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}

// ParseByteSize parses a positive size such as "1048576", "512KiB" or
// "10MB" (SI and IEC suffixes), used for body caps.
func ParseByteSize(s string) (int64, error) {
	in := strings.TrimSpace(s)
	i := 0
	for i < len(in) && in[i] >= '0' && in[i] <= '9' {
		i++
	}
	unit, ok := byteUnits[strings.ToLower(strings.TrimSpace(in[i:]))]
	if i == 0 || !ok {
		return 0, fmt.Errorf("size %q: want bytes or a number with B, KB, MB, GB, KiB, MiB or GiB", s)
	}
	n, err := strconv.ParseInt(in[:i], 10, 64)
	if err != nil || n > math.MaxInt64/unit {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	if n == 0 {
		return 0, fmt.Errorf("size %q: must be positive", s)
	}
	return n * unit, nil
}

// validHeaderValue is net/http's rule (httpguts.ValidHeaderFieldValue): no
// CTL but HTAB. A value net/http would refuse must fail here, at parse
// time, not as a failed run blamed on the target. probe stays stdlib-only,
// so the rule is restated; a test holds it to httpguts byte for byte.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
