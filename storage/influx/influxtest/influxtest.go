// Package influxtest starts a real influxd 1.8 for tests: its own config in
// a temporary directory, free loopback ports, Flux enabled, auth off, and a
// database created. Servers can be stopped and started again on the same
// directories and port to stage outages.
//
// Every test that starts influxd goes through Find or Require, so they all
// follow one rule (the same as probe/browser/browsertest's for Chromium):
//
//   - With -short, tests that start influxd are skipped.
//   - The binary is $INFLUXD (STOREPROBE_INFLUXD is an older name for it,
//     read when INFLUXD is unset or empty), else $GOPATH/bin/influxd (where
//     `make deps` installs it; GOPATH as `go env GOPATH` reports it when
//     unset), else influxd on $PATH. An $INFLUXD that is not an executable
//     file counts as missing: it is never swapped for the default, so a test
//     runs the influxd it was given or none.
//   - When the binary is missing, the test fails if
//     STOREPROBE_REQUIRE_INFLUXD is set to any non-empty value (`make test`
//     sets it, so CI cannot pass without the influxd tests having run), and
//     is skipped otherwise. Both messages name the variables and `make deps`.
package influxtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/componenttest"
)

// DefaultDB is the database Start creates; write to it as bucket DB+"/autogen".
const DefaultDB = "storeprobe"

// Server is one influxd process owned by a test.
type Server struct {
	URL    string // http://127.0.0.1:PORT
	DB     string
	Bucket string // DB/autogen, the v2-API bucket name of the default RP
	Dir    string

	t       testing.TB
	bin     string
	config  string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// The variables the rule reads; the Makefile passes exactly these.
const (
	PathVar      = "INFLUXD"
	PathVarAlias = "STOREPROBE_INFLUXD" // the older name, read when INFLUXD is unset
	RequireVar   = "STOREPROBE_REQUIRE_INFLUXD"
)

// Result is the rule's verdict. Exactly one field is set: Path when there is
// an influxd to start, else Skip or Fail with the message to report.
type Result = componenttest.Result

// component is influxd under the repository's one rule for components:
// $INFLUXD (or its older name), else where `make deps` builds it, else $PATH.
func component() componenttest.Component {
	return componenttest.Component{Name: "influxd", PathVar: PathVar, OlderVars: []string{PathVarAlias}, RequireVar: RequireVar,
		Install: "builds influxd 1.8.10 into $GOPATH/bin",
		Defaults: func(getenv func(string) string) []string {
			out := componenttest.InGOPATH("influxd")(getenv)
			for _, dir := range filepath.SplitList(getenv("PATH")) {
				if dir != "" {
					out = append(out, filepath.Join(dir, "influxd"))
				}
			}
			return out
		}}
}

// Find applies the rule to this process's environment and flags, for a
// TestMain that has no testing.TB.
func Find() Result { return component().Find() }

// Require returns the path of the influxd to start, or skips or fails t as
// the rule says.
func Require(t testing.TB) string {
	t.Helper()
	return apply(t, Find())
}

func apply(tb testing.TB, r Result) string {
	tb.Helper()
	return componenttest.Apply(tb, r)
}

// lookup is the rule over an environment lookup and the -short flag.
func lookup(getenv func(string) string, short bool) Result { return component().Lookup(getenv, short) }

// Start launches a fresh influxd and creates DefaultDB. It is stopped when
// the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := New(t)
	s.Start()
	s.CreateDB(s.DB)
	return s
}

