package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// junitSchema is the junit-10.xsd schema CI systems read (Jenkins' xUnit
// plugin's, the usual target of JUnit XML validators), as rules: for each
// element, the attributes it may carry, those it must, and the child
// elements it may hold (nil: text only).
var junitSchema = map[string]struct {
	attrs, required []string
	children        []string
}{
	"testsuites": {attrs: []string{"name", "time", "tests", "failures", "disabled", "errors"}, children: []string{"testsuite"}},
	"testsuite": {attrs: []string{"name", "tests", "failures", "errors", "time", "disabled", "skipped", "skips", "timestamp",
		"hostname", "id", "package", "assertions", "file", "skip", "log", "url"}, required: []string{"tests"},
		children: []string{"testsuite", "properties", "testcase", "system-out", "system-err"}},
	"properties": {children: []string{"property"}},
	"property":   {attrs: []string{"name", "value"}, required: []string{"name", "value"}, children: []string{}},
	"testcase": {attrs: []string{"name", "assertions", "time", "timestamp", "classname", "status", "class", "file", "line",
		"log", "group", "url"}, required: []string{"name"}, children: []string{"skipped", "error", "failure", "system-out", "system-err"}},
	"failure":    {attrs: []string{"type", "message"}},
	"error":      {attrs: []string{"type", "message"}},
	"skipped":    {attrs: []string{"type", "message"}},
	"system-out": {},
	"system-err": {},
}

