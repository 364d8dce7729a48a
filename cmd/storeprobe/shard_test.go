package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

// TestShardsSplitTheChecks runs two real `storeprobe run` processes on
// shards 0/2 and 1/2 of one config: together their stores hold every check
// exactly once, and /healthz says which shard each runs.
func TestShardsSplitTheChecks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := storeprobeBinary(t)
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer shop.Close()
	dir := t.TempDir()
	var cfg strings.Builder
	cfg.WriteString("checks:\n")
	const n = 20
	for i := range n {
		fmt.Fprintf(&cfg, "  - {name: check-%02d, url: \"%s/%d\", schedule: \"* * * * * *\"}\n", i, shop.URL, i)
	}
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	writeFile(t, cfgPath, cfg.String())

	type proc struct {
		cmd   *exec.Cmd
		store string
		addr  string
	}
	var procs []proc
	for i := range 2 {
		p := proc{store: filepath.Join(dir, fmt.Sprintf("shard-%d.db", i)), addr: freePort(t)}
		args := []string{"run", "--config", cfgPath, "--store", p.store, "--listen", p.addr, "--log-level", "warn"}
		p.cmd = exec.Command(bin, args...)
		if i == 0 {
			p.cmd.Args = append(p.cmd.Args, "--shard", "0/2")
		} else {
			// The second takes its shard from the environment, as a
			// StatefulSet's pods do.
			p.cmd.Env = append(p.cmd.Environ(), "STOREPROBE_SHARD=1/2")
		}
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer p.cmd.Process.Kill()
		procs = append(procs, p)
	}
	for i, p := range procs {
		var body string
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			resp, err := http.Get("http://" + p.addr + "/healthz")
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				body = string(b)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard %d never answered /healthz: %v", i, err)
			}
		}
		if want := fmt.Sprintf(`"shard":"%d/2"`, i); !strings.Contains(body, want) || !strings.Contains(body, `"checks_in_config":20`) {
			t.Errorf("shard %d /healthz %s, want %s and checks_in_config 20", i, body, want)
		}
	}
	// Until every check of each shard has run once: /metrics has a
	// check_up series per check with a run.
	for i, p := range procs {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get("http://" + p.addr + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			var h struct{ Checks int }
			json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			resp, err = http.Get("http://" + p.addr + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			m, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if h.Checks > 0 && strings.Count(string(m), "storeprobe_check_up{") == h.Checks {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("shard %d: not every check ran within 30s", i)
			}
		}
	}
	owner := map[string]int{}
	for i, p := range procs {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("shard %d: %v", i, err)
		}
		s, err := sqlite.Open(context.Background(), p.store, sqlite.MustExist())
		if err != nil {
			t.Fatal(err)
		}
		names, err := s.RunCheckNames(context.Background(), probe.RunQuery{})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			if prev, dup := owner[name]; dup {
				t.Errorf("%s ran on shard %d and shard %d", name, prev, i)
			}
			owner[name] = i
		}
		if len(names) == 0 || len(names) == n {
			t.Errorf("shard %d ran %d of %d checks: not a split", i, len(names), n)
		}
	}
	if len(owner) != n {
		t.Errorf("the shards ran %d distinct checks, want all %d", len(owner), n)
	}
}
