package influx

import (
	"math"
	"testing"
	"time"

	lp "github.com/influxdata/line-protocol"
)

// FuzzLineRoundTrip renders points with arbitrary tag values, string fields
// and floats, parses them back with InfluxData's line-protocol parser and
// requires the same point: escaping can neither break a line nor change a
// value (beyond cleanTag's documented cleaning of tag values).
func FuzzLineRoundTrip(f *testing.F) {
	f.Add("eu-west", "home page", `say "hi" \o/`, 1500.25, int64(3), true, int64(1772366400000000000))
	f.Add("a,b=c d", "x\ny", "multi\nline", 1e21, int64(-1), false, int64(0))
	f.Add(`trailing\`, "  ", `\`, 0.0001, int64(math.MaxInt64), true, int64(-1))
	f.Add("é漢字", "#2", "", -0.0, int64(0), false, int64(1))
	f.Fuzz(func(t *testing.T, tagVal, page, str string, fl float64, n int64, b bool, ts int64) {
		p := newPoint("check_result", time.Unix(0, ts)).
			tag("location", tagVal).tag("page", page).
			str("s", str).float("f", fl).int("n", n).bool("b", b).done()
		line := p.Line()
		ms, err := lp.NewParser(lp.NewMetricHandler()).Parse([]byte(line + "\n"))
		if err != nil {
			t.Fatalf("unparsable line %q: %v", line, err)
		}
		if len(ms) != 1 {
			t.Fatalf("%q parsed as %d points", line, len(ms))
		}
		m := ms[0]
		if m.Name() != p.Measurement || m.Time().UnixNano() != ts {
			t.Fatalf("%q: name %q time %d", line, m.Name(), m.Time().UnixNano())
		}
		gotTags := map[string]string{}
		for _, tg := range m.TagList() {
			gotTags[tg.Key] = tg.Value
		}
		for _, tg := range p.Tags {
			if gotTags[tg.Key] != tg.Value {
				t.Errorf("%q: tag %s = %q, want %q", line, tg.Key, gotTags[tg.Key], tg.Value)
			}
		}
		if len(gotTags) != len(p.Tags) {
			t.Errorf("%q: tags %v, want %v", line, gotTags, p.Tags)
		}
		gotFields := map[string]any{}
		for _, fl := range m.FieldList() {
			gotFields[fl.Key] = fl.Value
		}
		for _, fd := range p.Fields {
			got := gotFields[fd.Key]
			if want, ok := fd.Value.(float64); ok {
				g, isFloat := got.(float64)
				if !isFloat || g != want {
					t.Errorf("%q: field %s = %#v, want float %v", line, fd.Key, got, want)
				}
				continue
			}
			if got != fd.Value {
				t.Errorf("%q: field %s = %#v, want %#v", line, fd.Key, got, fd.Value)
			}
		}
		for _, tg := range p.Tags {
			if tg.Value == "" || len(tg.Value) > maxTagLen {
				t.Errorf("tag %s=%q kept, empty or too long", tg.Key, tg.Value)
			}
		}
	})
}
