package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/storeprobe/storeprobe/probe/slo"
)

// The JUnit XML a CI system reads (Jenkins, GitLab, GitHub test reporters):
// the shape of the common junit-10.xsd schema. A <testsuites> root holds a
// <testsuite> per check; each judged target is a <testcase>, a breach its
// <failure>, a target without data <skipped/>. Only elements and attributes
// that schema declares are written, in an order it allows, so strict
// validators accept the file; TestJUnitSchema holds it to that.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitMessage `xml:"skipped"`
	Failure   *junitMessage `xml:"failure"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the verdicts as JUnit XML: a test suite per check, a
// test case per judged target (named like the text report's verdicts:
// "uptime", "load_time home p75", "cwv_good home lcp"), a breached target
// as a failure of type "breach" whose message reads "got 99.2 %, want ≥
// 99.9 %", a target without data as skipped. Warnings go to the suite's
// system-out; with o.FailOnProbeErrors a probe-error warning is also a
// failing "probe_errors" test case, as it fails the exit code. Times are 0:
// the report judges stored runs, it runs nothing.
func WriteJUnit(w io.Writer, rep Report, o TextOptions) error {
	root := junitSuites{Name: "storeprobe report", Time: "0"}
	for _, c := range rep.Checks {
		s := junitSuite{Name: c.Check, Time: "0", Timestamp: rep.Window.Until.UTC().Format("2006-01-02T15:04:05")}
		prop := func(name, value string) {
			if value != "" {
				s.Properties = append(s.Properties, junitProperty{name, value})
			}
		}
		prop("type", string(c.Type))
		prop("url", c.URL)
		prop("window", rep.Window.Duration)
		prop("since", rep.Window.Since.UTC().Format("2006-01-02T15:04:05Z"))
		prop("until", rep.Window.Until.UTC().Format("2006-01-02T15:04:05Z"))
		prop("preset", c.Targets.Preset)
		prop("from_preset", strings.Join(c.Targets.FromPreset, ","))
		prop("percentiles", rep.Percentiles.Method)
		for _, v := range c.Verdicts {
			tc := junitCase{Name: verdictName(v), Classname: c.Check, Time: "0"}
			switch v.Status {
			case slo.Fail:
				tc.Failure = &junitMessage{Message: gotWant(v), Type: "breach", Text: verdictDetail(c, v, rep.Window.Duration)}
				s.Failures++
			case slo.NoData:
				tc.Skipped = &junitMessage{Message: "no data: nothing was measured in the window"}
				s.Skipped++
			default:
				tc.SystemOut = verdictDetail(c, v, rep.Window.Duration)
			}
			s.Cases = append(s.Cases, tc)
		}
		var out []string
		for _, w := range c.Warnings {
			out = append(out, "warning ("+w.Kind+"): "+w.Message)
			if w.Kind == WarnProbeErrors && o.FailOnProbeErrors {
				s.Cases = append(s.Cases, junitCase{Name: WarnProbeErrors, Classname: c.Check, Time: "0",
					Failure: &junitMessage{Message: w.Message, Type: WarnProbeErrors}})
				s.Failures++
			}
		}
		s.SystemOut = strings.Join(out, "\n")
		s.Tests = len(s.Cases)
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Suites = append(root.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// verdictName names a verdict as the text report does.
func verdictName(v slo.Verdict) string {
	what := v.Target
	if v.Page != "" {
		what += " " + v.Page
	}
	if v.Vital != "" {
		what += " " + string(v.Vital)
	}
	if v.Unit == "ms" {
		what += " p75"
	}
	return what
}

// gotWant is a verdict's one-line outcome: "got 99.2 %, want ≥ 99.9 %".
func gotWant(v slo.Verdict) string {
	if v.Status == slo.NoData {
		return "no data"
	}
	if v.Unit == "ms" {
		return fmt.Sprintf("got %s, want ≤ %s", ms(v.Got), ms(&v.Want))
	}
	return fmt.Sprintf("got %s, want ≥ %s", pct(v.Got), pct(&v.Want))
}

// verdictDetail says what a verdict rests on.
func verdictDetail(c Check, v slo.Verdict, window string) string {
	unit := "samples"
	switch v.Target {
	case slo.TargetUptime, slo.TargetSuccess:
		unit = "eligible runs"
	case slo.TargetPaymentReady:
		unit = "ready payment fields"
	case slo.TargetLoadTime:
		unit = "load samples"
	}
	s := fmt.Sprintf("%s %s over the last %s, on %s %s", verdictName(v), gotWant(v), window, strconv.Itoa(v.Samples), unit)
	if v.SmallSample {
		s += fmt.Sprintf("; small sample: the target needs %d for a single failure not to decide it", v.MinSamples)
	}
	if v.Target == slo.TargetUptime && c.Budget != nil && c.Budget.Remaining != nil {
		s += "; error budget " + budgetLeft(c.Budget)
	}
	return s
}
