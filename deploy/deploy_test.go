package deploy

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v3"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/storage/influx"
	"github.com/storeprobe/storeprobe/storage/influx/influxtest"
	"github.com/storeprobe/storeprobe/storage/sqlite"
)

const datasourceUID = "storeprobe-influxdb"

func loadCompose(t *testing.T) *types.Project {
	t.Helper()
	// The file must work with no .env and only the one required variable.
	p, err := loadComposeEnv(types.Mapping{"GRAFANA_ADMIN_PASSWORD": "test-only-password"})
	if err != nil {
		t.Fatalf("compose-spec loader: %v", err)
	}
	return p
}

func loadComposeEnv(env types.Mapping) (*types.Project, error) {
	wd, err := filepath.Abs(".")
	if err != nil {
		return nil, err
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  wd,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(wd, "docker-compose.yml")}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("storeprobe", true); o.ResolvePaths = true })
}

// TestComposeExposure: a copy-pasted stack must not put an auth-less
// InfluxDB, /metrics or a Grafana with a well-known password on the network.
func TestComposeExposure(t *testing.T) {
	if _, err := loadComposeEnv(types.Mapping{}); err == nil || !strings.Contains(err.Error(), "GRAFANA_ADMIN_PASSWORD") {
		t.Errorf("compose loads without GRAFANA_ADMIN_PASSWORD (err %v): Grafana would get a default admin password", err)
	}
	p := loadCompose(t)
	if v := p.Services["grafana"].Environment["GF_SECURITY_ADMIN_PASSWORD"]; v == nil || *v != "test-only-password" {
		t.Errorf("grafana admin password = %v, want the one from GRAFANA_ADMIN_PASSWORD", v)
	}
	for name, svc := range p.Services {
		for _, port := range svc.Ports {
			if port.HostIP != "127.0.0.1" {
				t.Errorf("%s publishes %d on %q, want 127.0.0.1 only", name, port.Target, port.HostIP)
			}
		}
	}
}

func TestComposeFile(t *testing.T) {
	p := loadCompose(t)
	if got := p.ServiceNames(); strings.Join(sorted(got), ",") != "grafana,influxdb,storeprobe" {
		t.Fatalf("services %v, want storeprobe, influxdb, grafana", got)
	}
	repo, _ := filepath.Abs("..")

	sp := p.Services["storeprobe"]
	if sp.Build == nil || sp.Build.Context != repo || sp.Build.Dockerfile != "Dockerfile" {
		t.Errorf("storeprobe build = %+v, want the repository's Dockerfile", sp.Build)
	}
	if _, err := os.Stat(filepath.Join(repo, "Dockerfile")); err != nil {
		t.Errorf("the repository has no Dockerfile: %v", err)
	}
	if want := "run --config /etc/storeprobe/config.yaml --listen :9090"; strings.Join(sp.Command, " ") != want {
		t.Errorf("storeprobe command %q, want %q", sp.Command, want)
	}
	if sp.DependsOn["influxdb"].Condition != types.ServiceConditionHealthy {
		t.Errorf("storeprobe should wait for a healthy influxdb: %+v", sp.DependsOn)
	}
	if sp.ShmSize < 256<<20 {
		t.Errorf("storeprobe shm_size %d: Chromium needs more than Docker's 64 MiB", sp.ShmSize)
	}
	assertMount(t, sp, "/etc/storeprobe/config.yaml", filepath.Join(repo, "deploy/storeprobe/config.yaml"), true)
	assertMount(t, sp, "/var/lib/storeprobe", "storeprobe-data", false)

	in := p.Services["influxdb"]
	if !strings.HasPrefix(in.Image, "influxdb:1.8") {
		t.Errorf("influxdb image %q, want 1.8", in.Image)
	}
	for k, want := range map[string]string{"INFLUXDB_HTTP_FLUX_ENABLED": "true", "INFLUXDB_DB": "storeprobe", "INFLUXDB_REPORTING_DISABLED": "true"} {
		if v := in.Environment[k]; v == nil || *v != want {
			t.Errorf("influxdb %s = %v, want %q", k, v, want)
		}
	}
	if in.HealthCheck == nil || len(in.HealthCheck.Test) == 0 {
		t.Error("influxdb has no healthcheck (storeprobe and grafana wait on it)")
	}
	assertMount(t, in, "/var/lib/influxdb", "influxdb-data", false)

	gr := p.Services["grafana"]
	assertMount(t, gr, "/etc/grafana/provisioning/datasources", filepath.Join(repo, "deploy/grafana/provisioning/datasources"), true)
	assertMount(t, gr, "/etc/grafana/provisioning/dashboards", filepath.Join(repo, "deploy/grafana/provisioning/dashboards"), true)
	assertMount(t, gr, dashboardsPathInGrafana(t), filepath.Join(repo, "deploy/grafana/dashboards"), true)

	// Every ${VAR} the datasource provisioning uses must be set for grafana,
	// and the probe must have the variable its config names as token_env.
	ds, err := os.ReadFile("grafana/provisioning/datasources/influxdb.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(string(ds), -1) {
		if v := gr.Environment[m[1]]; v == nil || *v == "" {
			t.Errorf("grafana: %s is used by the datasource but not set", m[1])
		}
	}
	cfg := loadProbeConfig(t, "storeprobe/config.yaml")
	if v := sp.Environment[cfg.InfluxDB.TokenEnv]; v == nil || *v == "" {
		t.Errorf("storeprobe: token_env %s is not set in the compose file", cfg.InfluxDB.TokenEnv)
	}
	if !strings.Contains(cfg.InfluxDB.URL, "//influxdb:") {
		t.Errorf("probe config ships to %s, not the compose influxdb service", cfg.InfluxDB.URL)
	}
	for _, v := range []string{"storeprobe-data", "influxdb-data", "grafana-data"} {
		if _, ok := p.Volumes[v]; !ok {
			t.Errorf("volume %s not declared", v)
		}
	}
}

