package probe

import (
	"fmt"
	"strings"
)

// Severity ranks a security finding (probe/security judges them).
type Severity string

// Severities, from least to most severe.
const (
	SeverityInfo   Severity = "info"
	SeverityLow    Severity = "low"
	SeverityMedium Severity = "medium"
	SeverityHigh   Severity = "high"
)

// DefaultSecurityFailOn is the level from which a finding fails the check
// when the check names none: findings are reported whatever their level,
// and by default only what exposes shoppers directly fails it.
const DefaultSecurityFailOn = SeverityHigh

// Severities lists every severity, least severe first.
func Severities() []Severity {
	return []Severity{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh}
}

// Rank orders severities: info 1 … high 4; 0 for an unknown one.
func (s Severity) Rank() int {
	for i, v := range Severities() {
		if s == v {
			return i + 1
		}
	}
	return 0
}

// ParseSeverity accepts a severity as written in a config or a flag.
func ParseSeverity(s string) (Severity, error) {
	v := Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() == 0 {
		return "", fmt.Errorf("%q is not a severity (want info, low, medium or high)", s)
	}
	return v, nil
}

// SecurityFinding is one thing a response does against OWASP's
// secure-headers guidance. ID is stable (users filter and silence on it);
// Reference is the OWASP page that explains it.
type SecurityFinding struct {
	ID        string   `json:"id"`
	Severity  Severity `json:"severity"`
	Message   string   `json:"message"`
	Reference string   `json:"reference"`
}

// SecurityReport is the security judgement of a response: every finding,
// and the level from which a finding failed the check.
type SecurityReport struct {
	FailOn   Severity          `json:"fail_on"`
	Findings []SecurityFinding `json:"findings"`
}
