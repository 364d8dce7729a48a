package influx

import (
	"fmt"
	"hash/fnv"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Point is one line-protocol point. Field values are float64, int64, bool or
// string only, so every field's InfluxDB type is decided here and never by
// how a number happens to print.
type Point struct {
	Measurement string
	Tags        []Tag   // sorted by key; empty values are never kept
	Fields      []Field // sorted by key
	Time        time.Time
}

// Tag is one tag of a point.
type Tag struct{ Key, Value string }

// Field is one field of a point.
type Field struct {
	Key   string
	Value any // float64 | int64 | bool | string
}

// maxTagLen bounds tag values: they are names, not payloads.
const maxTagLen = 64

func newPoint(measurement string, t time.Time) *Point {
	return &Point{Measurement: measurement, Time: t}
}

// tag adds a tag unless the value is empty (InfluxDB rejects empty tag values).
func (p *Point) tag(k, v string) *Point {
	v = cleanTag(v)
	if v != "" {
		p.Tags = append(p.Tags, Tag{k, v})
	}
	return p
}

// float adds a float field; NaN and ±Inf are not representable and skipped.
func (p *Point) float(k string, v float64) *Point {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return p
	}
	p.Fields = append(p.Fields, Field{k, v})
	return p
}

func (p *Point) floatPtr(k string, v *float64) *Point {
	if v != nil {
		p.float(k, *v)
	}
	return p
}

func (p *Point) int(k string, v int64) *Point {
	p.Fields = append(p.Fields, Field{k, v})
	return p
}

func (p *Point) bool(k string, v bool) *Point {
	p.Fields = append(p.Fields, Field{k, v})
	return p
}

// str adds a string field. Invalid UTF-8 (which InfluxDB refuses) becomes
// U+FFFD and control characters become spaces: parsers disagree on them.
// String fields are short: enumerations, or a clipped failure message.
func (p *Point) str(k, v string) *Point {
	p.Fields = append(p.Fields, Field{k, strings.Map(noControl, strings.ToValidUTF8(v, "\uFFFD"))})
	return p
}

func (p *Point) done() Point {
	sort.SliceStable(p.Tags, func(i, j int) bool { return p.Tags[i].Key < p.Tags[j].Key })
	sort.SliceStable(p.Fields, func(i, j int) bool { return p.Fields[i].Key < p.Fields[j].Key })
	return *p
}

// Line renders the point in line protocol with nanosecond precision and no
// trailing newline.
func (p Point) Line() string {
	var b strings.Builder
	b.Grow(64 + 24*(len(p.Tags)+len(p.Fields)))
	escape(&b, p.Measurement, ", ")
	for _, t := range p.Tags {
		b.WriteByte(',')
		escape(&b, t.Key, ",= ")
		b.WriteByte('=')
		escape(&b, t.Value, ",= ")
	}
	for i, f := range p.Fields {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		escape(&b, f.Key, ",= ")
		b.WriteByte('=')
		switch v := f.Value.(type) {
		case float64:
			b.WriteString(strconv.FormatFloat(v, 'f', -1, 64))
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
			b.WriteByte('i')
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case string:
			b.WriteByte('"')
			for _, r := range v {
				if r == '"' || r == '\\' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
			b.WriteByte('"')
		default:
			// Unreachable through the builders; fail loudly in the data
			// rather than guessing a type.
			fmt.Fprintf(&b, "%q", fmt.Sprint(v))
		}
	}
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(p.Time.UnixNano(), 10))
	return b.String()
}

func escape(b *strings.Builder, s, special string) {
	for _, r := range s {
		if strings.ContainsRune(special, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
}

// cleanTag makes a tag value safe and bounded: no control characters (a
// newline would end the line), no backslashes (InfluxDB 1.x and 2.x disagree
// on escaping them), at most maxTagLen bytes. A longer value keeps a prefix
// and a short hash of the whole value, so two long names that share their
// first 64 bytes stay two series instead of silently merging.
func cleanTag(v string) string {
	return shortenTag(sanitizeTag(v), maxTagLen)
}

func sanitizeTag(v string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\\' {
			return '/'
		}
		return noControl(r)
	}, strings.TrimSpace(strings.ToValidUTF8(v, "\uFFFD"))))
}

// tagHashLen is the "~" and 8 hex digits of FNV-1a 32 that stand for the
// cut-off rest of a long tag value.
const tagHashLen = 9

// shortenTag bounds a sanitised value to limit bytes: unchanged when it
// fits, else its longest prefix (cut on a rune boundary) that leaves room for
// "~" + the hash of the full value. It is idempotent for values that fit.
func shortenTag(v string, limit int) string {
	if len(v) <= limit {
		return v
	}
	h := fnv.New32a()
	h.Write([]byte(v))
	cut := max(limit-tagHashLen, 0)
	for cut > 0 && !utf8Start(v[cut]) {
		cut--
	}
	return strings.TrimSpace(v[:cut]) + fmt.Sprintf("~%08x", h.Sum32())
}

func noControl(r rune) rune {
	if r < 0x20 || r == 0x7f {
		return ' '
	}
	return r
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
