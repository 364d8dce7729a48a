package probe

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with an input file (a config, a journey), at a
// line, so that an editor or a CI annotator can point at it.
type Problem struct {
	File    string
	Line    int // 1-based
	Message string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message) }

// Problems is every problem found in an input. As an error it prints one
// "FILE:LINE: message" per line. Readers of these files return it whole,
// so a user sees everything to fix at once; they return nil, never an empty
// Problems, when nothing is wrong. Callers take it out of a wrapped or
// joined error with errors.As.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// FieldError is a problem with one field of a check's definition. Field is
// the config key (url, resolver, ca_file, max_body ...): the config reports
// it at that key's line, the CLI names the flag that sets it. Messages
// never contain secrets.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

// LeafErrors takes errors.Join-ed errors apart, recursively, so each can be
// reported on its own; any other error is its own single leaf.
func LeafErrors(err error) []error {
	if err == nil {
		return nil
	}
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, LeafErrors(e)...)
	}
	return out
}

// Clip shortens s, a value quoted in a message, to its first n characters
// followed by "…". It cuts between characters, never inside one: a cut
// UTF-8 sequence would make the message (and the JSON or store it ends up
// in) invalid.
func Clip(s string, n int) string {
	count := 0
	for i := range s {
		if count == n {
			return s[:i] + "…"
		}
		count++
	}
	return s
}
