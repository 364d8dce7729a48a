package yamldoc

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		root     string // the root's tag, "" for none
		extra    int
		errLine  int // 0: no syntax error
		errMatch string
	}{
		{"empty", "", "", 0, 0, ""},
		{"only comments", "# nothing\n# here\n", "", 0, 0, ""},
		{"explicit null", "---\n~\n", "!!null", 0, 0, ""},
		{"mapping", "a: 1\n", "!!map", 0, 0, ""},
		{"aliased root is followed", "&x [1]\n", "!!seq", 0, 0, ""},
		{"second document", "a: 1\nb: 2\n---\nc: 3\n", "!!map", 3, 0, ""},
		{"empty second document", "a: 1\n---\n", "!!map", 2, 0, ""},
		// The first document parsed; the second did not (flow sequence
		// opened on line 3): the root is kept.
		{"syntax error in a second document", "a: 1\n---\nb: [\n  1\n", "!!map", 0, 3, "did not find expected ',' or ']'"},
		// Parser errors, printed 0-based by yaml.v3.
		{"unclosed flow sequence", "a: 1\nb: [1, 2\nc: 3", "", 0, 2, "did not find expected ',' or ']'"},
		{"unclosed flow mapping", "a: 1\nb: {x: 1, y: 2\nc: 3\n", "", 0, 2, "did not find expected ',' or '}'"},
		{"key indented under nothing", "a:\n  b: 1\n c: 2\n", "", 0, 3, "did not find expected key"},
		{"list item in a mapping", "a: 1\nb: 2\n- c\n", "", 0, 3, "did not find expected key"},
		// On the first line yaml.v3 prints no line at all.
		{"parser error on the first line", "[a, b\n", "", 0, 2, "did not find expected ',' or ']'"},
		{"undefined tag handle", "a: 1\nb: !x!y 1\n", "", 0, 2, "found undefined tag handle"},
		// Scanner errors, printed 1-based.
		{"tab", "a: 1\nb:\n\t- x\n", "", 0, 3, "found character that cannot start any token"},
		{"unclosed quote", "a: 1\nb: \"x\nc: 3\n", "", 0, 2, "found unexpected end of stream"},
		{"mapping in a plain value", "a: 1\n\nb: c: d\n", "", 0, 3, "mapping values are not allowed in this context"},
		// No position at all.
		{"unknown anchor", "a: 1\nb: *x\n", "", 0, 1, "unknown anchor 'x' referenced"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := Decode([]byte(tt.src))
			switch {
			case tt.errLine == 0 && err != nil:
				t.Fatalf("Decode: %v", err)
			case tt.errLine != 0 && (err == nil || err.Line != tt.errLine || err.Message != tt.errMatch):
				t.Fatalf("Decode error %v, want line %d: %s", err, tt.errLine, tt.errMatch)
			}
			root := ""
			if doc.Root != nil {
				root = doc.Root.ShortTag()
			}
			if root != tt.root || doc.Extra != tt.extra {
				t.Errorf("root %q, extra %d; want %q, %d", root, doc.Extra, tt.root, tt.extra)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	long := strings.Repeat("é", 70)
	tests := []struct{ src, want string }{
		{`"x"`, `the string "x"`},
		{"yes", `the string "yes"`},
		{"404", "the integer 404"},
		{"1.10", "the number 1.10"},
		{"true", "the boolean true"},
		{"~", "nothing (null)"},
		{"{a: b}", "a mapping"},
		{"[a]", "a list"},
		{"2024-01-01", "the timestamp 2024-01-01 (quote it to make it a string)"},
		{"!!binary aGk=", "binary data"},
		{"!shop x", "a value tagged !shop"},
		{long, fmt.Sprintf("the string %q", strings.Repeat("é", 60)+"…")},
	}
	for _, tt := range tests {
		doc, err := Decode([]byte(tt.src))
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got := Describe(doc.Root); got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Describe(%s) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestPairs(t *testing.T) {
	src := `base: &b {x: 1}
name: a
[k]: list key
~: null key
name: again
<<: *b
<<: {y: 2}
ref: *b
`
	doc, serr := Decode([]byte(src))
	if serr != nil {
		t.Fatal(serr)
	}
	pairs, bad := Pairs(doc.Root)
	var got []string
	for _, p := range pairs {
		got = append(got, fmt.Sprintf("%d:%s=%s", p.K.Line, p.Key, p.V.ShortTag()))
	}
	// Merge keys repeat freely; ref's alias is followed to the mapping.
	want := "1:base=!!map 2:name=!!str 6:<<=!!map 7:<<=!!map 8:ref=!!map"
	if strings.Join(got, " ") != want {
		t.Errorf("pairs %s\nwant  %s", strings.Join(got, " "), want)
	}
	var msgs []string
	for _, b := range bad {
		msgs = append(msgs, fmt.Sprintf("%d: %v", b.K.Line, b))
	}
	wantBad := []string{
		"3: a key must be a string, got a list",
		"4: a key must be a string, got nothing (null)",
		`5: key "name" repeated (first at line 2)`,
	}
	if strings.Join(msgs, "\n") != strings.Join(wantBad, "\n") {
		t.Errorf("bad keys:\n%s\nwant:\n%s", strings.Join(msgs, "\n"), strings.Join(wantBad, "\n"))
	}
}

// FuzzDecode: whatever the bytes, Decode does not panic and a syntax error
// points into the file (at most one past its last line: end of stream).
func FuzzDecode(f *testing.F) {
	for _, s := range []string{"a: 1\nb: [1, 2\nc: 3", "a:\n  b: 1\n c: 2\n", "a: 1\n---\nb: [\n", "x: \"\n", "\t- a\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode(data)
		if err != nil {
			if lines := countLines(data); err.Line < 1 || err.Line > lines+1 || err.Message == "" {
				t.Fatalf("syntax error %v outside the file's %d lines", err, lines)
			}
			return
		}
		if doc.Root != nil && doc.Root.Kind == yaml.AliasNode {
			t.Fatalf("root is an alias")
		}
	})
}

// countLines counts lines as YAML does: \r\n, \r, \n and the Unicode
// breaks NEL, LS and PS each end one.
func countLines(data []byte) int {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return 1 + strings.Count(s, "\n") + strings.Count(s, "\r") + strings.Count(s, "\u0085") +
		strings.Count(s, "\u2028") + strings.Count(s, "\u2029")
}

// TestDecodeLimits: a file over MaxBytes or MaxTokens is refused before
// yaml.v3 builds its nodes, at the line where the limit was crossed; a
// control character is placed on its own line.
func TestDecodeLimits(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		line  int
		limit bool
		msg   string
	}{
		{"too many tokens", strings.Repeat("- a\n", MaxTokens+1), MaxTokens + 1, true, "over 300000 lines and values"},
		{"too many bytes", "a: " + strings.Repeat("x", MaxBytes) + "\n", 1, true, "over 8 MiB"},
		{"flow tokens count", "[" + strings.Repeat("a,", MaxTokens) + "]", 1, true, "lines and values"},
		{"NUL on line 3", "a: 1\nb: 2\nc: \x00\n", 3, false, "control characters are not allowed"},
		{"just under", strings.Repeat("- a\n", 1000), 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, serr := Decode([]byte(tt.data))
			if tt.msg == "" {
				if serr != nil {
					t.Fatal(serr)
				}
				return
			}
			if serr == nil || serr.Line != tt.line || serr.Limit != tt.limit || !strings.Contains(serr.Message, tt.msg) {
				t.Fatalf("got %+v, want line %d limit %v %q", serr, tt.line, tt.limit, tt.msg)
			}
		})
	}
}
