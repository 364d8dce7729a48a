package browser

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
)

// droppedEvents are the DevTools events that a page can make Chrome send
// without bound, one per message on a connection, and that storeprobe never
// reads: WebSocket frames both ways and server-sent events. A live-price
// socket pushing 25,000 frames a second is a CDP event for each; chromedp
// decodes every event it gets (25-85 µs each under -race, 1-3 µs without)
// in the one loop that also answers every call of the browser, so a flood
// kept the browser busy for seconds after its run ended. The connections
// themselves (created, handshake, closed) still reach the tracker.
var droppedEvents = [][]byte{
	[]byte(`{"method":"Network.webSocketFrameReceived"`),
	[]byte(`{"method":"Network.webSocketFrameSent"`),
	[]byte(`{"method":"Network.eventSourceMessageReceived"`),
}

// eventFilter sits on the DevTools pipe between Chrome and chromedp. Chrome
// writes its answers and events (each JSON message ends with a zero byte)
// to the filter's pipe instead of chromedp's; the filter passes every
// message on unchanged, except those that start like one of droppedEvents,
// which it drops before anyone parses them. Chrome serialises an event's
// method first. Calls, answers and every other event go through in order.
type eventFilter struct {
	r, w *os.File // Chrome writes to w (its file descriptor 4), the relay reads r
	out  *os.File // chromedp's end, duplicated: the relay writes to it (nil until attached)

	dropped atomic.Int64

	mu   sync.Mutex
	over bool  // the launch is over: too late to attach
	err  error // why attach failed
}

func newEventFilter() (*eventFilter, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("event filter pipe: %w", err)
	}
	return &eventFilter{r: r, w: w}, nil
}

// attach runs in chromedp's ModifyCmdFunc, before Chrome starts: with
// --remote-debugging-pipe, Chrome writes to its file descriptor 4, which
// is cmd.ExtraFiles[1]. The filter takes that place and writes to a
// duplicate of chromedp's end (chromedp closes its own copy once Chrome
// has started).
func (f *eventFilter) attach(cmd *exec.Cmd) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.over {
		f.err = errors.New("event filter: the launch gave up before Chrome started")
		return
	}
	if len(cmd.ExtraFiles) != 2 {
		f.err = fmt.Errorf("event filter: Chrome is not started with the DevTools pipe (%d extra files)", len(cmd.ExtraFiles))
		return
	}
	// Close-on-exec before another goroutine's fork can see it (the
	// standard library's pattern for a descriptor it makes).
	syscall.ForkLock.RLock()
	fd, err := syscall.Dup(int(cmd.ExtraFiles[1].Fd()))
	if err == nil {
		syscall.CloseOnExec(fd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		f.err = fmt.Errorf("event filter: duplicate chromedp's pipe: %w", err)
		return
	}
	f.out = os.NewFile(uintptr(fd), "devtools-out")
	cmd.ExtraFiles[1] = f.w
	// Our copy of Chrome's end must go as soon as Chrome has its own, or
	// the relay never sees the pipe end when Chrome dies (a Chrome that
	// exits at start, say for want of a sandbox, would look hung). os/exec
	// reads a Stdin that is not a file in a goroutine it starts once the
	// process runs: that first read is the moment. Chrome reads no stdin;
	// it gets the end of it at once, as from /dev/null before.
	cmd.Stdin = onRead(f.started)
	go func() {
		_ = relay(f.r, f.out, &f.dropped)
		// Chrome is gone (or chromedp stopped reading): chromedp reads
		// the end of its pipe, and Chrome's next write fails.
		f.out.Close()
		f.r.Close()
	}()
}

// started closes the filter's copy of Chrome's end once Chrome runs, or
// once the launch is over (Chrome has its own copy if it started), so that
// the relay sees the end of the pipe when Chrome exits. A filter that was
// never attached is closed whole. Idempotent.
func (f *eventFilter) started() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.over {
		return
	}
	f.over = true
	f.w.Close()
	if f.out == nil { // never attached: no relay reads r
		f.r.Close()
	}
}

// failed is why the filter could not be put in place; call it only after
// the allocation returned.
func (f *eventFilter) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// onRead is a reader that calls its function and ends at once.
type onRead func()

func (o onRead) Read([]byte) (int, error) {
	o()
	return 0, io.EOF
}

// relay copies NUL-terminated messages from r to w, dropping those that
// start like one of droppedEvents and counting them in dropped. A message
// longer than the buffer (a screenshot) is passed on in pieces; what is
// buffered is written out whenever r has nothing more at once, so an
// answer never waits for the next message.
func relay(r io.Reader, w io.Writer, dropped *atomic.Int64) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriterSize(w, 64<<10)
	first, drop := true, false
	for {
		chunk, err := br.ReadSlice(0)
		if len(chunk) > 0 {
			if first {
				drop = isDropped(chunk)
				if drop {
					dropped.Add(1)
				}
			}
			if !drop {
				if _, werr := bw.Write(chunk); werr != nil {
					return werr
				}
			}
			// The next chunk starts a message when this one ended one.
			first = err == nil
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil:
			if ferr := bw.Flush(); ferr != nil {
				return ferr
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return err
			}
		}
	}
}

// isDropped reports whether a message starts like one of droppedEvents.
// The buffer holds at least its first 64 KiB, so the prefix is all there.
func isDropped(msg []byte) bool {
	for _, p := range droppedEvents {
		if bytes.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

// eventsDropped is how many events the running Chrome's filter dropped.
func (b *Browser) eventsDropped() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inst == nil || b.inst.filter == nil {
		return 0
	}
	return b.inst.filter.dropped.Load()
}
