package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

func openStore(t testing.TB, path string) *sqlite.Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "storeprobe.db")
	}
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func saveAll(t testing.TB, st *sqlite.Store, runs []probe.Run) {
	t.Helper()
	for _, r := range runs {
		if _, err := st.Save(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func newShipper(t testing.TB, srv *influxtest.Server, ob Outbox, batch int) *Shipper {
	t.Helper()
	s, err := NewShipper(ShipperOptions{
		URL: srv.URL, Bucket: srv.Bucket, BatchSize: batch, Outbox: ob,
		Logger:     slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError})),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, RequestTimeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// expectCounts is how many points of each measurement runs make.
func expectCounts(runs []probe.Run) map[string]int64 {
	out := map[string]int64{}
	for _, r := range runs {
		for _, p := range Points(r) {
			out[p.Measurement]++
		}
	}
	return out
}

// countField is a field every point of the measurement carries.
var countField = map[string]string{
	MeasurementCheckResult: "ok", MeasurementCheckAttempt: "ok", MeasurementHTTPCheck: "total_ms", MeasurementHTTPOrigin: "total_ms",
	MeasurementBrowserPage: "load_ms", MeasurementJourneyStep: "duration_ms", MeasurementProbeHealth: "runs",
}

func assertCounts(t *testing.T, srv *influxtest.Server, want map[string]int64) {
	t.Helper()
	for m, n := range want {
		got, err := srv.Count(context.Background(), m, countField[m], "")
		if err != nil {
			t.Fatalf("count %s: %v", m, err)
		}
		if got != n {
			t.Errorf("%s: %d points in InfluxDB, want %d", m, got, n)
		}
	}
}

func depth(t testing.TB, st *sqlite.Store) int64 {
	t.Helper()
	s, err := st.OutboxStats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s.Depth
}

// TestRoundTripFieldTypes ships every measurement through a real store and
// a real influxd and reads the field types back, via InfluxQL and via Flux.
func TestRoundTripFieldTypes(t *testing.T) {
	srv := influxtest.Start(t)
	st := openStore(t, "")
	runs := fixtureRuns(time.Now().UTC().Add(-time.Hour).Truncate(time.Second))
	saveAll(t, st, runs)
	sh := newShipper(t, srv, st, 1000)
	ctx := context.Background()
	n, err := sh.Flush(ctx)
	if err != nil || n != len(runs) {
		t.Fatalf("Flush = %d, %v; want %d runs", n, err, len(runs))
	}
	health := Health{Location: "eu-west", Probe: "eu-west-1", At: time.Now().UTC().Truncate(time.Second),
		LagP99MS: 12, OutboxDepth: 0, Runs: 4}
	if err := sh.WriteHealth(ctx, health); err != nil {
		t.Fatal(err)
	}
	if d := depth(t, st); d != 0 {
		t.Errorf("outbox depth %d after a successful flush", d)
	}
	want := expectCounts(runs)
	want[MeasurementProbeHealth] = 1
	assertCounts(t, srv, want)

	// Expected InfluxDB type of every field, from the points themselves.
	influxType := map[string]string{"float64": "float", "int64": "integer", "bool": "boolean", "string": "string"}
	wantTypes := map[string]map[string]string{}
	for _, p := range append(pointsOf(runs), HealthPoint(health)) {
		if wantTypes[p.Measurement] == nil {
			wantTypes[p.Measurement] = map[string]string{}
		}
		for _, f := range p.Fields {
			wantTypes[p.Measurement][f.Key] = influxType[fmt.Sprintf("%T", f.Value)]
		}
	}
	for m, fields := range wantTypes {
		series, err := srv.Query(ctx, "SHOW FIELD KEYS FROM "+m)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, s := range series {
			for _, v := range s.Values {
				got[v[0].(string)] = v[1].(string)
			}
		}
		for k, ty := range fields {
			if got[k] != ty {
				t.Errorf("InfluxQL: %s.%s is %q, want %s", m, k, got[k], ty)
			}
		}
		if len(got) != len(fields) {
			t.Errorf("InfluxQL: %s has fields %v, want %v", m, got, fields)
		}
	}

	// Flux through the client library's query API: Go types of _value.
	qc := influxdb2.NewClient(srv.URL, "")
	defer qc.Close()
	goType := map[string]string{"float": "float64", "integer": "int64", "boolean": "bool", "string": "string"}
	res, err := qc.QueryAPI("").Query(ctx, fmt.Sprintf(`from(bucket: %q) |> range(start: -1d)`, srv.Bucket))
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for res.Next() {
		r := res.Record()
		want := goType[wantTypes[r.Measurement()][r.Field()]]
		if got := fmt.Sprintf("%T", r.Value()); got != want {
			t.Errorf("Flux: %s.%s is %s, want %s", r.Measurement(), r.Field(), got, want)
		}
		seen++
	}
	if res.Err() != nil {
		t.Fatal(res.Err())
	}
	if seen == 0 {
		t.Fatal("Flux returned no records")
	}
	// One value, end to end: the HTTP run's final duration.
	series, err := srv.Query(ctx, `SELECT duration_ms, attempts, lag_ms FROM check_result WHERE "check" = 'home'`)
	if err != nil || len(series) != 1 || len(series[0].Values) != 1 {
		t.Fatalf("check_result of home: %v, %v", series, err)
	}
	row := series[0].Values[0]
	if row[1].(json.Number).String() != "412.25" || row[2].(json.Number).String() != "2" || row[3].(json.Number).String() != "12.25" {
		t.Errorf("check_result home = %v, want duration 412.25, attempts 2, lag 12.25", row)
	}
	if s := sh.Stats(); s.ShippedRuns != int64(len(runs)) || s.ShippedPoints != countAll(want)-1 || s.RejectedPoints != 0 {
		t.Errorf("stats %+v", s)
	}
}

func pointsOf(runs []probe.Run) []Point {
	var out []Point
	for _, r := range runs {
		out = append(out, Points(r)...)
	}
	return out
}

func countAll(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// TestOutage: runs stored while InfluxDB is down (not started, then the
// database missing, then stopped mid-life) all arrive exactly once.
func TestOutage(t *testing.T) {
	ctx := context.Background()
	srv := influxtest.New(t) // down
	st := openStore(t, "")
	end := time.Now().UTC().Add(-time.Minute)
	runs := influxtest.SampleRuns(end.Add(-time.Hour), 10)
	saveAll(t, st, runs)
	sh := newShipper(t, srv, st, 25)

	if n, err := sh.Flush(ctx); err == nil || n != 0 {
		t.Fatalf("Flush with InfluxDB down = %d, %v; want an error and nothing shipped", n, err)
	}
	if d := depth(t, st); d != int64(len(runs)) {
		t.Fatalf("outbox depth %d after a failed flush, want %d", d, len(runs))
	}
	srv.Start()
	// Up, but the database does not exist yet: InfluxDB answers 404; that is
	// not the points' fault, so nothing may be rejected.
	if _, err := sh.Flush(ctx); err == nil {
		t.Fatal("Flush into a missing database succeeded")
	}
	if s := sh.Stats(); s.RejectedPoints != 0 || depth(t, st) != int64(len(runs)) {
		t.Fatalf("missing database: rejected %d, depth %d", s.RejectedPoints, depth(t, st))
	}
	srv.CreateDB(srv.DB)
	if n, err := sh.Flush(ctx); err != nil || n != len(runs) {
		t.Fatalf("Flush after recovery = %d, %v; want %d", n, err, len(runs))
	}

	// A second outage: stop, store more, fail, restart, ship.
	srv.Stop()
	more := influxtest.SampleRuns(end, 5)
	saveAll(t, st, more)
	if _, err := sh.Flush(ctx); err == nil {
		t.Fatal("Flush with InfluxDB stopped succeeded")
	}
	srv.Start()
	if n, err := sh.Flush(ctx); err != nil || n != len(more) {
		t.Fatalf("Flush after restart = %d, %v; want %d", n, err, len(more))
	}
	all := append(runs, more...)
	assertCounts(t, srv, expectCounts(all))
	if d := depth(t, st); d != 0 {
		t.Errorf("outbox depth %d, want 0", d)
	}
}

// TestRunLoopBacksOffAndRecovers: the Run loop keeps retrying with backoff
// while InfluxDB is down and drains the outbox once it is up.
func TestRunLoopBacksOffAndRecovers(t *testing.T) {
	srv := influxtest.New(t)
	st := openStore(t, "")
	runs := influxtest.SampleRuns(time.Now().UTC().Add(-time.Minute), 3)
	saveAll(t, st, runs)
	sh := newShipper(t, srv, st, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor(t, 10*time.Second, func() bool { return sh.Stats().Retries >= 3 })
	srv.Start()
	srv.CreateDB(srv.DB)
	waitFor(t, 30*time.Second, func() bool { return depth(t, st) == 0 })
	assertCounts(t, srv, expectCounts(runs))
	s := sh.Stats()
	if s.LastError == "" || s.ShippedRuns != int64(len(runs)) {
		t.Errorf("stats after recovery: %+v", s)
	}
}

func waitFor(t testing.TB, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// failingAck wraps the real store and loses the first n Acks, as a crash
// between InfluxDB's acknowledgement and the outbox update would.
type failingAck struct {
	*sqlite.Store
	left atomic.Int32
}

func (f *failingAck) Ack(ctx context.Context, seqs ...int64) error {
	if f.left.Add(-1) >= 0 {
		return errors.New("injected: crashed before ack")
	}
	return f.Store.Ack(ctx, seqs...)
}

// TestResendAfterLostAckDoesNotDuplicate: points written but not acked are
// written again and overwrite themselves.
func TestResendAfterLostAckDoesNotDuplicate(t *testing.T) {
	srv := influxtest.Start(t)
	st := openStore(t, "")
	runs := influxtest.SampleRuns(time.Now().UTC().Add(-time.Minute), 5)
	saveAll(t, st, runs)
	ob := &failingAck{Store: st}
	ob.left.Store(2)
	sh := newShipper(t, srv, ob, 40)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if _, err := sh.Flush(ctx); err == nil {
			t.Fatal("Flush with a lost ack reported success")
		}
	}
	if n, err := sh.Flush(ctx); err != nil || n != len(runs) {
		t.Fatalf("Flush = %d, %v; want %d", n, err, len(runs))
	}
	assertCounts(t, srv, expectCounts(runs))
}

const childEnv = "STOREPROBE_INFLUX_SHIP_CHILD"

// TestKill9MidFlush re-executes this test binary as a shipper, SIGKILLs it
// while it is shipping, then ships the rest from the same store: every run
// arrives, none twice.
func TestKill9MidFlush(t *testing.T) {
	srv := influxtest.Start(t)
	dir := t.TempDir()
	storePath := filepath.Join(dir, "storeprobe.db")
	st := openStore(t, storePath)
	runs := influxtest.SampleRuns(time.Now().UTC().Add(-time.Minute), 250) // 2000 runs
	saveAll(t, st, runs)
	total := int64(len(runs))

	cmd := exec.Command(os.Args[0], "-test.run=^TestShipChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+storePath+"|"+srv.URL+"|"+srv.Bucket)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once the child has shipped something but is not done.
	var shipped int64
	deadline := time.Now().Add(60 * time.Second)
	for {
		n, err := srv.Count(context.Background(), MeasurementCheckResult, "ok", "")
		if err == nil && n > total/10 {
			shipped = n
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("child shipped nothing in 60s:\n%s", out)
		}
		time.Sleep(5 * time.Millisecond)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	left := depth(t, st)
	t.Logf("killed the shipper with %d of %d runs' check_result in InfluxDB and %d runs still queued", shipped, total, left)
	if left == 0 {
		t.Fatalf("the child finished before it was killed; the test proved nothing:\n%s", out)
	}
	if left > total-shipped+int64(2*defaultKillBatch) {
		t.Errorf("outbox holds %d runs, but only %d were unshipped", left, total-shipped)
	}

	sh := newShipper(t, srv, st, 500)
	if _, err := sh.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertCounts(t, srv, expectCounts(runs))
}

const defaultKillBatch = 40

// TestShipChild is the child process of TestKill9MidFlush.
func TestShipChild(t *testing.T) {
	env := os.Getenv(childEnv)
	if env == "" {
		t.Skip("child of TestKill9MidFlush only")
	}
	parts := strings.Split(env, "|")
	st, err := sqlite.Open(context.Background(), parts[0])
	if err != nil {
		t.Fatal(err)
	}
	sh, err := NewShipper(ShipperOptions{URL: parts[1], Bucket: parts[2], BatchSize: defaultKillBatch, Outbox: st})
	if err != nil {
		t.Fatal(err)
	}
	n, err := sh.Flush(context.Background())
	t.Logf("child shipped %d runs: %v", n, err)
}

// TestPoisonedPointIsIsolated: a field-type conflict rejects one point; it is
// isolated by bisection, parked in the store with InfluxDB's reason, counted
// and logged, and every other point — of its own run too — arrives.
func TestPoisonedPointIsIsolated(t *testing.T) {
	srv := influxtest.Start(t)
	st := openStore(t, "")
	ctx := context.Background()
	now := time.Now().UTC()
	runs := influxtest.SampleRuns(now.Add(-time.Minute), 6)

	// The poisoned run sits in a shard of its own (a year ago), where
	// check_result.duration_ms already exists as a string.
	old := now.AddDate(-1, 0, 0).Truncate(time.Second)
	poison := fixtureRuns(old)[0]
	pre := fmt.Sprintf(`check_result,check=legacy duration_ms="slow" %d`, old.Add(-time.Hour).UnixNano())
	if err := writeRaw(srv, pre); err != nil {
		t.Fatal(err)
	}
	mixed := append(append(append([]probe.Run{}, runs[:len(runs)/2]...), poison), runs[len(runs)/2:]...)
	saveAll(t, st, mixed)

	var logs strings.Builder
	sh, err := NewShipper(ShipperOptions{URL: srv.URL, Bucket: srv.Bucket, BatchSize: 1000, Outbox: st,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	n, err := sh.Flush(ctx)
	if err != nil || n != len(mixed) {
		t.Fatalf("Flush = %d, %v; want all %d runs done", n, err, len(mixed))
	}
	rej, err := st.Rejected(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rej) != 1 {
		t.Fatalf("%d rejected points, want exactly the poisoned one: %+v", len(rej), rej)
	}
	if !strings.HasPrefix(rej[0].Line, "check_result,") || !strings.Contains(rej[0].Line, strconv.FormatInt(old.UnixNano(), 10)) ||
		!strings.Contains(rej[0].Reason, "field type conflict") {
		t.Errorf("rejected %+v, want the poisoned check_result with a field type conflict", rej[0])
	}
	if s := sh.Stats(); s.RejectedPoints != 1 || s.RejectedPointsTotal != 1 || s.OutboxDepth != 0 {
		t.Errorf("stats %+v, want 1 rejected and an empty outbox", s)
	}
	if !strings.Contains(logs.String(), "points rejected") || !strings.Contains(logs.String(), "field type conflict") {
		t.Errorf("the rejection was not logged:\n%s", logs.String())
	}
	// Everything else arrived, including the poisoned run's other points.
	want := expectCounts(mixed)
	want[MeasurementCheckResult]-- // the poisoned point
	for m, n := range want {
		where := ""
		if m == MeasurementCheckResult {
			where = `"check" != 'legacy'` // the pre-written conflicting point has no "ok"
		}
		got, err := srv.Count(ctx, m, countField[m], where)
		if err != nil || got != n {
			t.Errorf("%s: %d points, %v; want %d", m, got, err, n)
		}
	}
	// Shipping again neither re-rejects nor re-counts.
	if n, err := sh.Flush(ctx); err != nil || n != 0 {
		t.Errorf("second Flush = %d, %v", n, err)
	}
}

func writeRaw(srv *influxtest.Server, lines string) error {
	c := influxdb2.NewClient(srv.URL, "")
	defer c.Close()
	return c.WriteAPIBlocking("", srv.Bucket).WriteRecord(context.Background(), lines)
}

// TestOutboxCapIsLoudAndCounted: overflow drops the oldest runs from the
// outbox (not the store), logs at error level and counts them.
func TestOutboxCapIsLoudAndCounted(t *testing.T) {
	srv := influxtest.New(t) // down: nothing ships
	st := openStore(t, "")
	runs := influxtest.SampleRuns(time.Now().UTC(), 5) // 40 runs
	saveAll(t, st, runs)
	var logs strings.Builder
	sh, err := NewShipper(ShipperOptions{URL: srv.URL, Bucket: srv.Bucket, Outbox: st, MaxOutboxRows: 30,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if _, err := sh.Flush(context.Background()); err == nil {
		t.Fatal("Flush with InfluxDB down succeeded")
	}
	s := sh.Stats()
	if s.DroppedRuns != 10 || s.DroppedRunsTotal != 10 || s.OutboxDepth != 30 {
		t.Errorf("stats %+v, want 10 dropped, 30 queued", s)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "dropped_runs=10") {
		t.Errorf("overflow not logged loudly:\n%s", logs.String())
	}
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want errKind
	}{
		{"connection refused", errors.New("dial tcp: connection refused"), errTransient},
		{"503", herr(503, "service unavailable"), errTransient},
		{"429", herr(429, "too many requests"), errTransient},
		{"401", herr(401, "unauthorized access"), errTransient},
		{"404 db", herr(404, "database not found: \"x\""), errTransient},
		{"400 bucket", herr(400, "bucket not found"), errTransient},
		{"400 conflict", herr(400, `partial write: field type conflict: input field "duration_ms" on measurement "check_result" is type float, already exists as type string dropped=1`), errPoints},
		{"400 parse", herr(400, `unable to parse 'x': missing fields`), errPoints},
		{"422 2.x", herr(422, "failure writing points to database: partial write: field type conflict"), errPoints},
		{"413", herr(413, "request too large"), errTooLarge},
		{"wrapped", fmt.Errorf("influx: write: %w", herr(400, "unable to parse")), errPoints},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("%s: classify = %d, want %d", tc.name, got, tc.want)
		}
	}
}

func herr(code int, msg string) error {
	return &influxhttp.Error{StatusCode: code, Code: "invalid", Message: msg}
}

// TestServerErrorsAndLostResponses puts a proxy in front of the real influxd
// that first answers 503 (Retry-After) without writing, then writes but
// answers 504 as if the response were lost, then passes through: every run
// arrives exactly once, nothing is rejected, the failures are counted as
// retries.
func TestServerErrorsAndLostResponses(t *testing.T) {
	srv := influxtest.Start(t)
	target, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	var writes atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v2/write" {
			proxy.ServeHTTP(w, r)
			return
		}
		switch n := writes.Add(1); {
		case n <= 2:
			w.Header().Set("Retry-After", "1")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"code":"unavailable","message":"overloaded"}`))
		case n <= 4:
			rec := httptest.NewRecorder()
			proxy.ServeHTTP(rec, r) // written...
			w.WriteHeader(http.StatusGatewayTimeout)
			_, _ = w.Write([]byte("upstream timed out")) // ...but the answer is lost
		default:
			proxy.ServeHTTP(w, r)
		}
	}))
	defer front.Close()

	st := openStore(t, "")
	runs := influxtest.SampleRuns(time.Now().UTC().Add(-time.Minute), 10)
	saveAll(t, st, runs)
	sh, err := NewShipper(ShipperOptions{URL: front.URL, Bucket: srv.Bucket, BatchSize: 100, Outbox: st,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sh.Run(ctx) }()
	waitFor(t, 30*time.Second, func() bool { return depth(t, st) == 0 })
	cancel()
	<-done

	assertCounts(t, srv, expectCounts(runs))
	s := sh.Stats()
	if s.Retries < 4 || s.RejectedPoints != 0 || s.ShippedRuns != int64(len(runs)) {
		t.Errorf("stats %+v: want ≥ 4 retries, nothing rejected, %d runs shipped", s, len(runs))
	}
}

// TestBackoff: exponential, jittered within [d/2, d], capped, and never
// shorter than the server's Retry-After (itself capped).
func TestBackoff(t *testing.T) {
	sh := &Shipper{opt: ShipperOptions{MinBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second}}
	plain := errors.New("connection refused")
	for _, tc := range []struct {
		n        int
		err      error
		min, max time.Duration
	}{
		{1, plain, 50 * time.Millisecond, 100 * time.Millisecond},
		{2, plain, 100 * time.Millisecond, 200 * time.Millisecond},
		{4, plain, 400 * time.Millisecond, 800 * time.Millisecond},
		{30, plain, time.Second, 2 * time.Second},
		{1, &influxhttp.Error{StatusCode: 503, RetryAfter: 1}, time.Second, time.Second},
		{1, &influxhttp.Error{StatusCode: 429, RetryAfter: 3600}, 2 * time.Second, 2 * time.Second},
	} {
		for i := 0; i < 50; i++ {
			if d := sh.backoff(tc.n, tc.err); d < tc.min || d > tc.max {
				t.Fatalf("backoff(%d, %v) = %v, want in [%v, %v]", tc.n, tc.err, d, tc.min, tc.max)
			}
		}
	}
}

// TestDefaultBackoffResumesWithinAMinute: after an hour-long outage the
// next attempt comes within a minute of InfluxDB's return.
func TestDefaultBackoffResumesWithinAMinute(t *testing.T) {
	sh, err := NewShipper(ShipperOptions{URL: "http://127.0.0.1:1", Bucket: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	for i := 0; i < 50; i++ {
		if d := sh.backoff(1000, errors.New("connection refused")); d > time.Minute || d < 30*time.Second {
			t.Fatalf("backoff after 1000 failures = %v, want within [30s, 1m]", d)
		}
	}
}
