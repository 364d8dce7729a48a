package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// results are the metrics of every benchmark that printed a result line,
// keyed by its name without the -GOMAXPROCS suffix, and why the others
// were skipped or failed.
type results struct {
	machine *machine // from a log's machine line
	metrics map[string]map[string]float64
	skipped map[string]string // benchmark -> reason
	failed  map[string]string // benchmark -> reason
	// itemFailed are go test runs that failed as a whole.
	itemFailed []itemFailure
}

func newResults() *results {
	return &results{metrics: map[string]map[string]float64{}, skipped: map[string]string{}, failed: map[string]string{}}
}

// resultLine is a benchmark's result: name-P, iterations, then value unit
// pairs.
var resultLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+(.*)$`)

// statusLine is go test's verdict on a (sub-)benchmark, whose messages
// follow, indented.
var statusLine = regexp.MustCompile(`^\s*--- (SKIP|FAIL): (Benchmark\S+)`)

// parse reads go test -v -bench output.
func (r *results) parse(out string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	var status, name string
	var msg []string
	flush := func() {
		if name == "" {
			return
		}
		reason := strings.Join(msg, " ")
		if reason == "" {
			reason = "no message"
		}
		if status == "SKIP" {
			r.skipped[name] = reason
		} else {
			r.failed[name] = reason
		}
		status, name, msg = "", "", nil
	}
	for sc.Scan() {
		line := sc.Text()
		if js, ok := strings.CutPrefix(line, machineLinePrefix); ok {
			var m machine
			if json.Unmarshal([]byte(js), &m) == nil {
				r.machine = &m
			}
			continue
		}
		if m := statusLine.FindStringSubmatch(line); m != nil {
			flush()
			status, name = m[1], stripProcs(m[2])
			continue
		}
		if name != "" && strings.HasPrefix(line, "    ") {
			// "    file_test.go:12: message": keep the message.
			text := strings.TrimSpace(line)
			if _, after, ok := strings.Cut(text, ": "); ok && strings.Contains(text[:strings.Index(text, ": ")], "_test.go:") {
				text = after
			}
			msg = append(msg, text)
			continue
		}
		flush()
		m := resultLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		fields := strings.Fields(m[2])
		ms := r.metrics[m[1]]
		if ms == nil {
			ms = map[string]float64{}
			r.metrics[m[1]] = ms
		}
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			ms[fields[i+1]] = v
		}
	}
	flush()
}

func stripProcs(name string) string {
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			return name[:i]
		}
	}
	return name
}

// fail records that an item's go test failed (it did not build, timed out,
// or a benchmark failed): every benchmark its pattern names has failed,
// unless it reported a result first.
func (r *results) fail(it item, err error, out string) {
	first, _, _ := strings.Cut(it.bench, "/")
	re, rerr := regexp.Compile(first)
	if rerr != nil {
		re = regexp.MustCompile("^$")
	}
	tail := strings.TrimSpace(out)
	if len(tail) > 300 {
		tail = "…" + tail[len(tail)-300:]
	}
	r.itemFailed = append(r.itemFailed, itemFailure{re, fmt.Sprintf("%s: %v: %s", it.name, err, strings.ReplaceAll(tail, "\n", " "))})
}

// itemFailure is a go test that failed, with the pattern of the benchmarks
// it ran.
type itemFailure struct {
	top    *regexp.Regexp // matches the top-level benchmarks it ran
	reason string
}

// failures counts what failed: benchmarks and whole go test runs.
func (r *results) failures() int { return len(r.failed) + len(r.itemFailed) }

// get returns a metric of a benchmark.
func (r *results) get(bench, unit string) (float64, bool) {
	v, ok := r.metrics[bench][unit]
	return v, ok
}

// why says why bench has no result: the reason of the closest skipped or
// failed benchmark above it (a parent's skip covers its children).
func (r *results) why(bench string) (string, bool) {
	for name := bench; name != ""; {
		if s, ok := r.failed[name]; ok {
			return "failed: " + s, false
		}
		if s, ok := r.skipped[name]; ok {
			return "skipped: " + s, true
		}
		i := strings.LastIndexByte(name, '/')
		if i < 0 {
			break
		}
		name = name[:i]
	}
	top, _, _ := strings.Cut(bench, "/")
	for _, f := range r.itemFailed {
		if f.top.MatchString(top) {
			return "failed: " + f.reason, false
		}
	}
	// Nothing said why: the benchmark is missing from the log (renamed, or
	// its -bench pattern matches nothing), which is the harness's fault,
	// not a peer that could not be installed.
	return "not run: no result in the log", false
}

// quick tells whether the results are of make bench-quick, which measures
// fewer sizes and levels.
func (r *results) quick() bool { return r.machine != nil && r.machine.Mode == "quick" }

// machine is where and how the run happened. It is written into the run's
// log (machineLinePrefix), so a table rebuilt from the log says the same.
type machine struct {
	Mode       string        `json:"mode"`
	Date       string        `json:"date"`
	Cores      int           `json:"cores"`
	CPU        string        `json:"cpu"`
	Kernel     string        `json:"kernel"`
	Commit     string        `json:"commit"`
	LoadBefore string        `json:"load_before"`
	LoadAfter  string        `json:"load_after"`
	Peers      []string      `json:"peers"` // "curl: curl 7.88.1", ...
	Took       time.Duration `json:"took_ns"`
}

// machineLinePrefix starts the log's line holding the machine as JSON.
const machineLinePrefix = "# storeprobe-bench machine: "

func describeMachine(mode string) machine {
	m := machine{Mode: mode, Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), Cores: runtime.NumCPU(),
		LoadBefore: loadAverage()}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(data))
	}
	m.Commit = firstLine("git", "describe", "--always", "--dirty")
	for _, p := range []struct {
		name string
		argv []string
	}{
		{"curl", []string{"curl", "--version"}},
		{"blackbox_exporter", []string{envOr("BLACKBOX_EXPORTER", "/usr/bin/prometheus-blackbox-exporter"), "--version"}},
		{"Lighthouse", []string{os.Getenv("LIGHTHOUSE"), "--version"}},
		{"Node", []string{"node", "--version"}},
		{"Chromium", []string{envOr("CHROMIUM", "/usr/bin/chromium"), "--version"}},
	} {
		if v := versionLine(p.argv...); v != "" {
			m.Peers = append(m.Peers, p.name+": "+v)
		} else {
			m.Peers = append(m.Peers, p.name+": not installed")
		}
	}
	return m
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// firstLine is the first line a command prints, or "" if it cannot run.
func firstLine(argv ...string) string {
	lines := outputLines(argv...)
	if len(lines) == 0 {
		return ""
	}
	return lines[0]
}

// versionLine is the first line of a --version that holds a version number,
// cut after that number (curl lists its libraries after it; Debian's
// chromium wrapper may print a shell warning first).
func versionLine(argv ...string) string {
	for _, line := range outputLines(argv...) {
		f := strings.Fields(line)
		for i, w := range f {
			if versionNumber.MatchString(w) {
				return strings.Join(f[:i+1], " ")
			}
		}
	}
	return ""
}

var versionNumber = regexp.MustCompile(`^v?\d+\.\d+`)

// outputLines are what a command prints on stdout and stderr (the exporter
// prints its version on stderr), or nil if it cannot run.
func outputLines(argv ...string) []string {
	if len(argv) == 0 || argv[0] == "" {
		return nil
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return nil
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
