package probe

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"unicode/utf8"
)

func TestClip(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven char", 10, "eleven cha…"},
		{"", 3, ""},
		{"abc", 0, "…"},
		// Two-byte characters after an odd offset: a byte cut at 4 would
		// split the second "é".
		{"aéééé", 3, "aéé…"},
		{"日本語のテキスト", 3, "日本語…"},
		{"🛒🛒🛒🛒", 2, "🛒🛒…"},
	}
	for _, tt := range tests {
		got := Clip(tt.in, tt.n)
		if got != tt.want || !utf8.ValidString(got) {
			t.Errorf("Clip(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestProblemsError(t *testing.T) {
	var err error = Problems{{"a.yaml", 3, "x"}, {"j.yaml", 1, "y: z"}}
	if err.Error() != "a.yaml:3: x\nj.yaml:1: y: z" {
		t.Errorf("got %q", err.Error())
	}
	var ps Problems
	if !errors.As(fmt.Errorf("load: %w", err), &ps) || len(ps) != 2 || ps[1].Line != 1 {
		t.Errorf("errors.As through a wrap: %v", ps)
	}
}

func TestLeafErrors(t *testing.T) {
	a, b, c := errors.New("a"), &FieldError{Field: "url", Err: errors.New("no host")}, errors.New("c")
	joined := errors.Join(a, fmt.Errorf("wrapped: %w", errors.Join(b, c)), errors.Join(c))
	got := LeafErrors(joined)
	want := []string{"a", "wrapped: url: no host\nc", "c"}
	if len(got) != len(want) {
		t.Fatalf("got %d leaves %v, want %d", len(got), got, len(want))
	}
	for i := range got {
		if got[i].Error() != want[i] {
			t.Errorf("leaf %d = %q, want %q", i, got[i], want[i])
		}
	}
	// A wrap is a leaf: it is one error with one message. Inside it the
	// FieldError is still found.
	var fe *FieldError
	if !errors.As(got[1], &fe) || fe.Field != "url" {
		t.Errorf("FieldError not found in %v", got[1])
	}
	if LeafErrors(nil) != nil || !slices.Equal(LeafErrors(a), []error{a}) {
		t.Errorf("nil or single error not handled")
	}
}
