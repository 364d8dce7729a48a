package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// TestBadStores: a store written by a newer storeprobe, a truncated store and
// a store another process holds locked each give a clear error and exit 3
// (our side, not the shop's, not the user's typing), and nothing is
// overwritten.
func TestBadStores(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; waits out a lock")
	}
	bin := storeprobeBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfg, "checks:\n  - {name: a, url: \"http://127.0.0.1:1/\", schedule: \"@every 1h\"}\n")
	ctx := context.Background()
	fresh := func(name string) string {
		path := filepath.Join(dir, name)
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		at := time.Now().UTC().Add(-time.Minute)
		for i := range 50 {
			run := probe.Run{Check: "a", Type: probe.TypeHTTP, ScheduledAt: at.Add(time.Duration(i) * time.Millisecond),
				Attempts: []probe.Result{{Check: "a", Type: probe.TypeHTTP, OK: true, Attempt: 1, StartedAt: at,
					HTTPDetails: &probe.HTTPDetails{StatusCode: 200}}}}
			if _, err := s.Save(ctx, run); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		return path
	}
	raw := func(path, stmt string) {
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}

	newer := fresh("newer.db")
	raw(newer, fmt.Sprintf("INSERT INTO schema_version (version, applied_at) VALUES (%d, 0)", sqlite.SchemaVersion()+1))
	truncated := fresh("truncated.db")
	if fi, err := os.Stat(truncated); err != nil || os.Truncate(truncated, fi.Size()/2) != nil {
		t.Fatalf("truncate: %v", err)
	}
	locked := fresh("locked.db")
	holder, err := sql.Open("sqlite", locked+"?_pragma=busy_timeout(100)")
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	conn, err := holder.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(ctx, "ROLLBACK")

	for _, tc := range []struct {
		name, store string
		args        []string
		want        string
	}{
		{"newer: run", newer, []string{"run", "--config", cfg}, "written by a newer storeprobe"},
		{"newer: report", newer, []string{"report"}, "written by a newer storeprobe"},
		{"truncated: run", truncated, []string{"run", "--config", cfg}, "open store " + truncated},
		{"truncated: report", truncated, []string{"report"}, "open store " + truncated},
		{"locked: run", locked, []string{"run", "--config", cfg}, "locked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fileHash(t, tc.store)
			cmd := exec.Command(bin, append(tc.args, "--store", tc.store)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if code := exitStatus(err); code != exitInternal {
					t.Errorf("exit %d, want 3\n%s", code, stderr.String())
				}
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatal("still running after 30s")
			}
			if !strings.Contains(stderr.String(), tc.want) || strings.Count(stderr.String(), "open store") > 1 {
				t.Errorf("stderr %q, want %q once", stderr.String(), tc.want)
			}
			if fileHash(t, tc.store) != before {
				t.Error("the store was written")
			}
		})
	}
}

