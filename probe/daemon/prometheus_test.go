package daemon

import (
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
	"strconv"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/componenttest"
)

// prometheusBinary is the Prometheus server the scrape test starts:
// $PROMETHEUS, else Debian's package's binary.
func prometheusBinary() componenttest.Component {
	return componenttest.Component{Name: "Prometheus", PathVar: "PROMETHEUS", RequireVar: "STOREPROBE_REQUIRE_PROMETHEUS",
		Install: "installs Debian's prometheus", Defaults: componenttest.At("/usr/bin/prometheus")}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestPrometheusScrapesTheDaemon: a real Prometheus scrapes a running
// daemon's /metrics and answers a PromQL query for the p99 schedule lag
// computed from its histogram.
func TestPrometheusScrapesTheDaemon(t *testing.T) {
	bin := prometheusBinary().Require(t)
	s := shop(t)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "storeprobe.yaml")
	var checks string
	for i := range 5 {
		checks += fmt.Sprintf("  - {name: c%d, url: \"%s/%d\", schedule: \"* * * * * *\"}\n", i, s.URL, i)
	}
	writeConfig(t, cfgPath, "checks:\n"+checks)
	d, err := Start(context.Background(), Options{ConfigPath: cfgPath, StorePath: filepath.Join(dir, "s.db"),
		Listen: "127.0.0.1:0", Storage: testStorage(&events{})})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown()

	promAddr := freeAddr(t)
	promCfg := filepath.Join(dir, "prometheus.yml")
	writeConfig(t, promCfg, fmt.Sprintf(`global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: storeprobe
    static_configs: [{targets: ["%s"], labels: {location: test}}]
`, d.Addr()))
	cmd := exec.Command(bin, "--config.file="+promCfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	logf, _ := os.Create(filepath.Join(dir, "prometheus.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("prometheus log:\n%s", b)
		}
	}()

	query := `histogram_quantile(0.99, sum by (le) (rate(storeprobe_schedule_lag_seconds_bucket[30s])))`
	var last string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		resp, err := http.Get("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(query))
		if err != nil {
			last = err.Error()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		last = string(body)
		var r struct {
			Status string
			Data   struct {
				Result []struct {
					Value [2]any
				}
			}
		}
		if json.Unmarshal(body, &r) != nil || r.Status != "success" || len(r.Data.Result) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fmt.Sprint(r.Data.Result[0].Value[1]), 64)
		if err != nil || v != v { // NaN until two scrapes saw runs
			continue
		}
		// A quantile from the lag buckets: finite, and no more than the
		// largest finite bucket (60 s) on a healthy loopback probe.
		if v < 0 || v > 60 {
			t.Fatalf("p99 schedule lag %g s from the histogram", v)
		}
		t.Logf("Prometheus: p99 schedule lag %.4f s", v)
		return
	}
	t.Fatalf("no p99 lag from Prometheus within 60s; last answer: %s", last)
}
