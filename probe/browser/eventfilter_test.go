package browser

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
)

func TestRelay(t *testing.T) {
	msg := func(s string) string { return s + "\x00" }
	frame := msg(`{"method":"Network.webSocketFrameReceived","params":{"requestId":"1.2","timestamp":1,"response":{"opcode":1,"mask":false,"payloadData":"price"}},"sessionId":"AB"}`)
	sent := msg(`{"method":"Network.webSocketFrameSent","params":{"requestId":"1.2","timestamp":1,"response":{"opcode":1,"mask":true,"payloadData":"hi"}},"sessionId":"AB"}`)
	sse := msg(`{"method":"Network.eventSourceMessageReceived","params":{"requestId":"1.3","timestamp":1,"eventName":"message","eventId":"","data":"x"}}`)
	created := msg(`{"method":"Network.webSocketCreated","params":{"requestId":"1.2","url":"ws://shop/"},"sessionId":"AB"}`)
	answer := msg(`{"id":7,"result":{"frameTree":{}},"sessionId":"AB"}`)
	// A payload that mentions a dropped method is not the method.
	lookalike := msg(`{"id":8,"result":{"result":{"type":"string","value":"{\"method\":\"Network.webSocketFrameReceived\"}"}}}`)
	big := msg(`{"id":9,"result":{"data":"` + strings.Repeat("A", 300<<10) + `"}}`)
	bigDropped := msg(`{"method":"Network.webSocketFrameReceived","params":{"response":{"payloadData":"` + strings.Repeat("B", 200<<10) + `"}}}`)

	cases := []struct {
		name        string
		in          string
		want        string
		wantDropped int64
	}{
		{name: "nothing", in: "", want: ""},
		{name: "answers pass", in: answer + created, want: answer + created},
		{name: "frames dropped, order kept", in: created + frame + answer + sent + frame + sse + lookalike,
			want: created + answer + lookalike, wantDropped: 4},
		{name: "message over the buffer passes whole", in: frame + big + answer, want: big + answer, wantDropped: 1},
		{name: "dropped message over the buffer", in: answer + bigDropped + created, want: answer + created, wantDropped: 1},
		{name: "last message without its zero byte", in: frame + `{"id":1}`, want: `{"id":1}`, wantDropped: 1},
	}
	for _, c := range cases {
		for _, read := range []struct {
			name string
			r    func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"a byte at a time", iotest.OneByteReader},
			{"in halves", iotest.HalfReader},
		} {
			t.Run(c.name+"/"+read.name, func(t *testing.T) {
				var out bytes.Buffer
				var dropped atomic.Int64
				if err := relay(read.r(strings.NewReader(c.in)), &out, &dropped); err != nil {
					t.Fatal(err)
				}
				if out.String() != c.want {
					t.Errorf("relayed %d bytes %.120q, want %d bytes %.120q", out.Len(), out.String(), len(c.want), c.want)
				}
				if dropped.Load() != c.wantDropped {
					t.Errorf("dropped %d, want %d", dropped.Load(), c.wantDropped)
				}
			})
		}
	}
}

// An answer is written out as soon as it is read, not when the next
// message comes: chromedp waits for it.
func TestRelayFlushesEachAnswer(t *testing.T) {
	pr, pw := io.Pipe()
	got := make(chan string, 4)
	w := writerFunc(func(p []byte) (int, error) { got <- string(p); return len(p), nil })
	done := make(chan error, 1)
	var dropped atomic.Int64
	go func() { done <- relay(pr, w, &dropped) }()
	for _, m := range []string{`{"id":1,"result":{}}` + "\x00", `{"id":2,"result":{}}` + "\x00"} {
		if _, err := io.WriteString(pw, m); err != nil {
			t.Fatal(err)
		}
		if s := <-got; s != m {
			t.Fatalf("relayed %q, want %q", s, m)
		}
	}
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRelayWriteError(t *testing.T) {
	gone := errors.New("chromedp stopped reading")
	w := writerFunc(func([]byte) (int, error) { return 0, gone })
	var dropped atomic.Int64
	if err := relay(strings.NewReader(`{"id":1}`+"\x00"), w, &dropped); !errors.Is(err, gone) {
		t.Errorf("relay returned %v, want %v", err, gone)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
