package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
)

const crashChildEnv = "STOREPROBE_SQLITE_CRASH_CHILD"

// crashRun is what the child saves as its i-th run, so the parent can rebuild
// the exact run each acknowledgement stands for.
func crashRun(i int) probe.Run {
	r := journeyRun(t0.Add(time.Duration(i) * time.Second))
	r.Check = fmt.Sprintf("check-%d", i%7)
	return r
}

// TestKillDuringWrites SIGKILLs a process in the middle of saving runs from
// several goroutines, then checks the database is intact and holds every
// run whose Save had returned, with its outbox entry.
func TestKillDuringWrites(t *testing.T) {
	if path := os.Getenv(crashChildEnv); path != "" {
		crashChild(path)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	path := filepath.Join(t.TempDir(), "storeprobe.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringWrites$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int]int64{} // run index -> id
	sc := bufio.NewScanner(out)
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		var i int
		var id int64
		if _, err := fmt.Sscanf(sc.Text(), "saved %d %d", &i, &id); err != nil {
			continue // test framework chatter
		}
		acked[i] = id
		if len(acked) == 300 {
			// Mid-write: the writers are running flat out.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	// Acks already in the pipe were acknowledged before the kill too.
	for sc.Scan() {
		var i int
		var id int64
		if _, err := fmt.Sscanf(sc.Text(), "saved %d %d", &i, &id); err == nil {
			acked[i] = id
		}
	}
	err = cmd.Wait()
	if len(acked) < 300 {
		t.Fatalf("child acknowledged only %d saves before exiting: %v", len(acked), err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", cmd.ProcessState)
	}

	ctx := context.Background()
	s, err := Open(ctx, path, MustExist())
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	if err := s.Integrity(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := s.Runs(ctx, probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]probe.Run{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	pending, err := s.Pending(ctx, len(runs)+10)
	if err != nil {
		t.Fatal(err)
	}
	queued := map[int64]bool{}
	for _, e := range pending {
		queued[e.Run.ID] = true
	}
	for i, id := range acked {
		want := crashRun(i)
		want.ID = id
		got, ok := byID[id]
		if !ok {
			t.Errorf("acknowledged run %d (id %d) is missing after the kill", i, id)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("acknowledged run %d (id %d) came back different", i, id)
		}
		if !queued[id] {
			t.Errorf("acknowledged run %d (id %d) lost its outbox entry", i, id)
		}
	}
	// Everything stored is whole: a run without its outbox row or its
	// attempts would be a torn transaction.
	if len(pending) != len(runs) {
		t.Errorf("%d runs but %d outbox entries", len(runs), len(pending))
	}
	for _, r := range runs {
		if len(r.Attempts) != 1 || len(r.Final().Pages) != 2 || len(r.Final().Steps) != 3 {
			t.Errorf("run %d is torn: %d attempts", r.ID, len(r.Attempts))
		}
	}
	t.Logf("killed after %d acknowledged saves; %d runs on disk", len(acked), len(runs))
}

// crashChild saves runs from four goroutines until killed, printing one line
// per Save that returned.
func crashChild(path string) {
	s, err := Open(context.Background(), path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded: the parent kills us long before this ends.
			for i := g; i < 200000; i += 4 {
				id, err := s.Save(context.Background(), crashRun(i))
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintf(w, "saved %d %d\n", i, id)
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	os.Exit(0)
}