func sorted(s []string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }

func assertMount(t *testing.T, s types.ServiceConfig, target, source string, readOnly bool) {
	t.Helper()
	for _, v := range s.Volumes {
		if v.Target != target {
			continue
		}
		if v.Source != source || v.ReadOnly != readOnly {
			t.Errorf("%s: %s mounted from %s (ro=%v), want %s (ro=%v)", s.Name, target, v.Source, v.ReadOnly, source, readOnly)
		}
		if v.Type == types.VolumeTypeBind {
			if _, err := os.Stat(v.Source); err != nil {
				t.Errorf("%s: bind source missing: %v", s.Name, err)
			}
		}
		return
	}
	t.Errorf("%s: nothing mounted at %s", s.Name, target)
}

func dashboardsPathInGrafana(t *testing.T) string {
	t.Helper()
	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name                  string `yaml:"name"`
			OrgID                 int    `yaml:"orgId"`
			Type                  string `yaml:"type"`
			Folder                string `yaml:"folder"`
			DisableDeletion       bool   `yaml:"disableDeletion"`
			AllowUIUpdates        bool   `yaml:"allowUiUpdates"`
			UpdateIntervalSeconds int    `yaml:"updateIntervalSeconds"`
			Options               struct {
				Path                      string `yaml:"path"`
				FoldersFromFilesStructure bool   `yaml:"foldersFromFilesStructure"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, "grafana/provisioning/dashboards/dashboards.yaml", &prov)
	if prov.APIVersion != 1 || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path == "" {
		t.Fatalf("dashboard provisioning %+v", prov)
	}
	return prov.Providers[0].Options.Path
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadProbeConfig(t *testing.T, path string) *config.Config {
	t.Helper()
	env := map[string]string{"STOREPROBE_INFLUX_TOKEN": "storeprobe:storeprobe"}
	cfg, err := config.Load(path, config.WithEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
	if err != nil {
		t.Fatalf("%s is not a valid storeprobe config:\n%v", path, err)
	}
	if cfg.InfluxDB == nil {
		t.Fatalf("%s does not ship to InfluxDB", path)
	}
	return cfg
}

func TestDatasourceProvisioning(t *testing.T) {
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name      string `yaml:"name"`
			UID       string `yaml:"uid"`
			Type      string `yaml:"type"`
			Access    string `yaml:"access"`
			URL       string `yaml:"url"`
			IsDefault bool   `yaml:"isDefault"`
			Editable  bool   `yaml:"editable"`
			JSONData  struct {
				Version       string `yaml:"version"`
				Organization  string `yaml:"organization"`
				DefaultBucket string `yaml:"defaultBucket"`
				TimeInterval  string `yaml:"timeInterval"`
				TLSSkipVerify bool   `yaml:"tlsSkipVerify"`
			} `yaml:"jsonData"`
			SecureJSONData struct {
				Token string `yaml:"token"`
			} `yaml:"secureJsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, "grafana/provisioning/datasources/influxdb.yaml", &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources %+v", ds)
	}
	d := ds.Datasources[0]
	if d.UID != datasourceUID || d.Type != "influxdb" || d.JSONData.Version != "Flux" || d.JSONData.DefaultBucket == "" || d.SecureJSONData.Token == "" {
		t.Errorf("datasource %+v: want uid %s, type influxdb, Flux, a default bucket and a token", d, datasourceUID)
	}
	if !strings.HasPrefix(d.SecureJSONData.Token, "${") {
		t.Errorf("the token must come from the environment, not the file")
	}
}

