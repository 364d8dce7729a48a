// Package yamldoc is the YAML toolkit shared by storeprobe's file formats,
// the config (probe/config) and journeys (scenarios). Both walk yaml.Node
// trees instead of unmarshalling into structs: that is what gives every
// message the line of the offending key or value, and what lets one bad
// value not hide the next. This package holds what such a walker needs and
// what must not differ between the formats:
//
//   - Decode reads a file's single document and reports YAML that does not
//     parse at the line to fix (yaml.v3 prints some of those lines 0-based),
//     and refuses a file too big to parse safely (MaxBytes, MaxTokens);
//   - Deref follows aliases;
//   - Describe says what a node is, for "want X, got Y" messages;
//   - Pairs lists a mapping's keys and finds the repeated ones;
//   - Clip shortens a value a message quotes, between characters.
//
// Each format words its own problems (what an empty file or a second
// document means to it); messages built here read the same in both.
package yamldoc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/storeprobe/storeprobe/probe"
)

// SyntaxError is YAML that does not parse, or a file over Decode's limits.
type SyntaxError struct {
	Line    int    // 1-based: the line to fix
	Message string // yaml.v3's, e.g. "did not find expected key"
	// Limit: the file is over MaxBytes or MaxTokens and was not parsed;
	// Message says which, and Line is where the limit was crossed.
	Limit bool
}

// Limits on what Decode parses. yaml.v3 builds a node (a few hundred bytes
// with its parser events) for every value before any caller can count
// them, so a few megabytes of "- a" lines would cost gigabytes: the file
// is measured first. A token is a line or a flow or mapping separator, an
// upper bound of the values a file can hold; a config of 10,000 checks of
// about fifteen lines each stays under it.
const (
	MaxBytes  = 8 << 20
	MaxTokens = 300_000
)

// overLimit returns the line where data crosses MaxBytes or MaxTokens,
// and the message saying so; 0 if it crosses neither.
func overLimit(data []byte) (int, string) {
	line, tokens := 1, 0
	for i, c := range data {
		if i == MaxBytes {
			return line, fmt.Sprintf("the file is over %d MiB; a config or journey is far smaller (binary or generated data?)", MaxBytes>>20)
		}
		switch c {
		case '\n', ',', '[', '{':
			tokens++
		case ':':
			if i+1 < len(data) && (data[i+1] == ' ' || data[i+1] == '\t') {
				tokens++
			}
		}
		if tokens > MaxTokens {
			return line, fmt.Sprintf("the file holds over %d lines and values; a config or journey is far smaller", MaxTokens)
		}
		if c == '\n' {
			line++
		}
	}
	return 0, ""
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Message) }

// Document is the single YAML document of a file.
type Document struct {
	// Root is the document's content, aliases followed; nil when the file
	// holds no document (it is empty or only comments).
	Root *yaml.Node
	// Extra is the line where a second document starts, 0 when there is
	// none: a file holds one config or one journey, and what follows a
	// "---" would otherwise be silently ignored.
	Extra int
}

// Decode parses data. A syntax error in the first document leaves Root
// nil; one in a second document leaves Root as parsed, for a reader that
// wants to report more than the syntax error.
func Decode(data []byte) (Document, *SyntaxError) {
	var doc Document
	if line, msg := overLimit(data); line > 0 {
		return doc, &SyntaxError{Line: line, Message: msg, Limit: true}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return doc, nil
		}
		return doc, syntaxError(err, data)
	}
	if len(root.Content) > 0 {
		doc.Root = Deref(root.Content[0])
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		doc.Extra = max(extra.Line, 1)
	case !errors.Is(err, io.EOF):
		return doc, syntaxError(err, data)
	}
	return doc, nil
}

// yaml.v3 reports syntax errors as text only: "yaml: line N: problem", or
// "yaml: problem" when the problem is on the first line or has no place.
var lineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parserProblems are yaml.v3's parser (not scanner) errors. It prints their
// marks 0-based, unconverted, so their lines need one added. A parser error
// is placed where the collection being parsed began, or, when that is the
// first line, where parsing failed.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

func syntaxError(err error, data []byte) *SyntaxError {
	m := lineRE.FindStringSubmatch(err.Error())
	if m == nil && strings.HasSuffix(err.Error(), "control characters are not allowed") {
		// The reader refuses them before it counts lines: find the first.
		line := 1
		for _, r := range string(data) {
			if r == '\n' {
				line++
			} else if r < 0x20 && r != '\t' && r != '\r' || r == 0x7f || r >= 0x80 && r < 0xa0 {
				break
			}
		}
		return &SyntaxError{Line: line, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	if m == nil {
		return &SyntaxError{Line: 1, Message: strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	if parserProblems[m[2]] {
		line++
	}
	return &SyntaxError{Line: max(line, 1), Message: m[2]}
}

// Deref follows an alias to the node it names. yaml.v3 lets an anchor name
// only a node that is not itself an alias; the bound guards hand-built trees.
func Deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 64; i++ {
		n = n.Alias
	}
	return n
}

// Describe says what a node is, for "want X, got Y" messages: for a scalar,
// how YAML read it (`yes` is a string, `1.10` a number, `2024-01-01` a
// timestamp), with its value.
func Describe(n *yaml.Node) string {
	switch n.ShortTag() {
	case "!!str":
		return fmt.Sprintf("the string %q", Clip(n.Value))
	case "!!int":
		return "the integer " + Clip(n.Value)
	case "!!float":
		return "the number " + Clip(n.Value)
	case "!!bool":
		return "the boolean " + n.Value
	case "!!null":
		return "nothing (null)"
	case "!!map":
		return "a mapping"
	case "!!seq":
		return "a list"
	case "!!timestamp":
		return "the timestamp " + Clip(n.Value) + " (quote it to make it a string)"
	case "!!binary":
		return "binary data"
	}
	return "a value tagged " + Clip(n.ShortTag())
}

// Pair is one key of a mapping and its value, aliases followed.
type Pair struct {
	Key  string
	K, V *yaml.Node
}

// KeyError is a key that Pairs leaves out.
type KeyError struct {
	K     *yaml.Node
	First int // line of the key's first occurrence if it repeats one; 0 if it is not a name
}

func (e KeyError) Error() string {
	if e.First > 0 {
		return fmt.Sprintf("key %q repeated (first at line %d)", Clip(e.K.Value), e.First)
	}
	return "a key must be a string, got " + Describe(e.K)
}

// Pairs returns the pairs of the mapping m in document order. Keys that are
// not names (a list, a mapping, null) and keys that repeat an earlier one are
// left out and returned as KeyErrors: yaml.v3 accepts both in a Node tree,
// and a repeated key would silently replace or be replaced. Merge keys (<<)
// are pairs like any other, never repeats, for the caller to resolve or
// refuse.
func Pairs(m *yaml.Node) ([]Pair, []KeyError) {
	var pairs []Pair
	var bad []KeyError
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := Deref(m.Content[i]), Deref(m.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
			bad = append(bad, KeyError{K: k})
			continue
		}
		if k.ShortTag() != "!!merge" {
			if first, dup := seen[k.Value]; dup {
				bad = append(bad, KeyError{K: k, First: first})
				continue
			}
			seen[k.Value] = k.Line
		}
		pairs = append(pairs, Pair{Key: k.Value, K: k, V: v})
	}
	return pairs, bad
}

// quotedLen is how much of a value a message quotes: enough to recognise
// it, not a whole pasted blob.
const quotedLen = 60

// Clip shortens a value a message quotes to its first 60 characters and
// "…" (probe.Clip: never inside a character).
func Clip(s string) string { return probe.Clip(s, quotedLen) }