// New prepares a server (config, directories, ports) without starting it,
// for tests that begin with InfluxDB down. Call Start, then CreateDB.
func New(t testing.TB) *Server {
	t.Helper()
	bin := Require(t)
	dir := t.TempDir()
	httpPort, rpcPort := freePort(t), freePort(t)
	s := &Server{
		URL: "http://" + httpPort, DB: DefaultDB, Bucket: DefaultDB + "/autogen", Dir: dir,
		t: t, bin: bin, config: filepath.Join(dir, "influxdb.conf"), logPath: filepath.Join(dir, "influxd.log"),
	}
	conf := fmt.Sprintf(`reporting-disabled = true
bind-address = %q
[meta]
  dir = %q
  logging-enabled = false
[data]
  dir = %q
  wal-dir = %q
  query-log-enabled = false
  wal-fsync-delay = "0s"
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[retention]
  enabled = false
[http]
  enabled = true
  bind-address = %q
  auth-enabled = false
  log-enabled = false
  flux-enabled = true
  pprof-enabled = false
[logging]
  level = "warn"
`, rpcPort, filepath.Join(dir, "meta"), filepath.Join(dir, "data"), filepath.Join(dir, "wal"), httpPort)
	if err := os.WriteFile(s.config, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Start starts (or restarts, on the same data and port) the process and
// waits until /ping answers.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		s.t.Fatal("influxtest: already running")
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.t.Fatal(err)
	}
	cmd := exec.Command(s.bin, "-config", s.config)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "INFLUXDB_DATA_INDEX_VERSION=inmem")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.t.Fatalf("start influxd: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			s.cmd = nil
			s.t.Fatalf("influxd exited during startup:\n%s", s.logTail())
		default:
		}
		if s.ping() == nil {
			return
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("influxd not ready after 30s:\n%s", s.logTail())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *Server) ping() error {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(s.URL + "/ping")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("ping: %s", resp.Status)
	}
	return nil
}

// Stop sends SIGTERM and waits for the process to exit (SIGKILL after 15 s).
// Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.cmd = nil
}

// Running reports whether the process is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

func (s *Server) logTail() string {
	b, _ := os.ReadFile(s.logPath)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// CreateDB runs CREATE DATABASE.
func (s *Server) CreateDB(name string) {
	s.t.Helper()
	if _, err := s.Query(context.Background(), "CREATE DATABASE "+quoteIdent(name)); err != nil {
		s.t.Fatal(err)
	}
}

// Series is one series of an InfluxQL result.
type Series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// Query runs InfluxQL statements against DB through /query and returns the
// series of every statement, in order. Numbers decode as json.Number.
func (s *Server) Query(ctx context.Context, q string) ([]Series, error) {
	form := url.Values{"q": {q}, "db": {s.DB}, "epoch": {"ns"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influxql %q: %w", q, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []struct {
			Series []Series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("influxql %q: %s: %s", q, resp.Status, body)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("influxql %q: %s", q, out.Error)
	}
	var series []Series
	for _, r := range out.Results {
		if r.Error != "" {
			return nil, fmt.Errorf("influxql %q: %s", q, r.Error)
		}
		series = append(series, r.Series...)
	}
	return series, nil
}

// Count returns SELECT count(field) FROM measurement over all time: the
// number of points that carry field.
func (s *Server) Count(ctx context.Context, measurement, field string, where string) (int64, error) {
	q := fmt.Sprintf("SELECT count(%s) FROM %s", quoteIdent(field), quoteIdent(measurement))
	if where != "" {
		q += " WHERE " + where
	}
	series, err := s.Query(ctx, q)
	if err != nil {
		return 0, err
	}
	if len(series) == 0 || len(series[0].Values) == 0 {
		return 0, nil
	}
	n, ok := series[0].Values[0][1].(json.Number)
	if !ok {
		return 0, fmt.Errorf("count: unexpected value %v", series[0].Values[0])
	}
	return n.Int64()
}

// Flux runs a Flux query through /api/v2/query and returns the annotated
// CSV InfluxDB answers with.
func (s *Server) Flux(ctx context.Context, query string) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"query": query, "type": "flux",
		"dialect": map[string]any{"header": true, "annotations": []string{"datatype", "group", "default"}},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/api/v2/query", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("flux: %w", err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("flux: %s: %s", resp.Status, bytes.TrimSpace(out))
	}
	// Errors after the header arrive in-band as a table with an "error" column.
	if bytes.Contains(out, []byte(",error,reference")) || bytes.HasPrefix(out, []byte("error")) {
		return "", fmt.Errorf("flux: %s", bytes.TrimSpace(out))
	}
	return string(out), nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