func TestProbeConfigIsValid(t *testing.T) {
	cfg := loadProbeConfig(t, "storeprobe/config.yaml")
	if cfg.InfluxDB.Bucket != influxtest.DefaultDB+"/autogen" {
		t.Errorf("bucket %q, want the compose database %s/autogen", cfg.InfluxDB.Bucket, influxtest.DefaultDB)
	}
}

// ---- dashboards

type dashboard struct {
	File  string
	UID   string `json:"uid"`
	Title string `json:"title"`
	Tags  []string
	Panel []panel `json:"panels"`
	Templ struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *datasource `json:"datasource"`
	Targets     []struct {
		RefID      string      `json:"refId"`
		Query      string      `json:"query"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // collapsed rows
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
	AllValue   string          `json:"allValue"`
	IncludeAll bool            `json:"includeAll"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// query is one Flux query of a dashboard, with where it came from.
type query struct {
	Where string
	Flux  string
}

func loadDashboards(t *testing.T) []dashboard {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	var out []dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d dashboard
		dec := json.NewDecoder(strings.NewReader(string(b)))
		if err := dec.Decode(&d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		d.File = f
		out = append(out, d)
	}
	return out
}

func (d dashboard) queries(t *testing.T) []query {
	var qs []query
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for _, tg := range p.Targets {
				qs = append(qs, query{fmt.Sprintf("%s panel %q ref %s", d.UID, p.Title, tg.RefID), tg.Query})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panel)
	for _, v := range d.Templ.List {
		if v.Type != "query" {
			continue
		}
		var s string
		if err := json.Unmarshal(v.Query, &s); err != nil {
			var obj struct {
				Query string `json:"query"`
			}
			if err := json.Unmarshal(v.Query, &obj); err != nil {
				t.Fatalf("%s variable %s: query is neither a string nor {query}: %s", d.UID, v.Name, v.Query)
			}
			s = obj.Query
		}
		qs = append(qs, query{fmt.Sprintf("%s variable %s", d.UID, v.Name), s})
	}
	return qs
}

var wantDashboards = map[string][]string{ // uid -> variables
	"storeprobe-overview":     {"location", "check"},
	"storeprobe-vitals":       {"location", "check", "page"},
	"storeprobe-journeys":     {"location", "check"},
	"storeprobe-probe-health": {"location"},
}

// fluxOnly are constructs InfluxDB 1.8's Flux 0.65 lacks.
var notIn065 = regexp.MustCompile(`import\s+"(schema|array|dict|experimental/array|contrib/[^"]*)"|\bschema\.|\barray\.from|\bdisplay\(|\bfindRecord\(|\bfindColumn\(`)

func TestDashboardsStructure(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range loadDashboards(t) {
		base := strings.TrimSuffix(filepath.Base(d.File), ".json")
		if d.UID != base {
			t.Errorf("%s: uid %q, want the file name", d.File, d.UID)
		}
		seen[d.UID] = true
		vars, ok := wantDashboards[d.UID]
		if !ok {
			t.Errorf("%s: unexpected dashboard", d.UID)
			continue
		}
		var names []string
		for _, v := range d.Templ.List {
			names = append(names, v.Name)
			if v.Datasource == nil || v.Datasource.UID != datasourceUID {
				t.Errorf("%s variable %s: datasource %+v, want %s", d.UID, v.Name, v.Datasource, datasourceUID)
			}
			if !v.IncludeAll || v.AllValue != ".*" {
				t.Errorf("%s variable %s: want All with allValue .* (the queries use ${%s:regex})", d.UID, v.Name, v.Name)
			}
		}
		if strings.Join(names, ",") != strings.Join(vars, ",") {
			t.Errorf("%s: variables %v, want %v", d.UID, names, vars)
		}
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				if p.Type != "row" {
					if p.Datasource == nil || p.Datasource.UID != datasourceUID {
						t.Errorf("%s panel %q: datasource %+v", d.UID, p.Title, p.Datasource)
					}
					if len(p.Targets) == 0 || p.Description == "" {
						t.Errorf("%s panel %q: needs a query and a description", d.UID, p.Title)
					}
				}
				walk(p.Panels)
			}
		}
		walk(d.Panel)
		for _, q := range d.queries(t) {
			if m := notIn065.FindString(q.Flux); m != "" {
				t.Errorf("%s: uses %q, which InfluxDB 1.8's Flux 0.65 lacks", q.Where, m)
			}
			for _, v := range regexp.MustCompile(`\$\{?(\w+)`).FindAllStringSubmatch(q.Flux, -1) {
				if !contains(vars, v[1]) {
					t.Errorf("%s: uses $%s, which the dashboard does not define", q.Where, v[1])
				}
			}
		}
	}
	for uid := range wantDashboards {
		if !seen[uid] {
			t.Errorf("dashboard %s missing", uid)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// grafanaVars substitutes what Grafana substitutes before sending a Flux
// query: its v.* macros (as text, the way Grafana's Flux macros do) and
// the dashboard variables in their ${name:regex} form.
func grafanaVars(q string, from, to time.Time, window string, bucket string, vars map[string]string) string {
	r := strings.NewReplacer(
		"v.timeRangeStart", from.UTC().Format(time.RFC3339Nano),
		"v.timeRangeStop", to.UTC().Format(time.RFC3339Nano),
		"v.windowPeriod", window,
		"v.defaultBucket", fmt.Sprintf("%q", bucket),
		"v.organization", `""`,
	)
	q = r.Replace(q)
	return regexp.MustCompile(`\$\{(\w+)(?::(\w+))?\}|\$(\w+)`).ReplaceAllStringFunc(q, func(m string) string {
		sub := regexp.MustCompile(`\$\{(\w+)(?::(\w+))?\}|\$(\w+)`).FindStringSubmatch(m)
		name := sub[1] + sub[3]
		if v, ok := vars[name]; ok {
			return v
		}
		return m
	})
}

// dataRows counts the data rows of Flux's annotated CSV answer.
func dataRows(csv string) int {
	n := 0
	for _, line := range strings.Split(csv, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") || strings.Contains(line, ",result,table") {
			continue
		}
		n++
	}
	return n
}

// TestDashboardQueriesReturnRows runs every query of every dashboard —
// panels and variables — against a real influxd over a fleet's history
// written by storeprobe's own points and shipper, with Grafana's variables
// substituted: once with every variable on All and once narrowed the way
// Grafana escapes a single selection.
func TestDashboardQueriesReturnRows(t *testing.T) {
	srv := influxtest.Start(t)
	ctx := context.Background()
	now := time.Now().UTC()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "storeprobe.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs := influxtest.SampleRuns(now.Add(-time.Minute), 60)
	for _, r := range runs {
		if _, err := st.Save(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	sh, err := influx.NewShipper(influx.ShipperOptions{URL: srv.URL, Bucket: srv.Bucket, Outbox: st, BatchSize: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	if n, err := sh.Flush(ctx); err != nil || n != len(runs) {
		t.Fatalf("shipped %d of %d runs: %v", n, len(runs), err)
	}
	for i := 0; i < 60; i++ {
		for _, loc := range influxtest.SampleLocations {
			h := influx.Health{Location: loc, Probe: loc + "-1", At: now.Add(-time.Duration(60-i) * time.Minute).Truncate(time.Minute),
				LagP99MS: float64(5 + i%7), OutboxDepth: int64(i % 5), RejectedPoints: int64(i / 30), Runs: 4, Skipped: int64(i % 2)}
			if err := sh.WriteHealth(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
	}

	from, to := now.Add(-3*time.Hour), now.Add(time.Minute)
	scenarios := []struct {
		name string
		vars map[string]string
	}{
		{"all", map[string]string{"location": ".*", "check": ".*", "page": ".*"}},
		{"one location", map[string]string{"location": regexp.QuoteMeta("eu-west"), "check": ".*", "page": ".*"}},
		{"one of each", map[string]string{"location": "(eu\\-west|us\\-east)", "check": "(checkout|pdp|home)", "page": "(cart|home|product|pdp)"}},
	}
	total := 0
	for _, d := range loadDashboards(t) {
		for _, q := range d.queries(t) {
			for _, sc := range scenarios {
				flux := grafanaVars(q.Flux, from, to, "5m", srv.Bucket, sc.vars)
				if strings.Contains(flux, "v.") && regexp.MustCompile(`\bv\.\w+`).MatchString(flux) {
					t.Errorf("%s: unsubstituted macro left:\n%s", q.Where, flux)
				}
				csv, err := srv.Flux(ctx, flux)
				if err != nil {
					t.Errorf("%s [%s]: %v\n%s", q.Where, sc.name, err, flux)
					continue
				}
				if n := dataRows(csv); n == 0 {
					t.Errorf("%s [%s]: no rows\n%s", q.Where, sc.name, flux)
				}
				total++
			}
		}
	}
	t.Logf("%d dashboard queries × scenarios returned rows", total)

	// Rows are not enough for the headline panel: its numbers must be the
	// uptime computed by hand from the runs that were shipped.
	want := map[string][2]int{} // check -> passing, counted
	for _, r := range runs {
		if r.ProbeFault() {
			continue
		}
		c := want[r.Check]
		if r.OK() {
			c[0]++
		}
		c[1]++
		want[r.Check] = c
	}
	q := findQuery(t, "storeprobe-overview", "Uptime per check (target 99.9 %)")
	csv, err := srv.Flux(ctx, grafanaVars(q, from, to, "5m", srv.Bucket, scenarios[0].vars))
	if err != nil {
		t.Fatal(err)
	}
	got := fluxRecords(t, csv)
	if len(got) != len(want) {
		t.Fatalf("uptime panel: %d rows, want one per check (%d): %v", len(got), len(want), got)
	}
	for _, rec := range got {
		c := want[rec["check"]]
		exp := 100 * float64(c[0]) / float64(c[1])
		v, err := strconv.ParseFloat(rec["_value"], 64)
		if err != nil || math.Abs(v-exp) > 1e-9 {
			t.Errorf("uptime of %s = %s, want %.6f (%d of %d runs passed)", rec["check"], rec["_value"], exp, c[0], c[1])
		}
	}

	// And "% good" per check, page, device and location is the share of
	// good samples: a desktop and a mobile check with the same page names
	// are never pooled.
	type key struct{ check, page, device, location string }
	good := map[key][2]int64{}
	for _, r := range runs {
		for _, p := range influx.Points(r) {
			if p.Measurement != influx.MeasurementBrowserPage {
				continue
			}
			var k key
			for _, tg := range p.Tags {
				switch tg.Key {
				case "check":
					k.check = tg.Value
				case "page":
					k.page = tg.Value
				case "device":
					k.device = tg.Value
				case "location":
					k.location = tg.Value
				}
			}
			for _, f := range p.Fields {
				if f.Key == "good_lcp" {
					g := good[k]
					g[0] += f.Value.(int64)
					g[1]++
					good[k] = g
				}
			}
		}
	}
	q = findQuery(t, "storeprobe-vitals", "% good per vital, check, page, device and location (target 90 %)")
	csv, err = srv.Flux(ctx, grafanaVars(q, from, to, "5m", srv.Bucket, scenarios[0].vars))
	if err != nil {
		t.Fatal(err)
	}
	rows := fluxRecords(t, csv)
	if len(rows) != len(good) {
		t.Fatalf("%% good table: %d rows, want %d (check × page × device × location)", len(rows), len(good))
	}
	for _, rec := range rows {
		g := good[key{rec["check"], rec["page"], rec["device"], rec["location"]}]
		exp := 100 * float64(g[0]) / float64(g[1])
		v, err := strconv.ParseFloat(rec["good_lcp"], 64)
		if err != nil || math.Abs(v-exp) > 1e-9 {
			t.Errorf("%% good LCP of %s/%s/%s in %s = %s, want %.6f", rec["check"], rec["page"], rec["device"], rec["location"], rec["good_lcp"], exp)
		}
	}

	// The load-time table compares page loads with 3 s: for a journey its
	// pages' load_ms, never the whole journey's duration.
	maxLoad := map[string]float64{} // check -> slowest page load or HTTP total
	for _, r := range runs {
		for _, p := range influx.Points(r) {
			for _, f := range p.Fields {
				if p.Measurement == influx.MeasurementBrowserPage && f.Key == "load_ms" ||
					p.Measurement == influx.MeasurementHTTPCheck && f.Key == "total_ms" {
					maxLoad[r.Check] = max(maxLoad[r.Check], f.Value.(float64))
				}
			}
		}
	}
	q = findQuery(t, "storeprobe-overview", "Load time p75 / p95 per check")
	csv, err = srv.Flux(ctx, grafanaVars(q, from, to, "5m", srv.Bucket, scenarios[0].vars))
	if err != nil {
		t.Fatal(err)
	}
	rows = fluxRecords(t, csv)
	if len(rows) != len(maxLoad) {
		t.Fatalf("load table: %d rows, want one per check (%d): %v", len(rows), len(maxLoad), rows)
	}
	for _, rec := range rows {
		p95, err := strconv.ParseFloat(rec["p95"], 64)
		if err != nil || p95 <= 0 || p95 > maxLoad[rec["check"]]+1e-9 {
			t.Errorf("load p95 of %s = %s, want a page load/HTTP total ≤ %.1f ms", rec["check"], rec["p95"], maxLoad[rec["check"]])
		}
	}

	// The hit ratio per POP is the share of CDN-served final responses that
	// were hits, counted from the shipped runs themselves.
	hits := map[[2]string][2]int{} // cdn, pop -> hits, CDN-served responses
	for _, r := range runs {
		d := r.Final().HTTPDetails
		if d == nil || d.CDN == nil || d.CDN.Provider == "none" {
			continue
		}
		k := [2]string{r.Tags["cdn"], d.CDN.POP}
		h := hits[k]
		if d.CDN.Cache == probe.CacheHit {
			h[0]++
		}
		h[1]++
		hits[k] = h
	}
	q = findQuery(t, "storeprobe-overview", "Cache hit ratio per POP")
	csv, err = srv.Flux(ctx, grafanaVars(q, from, to, "5m", srv.Bucket, scenarios[0].vars))
	if err != nil {
		t.Fatal(err)
	}
	rows = fluxRecords(t, csv)
	if len(rows) != len(hits) || len(hits) != len(influxtest.SampleLocations) {
		t.Fatalf("hit ratio panel: %d rows, want one per CDN and POP (%d): %v", len(rows), len(hits), rows)
	}
	for _, rec := range rows {
		h := hits[[2]string{rec["cdn"], rec["pop"]}]
		exp := 100 * float64(h[0]) / float64(h[1])
		v, err := strconv.ParseFloat(rec["_value"], 64)
		if err != nil || h[1] == 0 || math.Abs(v-exp) > 1e-9 {
			t.Errorf("hit ratio of %s %s = %s, want %.6f (%d of %d)", rec["cdn"], rec["pop"], rec["_value"], exp, h[0], h[1])
		}
	}

	// Edge and origin are two series per check with an origin, never mixed.
	q = findQuery(t, "storeprobe-overview", "TTFB: edge vs origin")
	csv, err = srv.Flux(ctx, grafanaVars(q, from, to, "5m", srv.Bucket, map[string]string{"location": ".*", "check": "home", "page": ".*"}))
	if err != nil {
		t.Fatal(err)
	}
	byTarget := map[string][]float64{}
	for _, rec := range fluxRecords(t, csv) {
		v, _ := strconv.ParseFloat(rec["_value"], 64)
		byTarget[rec["target"]] = append(byTarget[rec["target"]], v)
	}
	if len(byTarget) != 2 || len(byTarget["edge"]) == 0 || len(byTarget["origin"]) == 0 || slices.Max(byTarget["edge"]) >= slices.Min(byTarget["origin"]) {
		t.Errorf("edge vs origin: %v; the sample's origin is always slower", byTarget)
	}
}

func findQuery(t *testing.T, uid, title string) string {
	t.Helper()
	for _, d := range loadDashboards(t) {
		for _, q := range d.queries(t) {
			if d.UID == uid && strings.Contains(q.Where, fmt.Sprintf("panel %q", title)) {
				return q.Flux
			}
		}
	}
	t.Fatalf("%s: no panel %q", uid, title)
	return ""
}

// fluxRecords parses annotated CSV into one map per data row.
func fluxRecords(t *testing.T, text string) []map[string]string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	var (
		header []string
		out    []map[string]string
	)
	for {
		row, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case len(row) == 0 || strings.HasPrefix(row[0], "#"):
		case len(row) > 2 && row[1] == "result" && row[2] == "table":
			header = row
		default:
			rec := map[string]string{}
			for i, v := range row {
				if i < len(header) {
					rec[header[i]] = v
				}
			}
			out = append(out, rec)
		}
	}
}