// validateJUnit checks doc against junitSchema: the root is <testsuites>,
// every element is one the schema declares, where it allows it, with only
// its attributes and all the required ones, and the counts on suites match
// their test cases.
func validateJUnit(doc []byte) error {
	d := xml.NewDecoder(bytes.NewReader(doc))
	d.Strict = true
	var stack []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			rule, ok := junitSchema[name]
			if !ok || tok.Name.Space != "" {
				return fmt.Errorf("element <%s> is not in the schema", name)
			}
			if len(stack) == 0 && name != "testsuites" {
				return fmt.Errorf("root <%s>, want <testsuites>", name)
			}
			if len(stack) > 0 {
				parent := junitSchema[stack[len(stack)-1]]
				if !contains(parent.children, name) {
					return fmt.Errorf("<%s> inside <%s>", name, stack[len(stack)-1])
				}
			}
			have := map[string]bool{}
			for _, a := range tok.Attr {
				if !contains(rule.attrs, a.Name.Local) || a.Name.Space != "" {
					return fmt.Errorf("<%s> has attribute %q, not in the schema", name, a.Name.Local)
				}
				have[a.Name.Local] = true
			}
			for _, r := range rule.required {
				if !have[r] {
					return fmt.Errorf("<%s> lacks required attribute %q", name, r)
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && junitSchema[stack[len(stack)-1]].children != nil && strings.TrimSpace(string(tok)) != "" {
				return fmt.Errorf("text inside <%s>", stack[len(stack)-1])
			}
		}
	}
	// Counts: decoded strictly into the schema's shape.
	var root struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Name     string `xml:"name,attr"`
			Tests    string `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Skipped  int    `xml:"skipped,attr"`
			Time     string `xml:"time,attr"`
			Cases    []struct {
				Name, Classname string
				Failure         *struct {
					Message string `xml:"message,attr"`
					Type    string `xml:"type,attr"`
				} `xml:"failure"`
				Skipped *struct{} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(doc, &root); err != nil {
		return err
	}
	tests, failures := 0, 0
	for _, s := range root.Suites {
		n, err := strconv.Atoi(s.Tests)
		if err != nil || n != len(s.Cases) {
			return fmt.Errorf("suite %s: tests=%q, %d test cases", s.Name, s.Tests, len(s.Cases))
		}
		if _, err := strconv.ParseFloat(s.Time, 64); err != nil {
			return fmt.Errorf("suite %s: time %q", s.Name, s.Time)
		}
		f, sk := 0, 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				f++
				if c.Failure.Message == "" || c.Failure.Type == "" {
					return fmt.Errorf("suite %s: a failure without message or type", s.Name)
				}
			}
			if c.Skipped != nil {
				sk++
			}
		}
		if f != s.Failures || sk != s.Skipped {
			return fmt.Errorf("suite %s: failures=%d skipped=%d, cases say %d and %d", s.Name, s.Failures, s.Skipped, f, sk)
		}
		tests += n
		failures += f
	}
	if tests != root.Tests || failures != root.Failures {
		return fmt.Errorf("testsuites: tests=%d failures=%d, suites say %d and %d", root.Tests, root.Failures, tests, failures)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestJUnitSchema: the JUnit output of every fixture is valid against the
// schema, and a breach reads as the brief asks.
func TestJUnitSchema(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 34, 56, 0, time.UTC)
	stores := map[string]func(*testing.T) (Store, string){
		"report":       func(t *testing.T) (Store, string) { return fillStore(t, now) },
		"shop":         func(t *testing.T) (Store, string) { return saveShop(t, now) },
		"probe_errors": func(t *testing.T) (Store, string) { c, r := probeErrorRuns(now); return saveRuns(t, c, r) },
		"empty":        func(t *testing.T) (Store, string) { return saveRuns(t, nil, nil) },
	}
	for name, fill := range stores {
		t.Run(name, func(t *testing.T) {
			s, path := fill(t)
			rep := build(t, s, path, now, "24h", "")
			for _, fail := range []bool{false, true} {
				var b bytes.Buffer
				if err := WriteJUnit(&b, rep, TextOptions{FailOnProbeErrors: fail}); err != nil {
					t.Fatal(err)
				}
				if err := validateJUnit(b.Bytes()); err != nil {
					t.Errorf("invalid JUnit XML: %v\n%s", err, b.String())
				}
			}
		})
	}
	// The validator itself refuses what the schema does.
	for _, bad := range []string{
		`<testsuite tests="0"/>`,
		`<testsuites><testcase name="x"/></testsuites>`,
		`<testsuites><testsuite/></testsuites>`,
		`<testsuites><testsuite tests="1"><testcase/></testsuite></testsuites>`,
		`<testsuites><testsuite tests="1"><testcase name="x" result="ok"/></testsuite></testsuites>`,
		`<testsuites><testsuite tests="0"><property name="a" value="b"/></testsuite></testsuites>`,
		`<testsuites><testsuite tests="2" failures="0"><testcase name="x"><failure message="m" type="t"/></testcase></testsuite></testsuites>`,
	} {
		if validateJUnit([]byte(bad)) == nil {
			t.Errorf("validator accepts %s", bad)
		}
	}
}

// TestJUnitBreach: a breached target is a <failure type="breach"> whose
// message says what was got and wanted; no data is <skipped/>; a
// probe-error warning fails a test case only with --fail-on-probe-errors.
func TestJUnitBreach(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s, path := fillStore(t, now)
	var b bytes.Buffer
	if err := WriteJUnit(&b, build(t, s, path, now, "24h", ""), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`<testcase name="uptime" classname="home" time="0">`,
		`<failure message="got 88.889 %, want ≥ 90 %" type="breach">`,
		`<failure message="got 50 %, want ≥ 75 %" type="breach">`,
		`<testsuite name="home" tests="2" failures="1" errors="0" skipped="0" time="0"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("JUnit lacks %s:\n%s", want, out)
		}
	}
	checks, runs := probeErrorRuns(now)
	s2, path2 := saveRuns(t, checks, runs)
	rep := build(t, s2, path2, now, "24h", "")
	for _, fail := range []bool{false, true} {
		b.Reset()
		if err := WriteJUnit(&b, rep, TextOptions{FailOnProbeErrors: fail}); err != nil {
			t.Fatal(err)
		}
		has := strings.Contains(b.String(), `<testcase name="probe_errors" classname="broken" time="0">`)
		if has != fail {
			t.Errorf("fail on probe errors %v: probe_errors test case %v\n%s", fail, has, b.String())
		}
		if !strings.Contains(b.String(), `<skipped message="no data: nothing was measured in the window">`) {
			t.Errorf("no data is not skipped:\n%s", b.String())
		}
	}
}