// TestKill9DuringWritesAndShipping kills `storeprobe run -9` again and again
// while it saves runs and ships them, then lets it finish: the store is
// intact, no run is stored twice, and InfluxDB holds exactly the stored runs
// (a point per run: re-shipping after a kill overwrites, never duplicates).
func TestKill9DuringWritesAndShipping(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, starts influxd")
	}
	srv := influxtest.Start(t)
	bin := storeprobeBinary(t)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer shop.Close()
	dir := t.TempDir()
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "influxdb: {url: %q, bucket: %q, flush_interval: 100ms, batch_size: 7}\nchecks:\n", srv.URL, srv.Bucket)
	for i := range 12 {
		fmt.Fprintf(&cfg, "  - {name: c%02d, url: \"%s/%d\", schedule: \"* * * * * *\"}\n", i, shop.URL, i)
	}
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfgPath, cfg.String())
	store := filepath.Join(dir, "s.db")
	start := func() (*exec.Cmd, string) {
		addr := freePort(t)
		cmd := exec.Command(bin, "run", "--config", cfgPath, "--store", store, "--listen", addr, "--log-level", "error")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill() })
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
				resp.Body.Close()
				return cmd, addr
			}
			if time.Now().After(deadline) {
				t.Fatal("the daemon did not come up")
			}
		}
	}
	// Kills at different moments of the second, so some land mid-save and
	// some mid-flush.
	for _, after := range []time.Duration{1300 * time.Millisecond, 1750 * time.Millisecond, 2150 * time.Millisecond, 900 * time.Millisecond} {
		cmd, _ := start()
		time.Sleep(after)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	cmd, addr := start()
	// Until the outbox is empty: every stored run shipped.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(m), "\nstoreprobe_outbox_depth 0\n") && strings.Contains(string(m), "storeprobe_runs_total") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox did not drain:\n%s", m)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}

	ctx := context.Background()
	s, err := sqlite.Open(ctx, store, sqlite.MustExist())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Integrity(ctx); err != nil {
		t.Fatalf("store integrity: %v", err)
	}
	runs, err := s.Runs(ctx, probe.RunQuery{})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	perCheck := map[string]int64{}
	for _, r := range runs {
		k := r.Check + "@" + r.ScheduledAt.String()
		if seen[k] {
			t.Errorf("run %s stored twice", k)
		}
		seen[k] = true
		perCheck[r.Check]++
	}
	if len(runs) < 12 {
		t.Fatalf("%d runs stored over five starts", len(runs))
	}
	for check, n := range perCheck {
		got, err := srv.Count(ctx, "check_result", "duration_ms", fmt.Sprintf(`"check" = '%s'`, check))
		if err != nil {
			t.Fatal(err)
		}
		if got != n {
			t.Errorf("%s: %d runs in the store, %d in InfluxDB", check, n, got)
		}
	}
	t.Logf("%d runs over five starts, four of them killed with -9", len(runs))
}

// TestDiskFull fills the filesystem under the store (a small tmpfs): the
// daemon says so loudly (log, /readyz 503), keeps running, loses no stored
// run to corruption, and stores runs again once space returns.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary, mounts a tmpfs")
	}
	if os.Getuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	bin := storeprobeBinary(t)
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	defer exec.Command("umount", "-l", mnt).Run()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer shop.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	var cfg strings.Builder
	cfg.WriteString("checks:\n")
	for i := range 8 {
		fmt.Fprintf(&cfg, "  - {name: c%d, url: \"%s/%d\", schedule: \"* * * * * *\"}\n", i, shop.URL, i)
	}
	writeFile(t, cfgPath, cfg.String())
	store := filepath.Join(mnt, "s.db")
	addr := freePort(t)
	cmd := exec.Command(bin, "run", "--config", cfgPath, "--store", store, "--listen", addr, "--log-format", "json")
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitReady := func(code int, want string) {
		t.Helper()
		var body string
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var c int
			if c, body = readyz(); c == code && strings.Contains(body, want) {
				return
			}
		}
		t.Fatalf("/readyz never %d with %q; last %s\nlog:\n%s", code, want, body, logs.String())
	}
	waitReady(200, "ready")
	// Fill the disk: a filler file takes whatever is left.
	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	waitReady(503, "full")
	if !strings.Contains(logs.String(), "full") {
		t.Errorf("the full disk is not in the log:\n%s", logs.String())
	}
	// Space returns: runs are stored again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitReady(200, "ready")
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
	}
	s, err := sqlite.Open(context.Background(), store, sqlite.MustExist())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Integrity(context.Background()); err != nil {
		t.Fatalf("store integrity after a full disk: %v", err)
	}
	runs, err := s.Runs(context.Background(), probe.RunQuery{})
	if err != nil || len(runs) == 0 {
		t.Fatalf("runs after the disk was full: %d, %v", len(runs), err)
	}
}

// syncBuffer is a bytes.Buffer safe for a process's writes and the test's
// reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
