package deploy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/browser"
	"github.com/storeprobe/storeprobe/probe/config"
	"github.com/storeprobe/storeprobe/probe/prober"
	"github.com/storeprobe/storeprobe/probe/schedule"
	"github.com/storeprobe/storeprobe/probe/shard"
)

const manifestPath = "kubernetes/storeprobe.yaml"

// manifest is a Kubernetes file decoded into the API's own types.
type manifest struct {
	namespaces   map[string]corev1.Namespace
	configMaps   map[string]corev1.ConfigMap
	secrets      map[string]corev1.Secret
	services     map[string]corev1.Service
	claims       map[string]corev1.PersistentVolumeClaim
	statefulSets map[string]appsv1.StatefulSet
	deployments  map[string]appsv1.Deployment
	monitors     map[string]serviceMonitor
}

// serviceMonitor mirrors the part of the Prometheus Operator's
// monitoring.coreos.com/v1 ServiceMonitor that servicemonitor.yaml uses;
// decoded strictly like the rest, so a misspelt key fails here and not
// silently in the operator.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector          metav1.LabelSelector `json:"selector"`
		NamespaceSelector struct {
			Any        bool     `json:"any,omitempty"`
			MatchNames []string `json:"matchNames,omitempty"`
		} `json:"namespaceSelector"`
		Endpoints []struct {
			Port        string `json:"port"`
			Path        string `json:"path,omitempty"`
			Interval    string `json:"interval,omitempty"`
			HonorLabels bool   `json:"honorLabels,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

var documentSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeManifests splits multi-document YAML and decodes each document
// strictly (unknown or duplicate fields are errors) into the typed object
// for its apiVersion and kind.
func decodeManifests(data []byte, into *manifest) error {
	for i, doc := range documentSeparator.Split(string(data), -1) {
		var head metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return fmt.Errorf("document %d: %w", i+1, err)
		}
		if head.APIVersion == "" && head.Kind == "" {
			if strings.TrimSpace(stripComments(doc)) != "" {
				return fmt.Errorf("document %d has no apiVersion and kind", i+1)
			}
			continue
		}
		var (
			name string
			err  error
		)
		switch head.APIVersion + " " + head.Kind {
		case "v1 Namespace":
			name, err = decodeStrict(doc, into.namespaces)
		case "v1 ConfigMap":
			name, err = decodeStrict(doc, into.configMaps)
		case "v1 Secret":
			name, err = decodeStrict(doc, into.secrets)
		case "v1 Service":
			name, err = decodeStrict(doc, into.services)
		case "v1 PersistentVolumeClaim":
			name, err = decodeStrict(doc, into.claims)
		case "apps/v1 StatefulSet":
			name, err = decodeStrict(doc, into.statefulSets)
		case "apps/v1 Deployment":
			name, err = decodeStrict(doc, into.deployments)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			name, err = decodeStrict(doc, into.monitors)
		default:
			return fmt.Errorf("document %d: %s %s: no typed decoder for it", i+1, head.APIVersion, head.Kind)
		}
		if err != nil {
			return fmt.Errorf("document %d (%s %s): %w", i+1, head.Kind, name, err)
		}
		if name == "" {
			return fmt.Errorf("document %d (%s): no metadata.name", i+1, head.Kind)
		}
	}
	return nil
}

// decodeStrict decodes doc into a T, refusing unknown and duplicate fields,
// and files it under its name.
func decodeStrict[T any, PT interface {
	*T
	GetName() string
}](doc string, into map[string]T) (string, error) {
	var o T
	err := yaml.UnmarshalStrict([]byte(doc), &o)
	name := PT(&o).GetName()
	into[name] = o
	return name, err
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func newManifest() *manifest {
	return &manifest{
		namespaces: map[string]corev1.Namespace{}, configMaps: map[string]corev1.ConfigMap{},
		secrets: map[string]corev1.Secret{}, services: map[string]corev1.Service{},
		claims: map[string]corev1.PersistentVolumeClaim{}, statefulSets: map[string]appsv1.StatefulSet{},
		deployments: map[string]appsv1.Deployment{}, monitors: map[string]serviceMonitor{},
	}
}

func loadManifests(t *testing.T, files ...string) *manifest {
	t.Helper()
	m := newManifest()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeManifests(data, m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	return m
}

// TestManifestDecodingIsStrict: the decoder the other tests rely on refuses
// what the API server would drop or reject — a misspelt field, a field at
// the wrong level, a duplicate key, a kind it has no type for.
func TestManifestDecodingIsStrict(t *testing.T) {
	good, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"misspelt field", "  podManagementPolicy: Parallel", "  podManagmentPolicy: Parallel"},
		{"field at the wrong level", "      terminationGracePeriodSeconds: 120", "      terminationGracePeriodSecond: 120"},
		{"duplicate key", "  serviceName: storeprobe\n", "  serviceName: storeprobe\n  serviceName: other\n"},
		{"unknown kind", "kind: PersistentVolumeClaim", "kind: PersistentVolume"},
		{"wrong type", "  replicas: 2", "  replicas: two"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := strings.Replace(string(good), tc.from, tc.to, 1)
			if bad == string(good) {
				t.Fatalf("%q not in the manifest", tc.from)
			}
			if err := decodeManifests([]byte(bad), newManifest()); err == nil {
				t.Errorf("decoded without error")
			}
		})
	}
}

// The Scaling section's figures (README), measured by BenchmarkFleetSizing
// in cmd/storeprobe and rounded up. The manifests' resources must be what
// they give for the config the pods run.
const (
	mib = 1 << 20
	// storeprobe alone: 19 MiB RSS idle, 84 MiB with 2,000 checks.
	storeprobeMemory = 128 * mib
	// A warm Chromium with no page open: 156 MiB anonymous and shared
	// memory, 174 MiB of its binary and resources mapped.
	chromiumMemory = 352 * mib
	// Each concurrent browser run: 74 MiB more (1, 2 and 4 runs held open
	// on the demo shop's home page).
	contextMemory = 80 * mib
	// The limit gives each run room for a page three times the demo's.
	contextLimitFactor = 3
	memoryRounding     = 64 * mib

	// The daemon itself (5m measured idle, with Chromium).
	idleMilliCPU = 50
	// An HTTP run: 0.63-0.76 ms of CPU (79,000-96,000 runs a minute on one
	// core).
	httpRunMicroCPU = 800
	// A browser slot: a page load takes 0.84-1.14 cores while it runs, so
	// a slot gets a core and its timings do not depend on the neighbours.
	slotMilliCPU = 1000
	cpuRounding  = 50
)

// sizing is what the README's formula gives for the checks one pod runs.
type sizing struct {
	cpu, memory, memoryLimit resource.Quantity
}

func formula(cfg *config.Config, checks []probe.Check) sizing {
	var httpPerMin float64
	browserSlots := 0
	for _, c := range checks {
		if c.Type == probe.TypeHTTP {
			httpPerMin += runsPerMinute(c.Schedule)
		} else {
			// Chromium starts only for a config with browser or journey
			// checks; then browser_concurrency runs may be open at once.
			browserSlots = cfg.Scheduler.BrowserConcurrency
		}
	}
	// A core is 60,000,000 µs of CPU a minute.
	milliCPU := float64(idleMilliCPU) + httpPerMin*httpRunMicroCPU/60_000 + float64(browserSlots*slotMilliCPU)
	mem, limit := int64(storeprobeMemory), int64(storeprobeMemory)
	if browserSlots > 0 {
		mem += chromiumMemory + int64(browserSlots)*contextMemory
		limit += chromiumMemory + int64(browserSlots)*contextLimitFactor*contextMemory
	}
	up := func(v, step int64) int64 { return (v + step - 1) / step * step }
	return sizing{
		cpu:         *resource.NewMilliQuantity(up(int64(math.Ceil(milliCPU)), cpuRounding), resource.DecimalSI),
		memory:      *resource.NewQuantity(up(mem, memoryRounding), resource.BinarySI),
		memoryLimit: *resource.NewQuantity(up(limit, memoryRounding), resource.BinarySI),
	}
}

// runsPerMinute is how often a schedule fires, from the scheduler's own
// parser (spreading offsets do not change the rate).
func runsPerMinute(spec string) float64 {
	s, err := schedule.ParseSpec(spec)
	if err != nil {
		return 0
	}
	return float64(time.Minute) / float64(schedule.Period(s, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)))
}

// The daemon's shutdown after its grace period (probe/daemon Shutdown):
// cancelled attempts return within 2 × TimeoutGrace (1s) and are saved
// within SaveTimeout (10s) — probe/schedule; the shipper's final flush
// (5s, storage/influx); the HTTP server (2s) and Chromium (3s) close
// (probe/daemon, probe/browser); 3s spare.
const (
	attemptGrace  = time.Second
	shutdownAfter = 2*attemptGrace + 10*time.Second + 5*time.Second + 2*time.Second + 3*time.Second + 3*time.Second
)

// podCheck is what every storeprobe pod template must get right.
type podCheck struct {
	t        *testing.T
	m        *manifest
	what     string
	pod      corev1.PodTemplateSpec
	c        corev1.Container
	flags    map[string]string
	env      map[string]corev1.EnvVar
	envOrder []string
	mounts   map[string]string // volume name -> mount path
}

func newPodCheck(t *testing.T, m *manifest, what string, pod corev1.PodTemplateSpec, command string) *podCheck {
	t.Helper()
	if len(pod.Spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", what, len(pod.Spec.Containers))
	}
	p := &podCheck{t: t, m: m, what: what, pod: pod, c: pod.Spec.Containers[0],
		flags: map[string]string{}, env: map[string]corev1.EnvVar{}, mounts: map[string]string{}}
	args := p.c.Args
	if len(p.c.Command) > 0 || len(args) == 0 || args[0] != command {
		t.Fatalf("%s: command %q args %q, want the image's entrypoint with args %s ...", what, p.c.Command, args, command)
	}
	for i := 1; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "--") || i+1 == len(args) {
			t.Fatalf("%s: args %q: want --flag value pairs", what, args)
		}
		p.flags[args[i]] = args[i+1]
		i++
	}
	for _, e := range p.c.Env {
		if _, dup := p.env[e.Name]; dup {
			t.Errorf("%s: env %s twice", what, e.Name)
		}
		p.env[e.Name] = e
		p.envOrder = append(p.envOrder, e.Name)
	}
	for _, vm := range p.c.VolumeMounts {
		p.mounts[vm.Name] = vm.MountPath
	}
	return p
}

// probes: startup and liveness on /healthz, readiness on /readyz, all on
// the port storeprobe listens on.
func (p *podCheck) probes() {
	t := p.t
	listen, ok := p.flags["--listen"]
	if !ok {
		t.Fatalf("%s: no --listen, so no /healthz and /readyz", p.what)
	}
	_, port, err := splitPort(listen)
	if err != nil {
		t.Fatalf("%s: --listen %s: %v", p.what, listen, err)
	}
	for _, pr := range []struct {
		kind  string
		probe *corev1.Probe
		path  string
	}{
		{"startupProbe", p.c.StartupProbe, "/healthz"},
		{"livenessProbe", p.c.LivenessProbe, "/healthz"},
		{"readinessProbe", p.c.ReadinessProbe, "/readyz"},
	} {
		if pr.probe == nil || pr.probe.HTTPGet == nil {
			t.Errorf("%s: %s must be an HTTP GET of %s", p.what, pr.kind, pr.path)
			continue
		}
		g := pr.probe.HTTPGet
		if g.Path != pr.path {
			t.Errorf("%s: %s path %s, want %s", p.what, pr.kind, g.Path, pr.path)
		}
		if got := p.containerPort(g.Port.String()); got != port {
			t.Errorf("%s: %s on port %s (%d), storeprobe listens on %d", p.what, pr.kind, g.Port.String(), got, port)
		}
	}
}

// containerPort resolves a probe's port (a number or a port name).
func (p *podCheck) containerPort(port string) int {
	if n, err := strconv.Atoi(port); err == nil {
		return n
	}
	for _, cp := range p.c.Ports {
		if cp.Name == port {
			return int(cp.ContainerPort)
		}
	}
	return -1
}

func splitPort(listen string) (string, int, error) {
	i := strings.LastIndexByte(listen, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("no port")
	}
	n, err := strconv.Atoi(listen[i+1:])
	return listen[:i], n, err
}

// config returns the config mounted at --config, loaded with storeprobe's
// own loader and the pod's environment: secrets present, every other
// variable as the pod sets it.
func (p *podCheck) config() *config.Config {
	t := p.t
	cfgPath := p.flags["--config"]
	var cm corev1.ConfigMap
	for _, v := range p.pod.Spec.Volumes {
		if v.ConfigMap != nil && p.mounts[v.Name] == path.Dir(cfgPath) {
			var ok bool
			if cm, ok = p.m.configMaps[v.ConfigMap.Name]; !ok {
				t.Fatalf("%s: ConfigMap %s is not in the manifest", p.what, v.ConfigMap.Name)
			}
		}
	}
	raw, ok := cm.Data[path.Base(cfgPath)]
	if !ok {
		t.Fatalf("%s: no ConfigMap with %s mounted at %s", p.what, path.Base(cfgPath), path.Dir(cfgPath))
	}
	env := func(k string) (string, bool) {
		e, ok := p.env[k]
		switch {
		case !ok:
			return "", false
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			return p.secretValue(e.ValueFrom.SecretKeyRef), true
		}
		return e.Value, true
	}
	cfg, err := config.Parse(cfgPath, []byte(raw), prober.ConfigOptions(env, "test")...)
	if err != nil {
		t.Fatalf("%s: ConfigMap %s holds an invalid config:\n%v", p.what, cm.Name, err)
	}
	// The token reaches storeprobe from a Secret, under the name the
	// config's token_env gives.
	if cfg.InfluxDB == nil {
		t.Fatalf("%s: the config does not ship to InfluxDB", p.what)
	}
	if e, ok := p.env[cfg.InfluxDB.TokenEnv]; !ok || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil {
		t.Errorf("%s: %s (influxdb.token_env) must come from a Secret", p.what, cfg.InfluxDB.TokenEnv)
	}
	return cfg
}

func (p *podCheck) secretValue(ref *corev1.SecretKeySelector) string {
	s, ok := p.m.secrets[ref.Name]
	if !ok {
		p.t.Fatalf("%s: Secret %s is not in the manifest", p.what, ref.Name)
	}
	if v, ok := s.StringData[ref.Key]; ok {
		return v
	}
	if v, ok := s.Data[ref.Key]; ok {
		return string(v)
	}
	p.t.Fatalf("%s: Secret %s has no key %s", p.what, ref.Name, ref.Key)
	return ""
}

// security: non-root as the image's user, nothing to escalate to, no
// capabilities, a read-only root with every path storeprobe and Chromium
// write to mounted.
func (p *podCheck) security(imageUID int64, writable ...string) {
	t := p.t
	sc := p.pod.Spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Fatalf("%s: pod securityContext must set runAsNonRoot and a non-zero runAsUser", p.what)
	}
	if *sc.RunAsUser != imageUID || sc.FSGroup == nil || *sc.FSGroup != imageUID {
		t.Errorf("%s: runAsUser/fsGroup %d/%v, want the image's uid %d (it owns /var/lib/storeprobe)", p.what, *sc.RunAsUser, sc.FSGroup, imageUID)
	}
	if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile %+v, want RuntimeDefault (the sandboxed route is a patch, see the README)", p.what, sc.SeccompProfile)
	}
	if p.pod.Spec.AutomountServiceAccountToken == nil || *p.pod.Spec.AutomountServiceAccountToken {
		t.Errorf("%s: storeprobe never calls the API server; do not mount a token", p.what)
	}
	csc := p.c.SecurityContext
	if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation ||
		csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem ||
		csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(csc.Capabilities.Add) > 0 {
		t.Errorf("%s: container securityContext %+v: want no privilege escalation, a read-only root and every capability dropped", p.what, csc)
	}
	mounted := map[string]bool{}
	for _, dir := range p.mounts {
		mounted[dir] = true
	}
	for _, dir := range writable {
		if !mounted[dir] {
			t.Errorf("%s: %s must be a volume: the root filesystem is read-only", p.what, dir)
		}
	}
}

// imageUID is the numeric USER of the Dockerfile's final stage.
func imageUID(t *testing.T) int64 {
	t.Helper()
	f, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatal(err)
	}
	user := ""
	for _, c := range stages[len(stages)-1].Commands {
		if u, ok := c.(*instructions.UserCommand); ok {
			user = u.User
		}
	}
	uid, _, _ := strings.Cut(user, ":")
	n, err := strconv.ParseInt(uid, 10, 64)
	if err != nil {
		t.Fatalf("Dockerfile USER %q: want a numeric uid, so runAsNonRoot can verify it", user)
	}
	return n
}

func TestKubernetesManifests(t *testing.T) {
	m := loadManifests(t, manifestPath)
	uid := imageUID(t)
	if len(m.namespaces) != 1 {
		t.Fatalf("%d namespaces, want 1", len(m.namespaces))
	}
	var ns string
	for ns = range m.namespaces {
	}
	for kind, names := range map[string][]string{
		"ConfigMap": keys(m.configMaps), "Secret": keys(m.secrets), "Service": keys(m.services),
		"PersistentVolumeClaim": keys(m.claims), "StatefulSet": keys(m.statefulSets), "Deployment": keys(m.deployments),
	} {
		for _, n := range names {
			if got := namespaceOf(m, kind, n); got != ns {
				t.Errorf("%s %s in namespace %q, want %q", kind, n, got, ns)
			}
		}
	}
	if len(m.statefulSets) < 2 {
		t.Fatalf("%d StatefulSets, want one per location (at least 2)", len(m.statefulSets))
	}
	sharded := false
	locations := map[string]string{}
	for name, s := range m.statefulSets {
		what := "StatefulSet " + name
		p := newPodCheck(t, m, what, s.Spec.Template, "run")
		p.probes()
		p.security(uid, "/tmp", "/dev/shm", path.Dir(p.flags["--store"]))
		cfg := p.config()

		// The governing Service is headless, selects these pods and
		// names the port storeprobe listens on.
		svc, ok := m.services[s.Spec.ServiceName]
		if !ok || svc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("%s: governing Service %q missing or not headless", what, s.Spec.ServiceName)
		}
		if !selects(svc.Spec.Selector, s.Spec.Template.Labels) || !selects(s.Spec.Selector.MatchLabels, s.Spec.Template.Labels) {
			t.Errorf("%s: the selectors do not match the pod labels %v", what, s.Spec.Template.Labels)
		}
		for _, sp := range svc.Spec.Ports {
			if p.containerPort(sp.TargetPort.String()) < 0 {
				t.Errorf("%s: Service port %s targets %s, which the container lacks", what, sp.Name, sp.TargetPort.String())
			}
		}
		if s.Spec.PodManagementPolicy != appsv1.ParallelPodManagement {
			t.Errorf("%s: podManagementPolicy %q: shards are independent, use Parallel", what, s.Spec.PodManagementPolicy)
		}

		// Location: one StatefulSet each, named by the pods' environment.
		loc := s.Labels["storeprobe/location"]
		if e := p.env["STOREPROBE_LOCATION"]; e.Value != loc || loc == "" {
			t.Errorf("%s: STOREPROBE_LOCATION %q, label storeprobe/location %q", what, e.Value, loc)
		}
		if other, dup := locations[loc]; dup {
			t.Errorf("%s and %s both run location %s", what, other, loc)
		}
		locations[loc] = name
		if e := p.env["STOREPROBE_PROBE"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.name" {
			t.Errorf("%s: STOREPROBE_PROBE must be the pod's name (stable in a StatefulSet)", what)
		}

		// The shard: the pod's ordinal over the replica count, expanded by
		// Kubernetes from POD_INDEX, which must come first.
		replicas := int(*s.Spec.Replicas)
		sharded = sharded || replicas > 1
		if e := p.env["POD_INDEX"]; e.ValueFrom == nil || e.ValueFrom.FieldRef == nil ||
			e.ValueFrom.FieldRef.FieldPath != "metadata.labels['apps.kubernetes.io/pod-index']" {
			t.Errorf("%s: POD_INDEX must come from the apps.kubernetes.io/pod-index label", what)
		}
		if slices.Index(p.envOrder, "POD_INDEX") > slices.Index(p.envOrder, "STOREPROBE_SHARD") {
			t.Errorf("%s: POD_INDEX must be defined before STOREPROBE_SHARD, or $(POD_INDEX) is not expanded", what)
		}
		owners := map[string]int{}
		var busiest sizing
		for ordinal := range replicas {
			v := strings.ReplaceAll(p.env["STOREPROBE_SHARD"].Value, "$(POD_INDEX)", strconv.Itoa(ordinal))
			sh, err := shard.Parse(v)
			if err != nil || sh.Index != ordinal || sh.Count != replicas {
				t.Fatalf("%s: pod %d gets STOREPROBE_SHARD %q (%v), want %d/%d", what, ordinal, v, err, ordinal, replicas)
			}
			var mine []probe.Check
			for _, c := range cfg.Checks {
				if sh.Owns(c.Name) {
					owners[c.Name]++
					mine = append(mine, c)
				}
			}
			if sz := formula(cfg, mine); sz.cpu.Cmp(busiest.cpu) > 0 || sz.memoryLimit.Cmp(busiest.memoryLimit) > 0 {
				busiest = sz
			}
		}
		for _, c := range cfg.Checks {
			if owners[c.Name] != 1 {
				t.Errorf("%s: check %s runs on %d shards, want exactly 1", what, c.Name, owners[c.Name])
			}
		}

		// The store and its outbox are on the pod's own persistent volume.
		storeDir := path.Dir(p.flags["--store"])
		onClaim := false
		for _, vct := range s.Spec.VolumeClaimTemplates {
			onClaim = onClaim || p.mounts[vct.Name] == storeDir
		}
		if !onClaim {
			t.Errorf("%s: --store %s is not on a volumeClaimTemplate (mounts %v)", what, p.flags["--store"], p.mounts)
		}

		// Shutdown: a run in flight at SIGTERM may finish, and storeprobe
		// is done before Kubernetes kills it.
		var longest time.Duration
		for _, c := range cfg.Checks {
			longest = max(longest, c.Timeout)
		}
		grace := cfg.Scheduler.GracePeriod
		if grace < longest+attemptGrace {
			t.Errorf("%s: scheduler.grace_period %s cuts off the longest check (timeout %s) at shutdown; want ≥ %s", what, grace, longest, longest+attemptGrace)
		}
		term := time.Duration(*s.Spec.Template.Spec.TerminationGracePeriodSeconds) * time.Second
		if term < grace+shutdownAfter {
			t.Errorf("%s: terminationGracePeriodSeconds %s, want ≥ grace_period %s + %s", what, term, grace, shutdownAfter)
		}

		// Readiness tolerates a Chromium (re)start.
		rp := p.c.ReadinessProbe
		if rp != nil && time.Duration(rp.PeriodSeconds*rp.FailureThreshold)*time.Second <= browser.DefaultStartTimeout {
			t.Errorf("%s: readiness gives up after %ds, before a Chromium start may end (%s)", what, rp.PeriodSeconds*rp.FailureThreshold, browser.DefaultStartTimeout)
		}

		// Resources: the README's formula for the busiest shard.
		res := p.c.Resources
		checkQuantity(t, what+" requests.cpu", res.Requests[corev1.ResourceCPU], busiest.cpu)
		checkQuantity(t, what+" requests.memory", res.Requests[corev1.ResourceMemory], busiest.memory)
		checkQuantity(t, what+" limits.memory", res.Limits[corev1.ResourceMemory], busiest.memoryLimit)
		if _, ok := res.Limits[corev1.ResourceCPU]; ok {
			t.Errorf("%s: a CPU limit throttles page loads and skews what they measure; set none", what)
		}
		// Chromium uses /dev/shm only when it has 512 MiB (probe/browser);
		// a memory-backed emptyDir is as large as the pod's memory limit.
		for _, v := range s.Spec.Template.Spec.Volumes {
			if p.mounts[v.Name] == "/dev/shm" {
				if v.EmptyDir == nil || v.EmptyDir.Medium != corev1.StorageMediumMemory || v.EmptyDir.SizeLimit == nil ||
					v.EmptyDir.SizeLimit.Cmp(resource.MustParse("512Mi")) < 0 || busiest.memoryLimit.Cmp(resource.MustParse("512Mi")) < 0 {
					t.Errorf("%s: /dev/shm must be a memory emptyDir of at least 512Mi, within a memory limit of at least 512Mi", what)
				}
			}
		}
	}
	if !sharded {
		t.Error("no StatefulSet runs more than one shard: the example should show sharding a location")
	}
	checkEvaluator(t, m, uid)
}

// checkEvaluator: one evaluator, never two at once, its own store.
func checkEvaluator(t *testing.T, m *manifest, uid int64) {
	d, ok := m.deployments["storeprobe-evaluator"]
	if !ok {
		t.Fatal("no Deployment storeprobe-evaluator")
	}
	what := "Deployment storeprobe-evaluator"
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 || d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		t.Errorf("%s: want replicas 1 and strategy Recreate (two evaluators would notify twice)", what)
	}
	p := newPodCheck(t, m, what, d.Spec.Template, "evaluate")
	p.probes()
	storeDir := path.Dir(p.flags["--store"])
	p.security(uid, "/tmp", storeDir)
	p.config()
	if _, err := time.ParseDuration(p.flags["--interval"]); err != nil {
		t.Errorf("%s: --interval %q: %v", what, p.flags["--interval"], err)
	}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if p.mounts[v.Name] != storeDir {
			continue
		}
		if v.PersistentVolumeClaim == nil {
			t.Fatalf("%s: the store must be on a PersistentVolumeClaim", what)
		}
		claim, ok := m.claims[v.PersistentVolumeClaim.ClaimName]
		if !ok || !slices.Equal(claim.Spec.AccessModes, []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOncePod}) {
			t.Errorf("%s: claim %s must be ReadWriteOncePod, so a replacement pod cannot start beside the old one", what, v.PersistentVolumeClaim.ClaimName)
		}
		return
	}
	t.Errorf("%s: --store %s is not on a volume", what, p.flags["--store"])
}

// TestKubernetesServiceMonitor: the optional ServiceMonitor selects the
// probes' and the evaluator's Services by a port they all have.
func TestKubernetesServiceMonitor(t *testing.T) {
	m := loadManifests(t, manifestPath, "kubernetes/servicemonitor.yaml")
	if len(m.monitors) != 1 {
		t.Fatalf("%d ServiceMonitors, want 1", len(m.monitors))
	}
	for _, sm := range m.monitors {
		selected := 0
		for name, svc := range m.services {
			if !selects(sm.Spec.Selector.MatchLabels, svc.Labels) {
				continue
			}
			selected++
			for _, ep := range sm.Spec.Endpoints {
				if !slices.ContainsFunc(svc.Spec.Ports, func(p corev1.ServicePort) bool { return p.Name == ep.Port }) {
					t.Errorf("Service %s has no port %q for the ServiceMonitor", name, ep.Port)
				}
			}
		}
		if selected != len(m.services) {
			t.Errorf("the ServiceMonitor selects %d of %d Services", selected, len(m.services))
		}
		if !slices.Contains(sm.Spec.NamespaceSelector.MatchNames, sm.Namespace) {
			t.Errorf("the ServiceMonitor looks in %v, not its namespace %s", sm.Spec.NamespaceSelector.MatchNames, sm.Namespace)
		}
	}
}

func checkQuantity(t *testing.T, what string, got, want resource.Quantity) {
	t.Helper()
	if got.Cmp(want) != 0 {
		t.Errorf("%s = %s, the Scaling formula gives %s", what, got.String(), want.String())
	}
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func namespaceOf(m *manifest, kind, name string) string {
	switch kind {
	case "ConfigMap":
		return m.configMaps[name].Namespace
	case "Secret":
		return m.secrets[name].Namespace
	case "Service":
		return m.services[name].Namespace
	case "PersistentVolumeClaim":
		return m.claims[name].Namespace
	case "StatefulSet":
		return m.statefulSets[name].Namespace
	case "Deployment":
		return m.deployments[name].Namespace
	}
	return ""
}

// TestKubernetesChromeSandboxPatch: the patch of the README's sandboxed
// route applies to every probe StatefulSet, switching to the node's copy of
// seccomp/chrome.json and emptying STOREPROBE_CHROME_FLAGS (which drops the
// image's --no-sandbox), and changes nothing else.
func TestKubernetesChromeSandboxPatch(t *testing.T) {
	m := loadManifests(t, manifestPath)
	data, err := os.ReadFile("kubernetes/chrome-sandbox.patch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var strict appsv1.StatefulSet
	if err := yaml.UnmarshalStrict(data, &strict); err != nil {
		t.Fatalf("the patch is not a StatefulSet: %v", err)
	}
	patch, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range m.statefulSets {
		orig, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		merged, err := strategicpatch.StrategicMergePatch(orig, patch, appsv1.StatefulSet{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got appsv1.StatefulSet
		if err := json.Unmarshal(merged, &got); err != nil {
			t.Fatal(err)
		}
		sc := got.Spec.Template.Spec.SecurityContext
		if sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeLocalhost ||
			sc.SeccompProfile.LocalhostProfile == nil || path.Base(*sc.SeccompProfile.LocalhostProfile) != "storeprobe-chrome.json" {
			t.Errorf("%s: seccompProfile %+v, want Localhost storeprobe-chrome.json", name, sc.SeccompProfile)
		}
		c := got.Spec.Template.Spec.Containers
		if len(c) != 1 || len(c[0].Env) != len(s.Spec.Template.Spec.Containers[0].Env)+1 {
			t.Fatalf("%s: the patch must add one variable to the one container", name)
		}
		i := slices.IndexFunc(c[0].Env, func(e corev1.EnvVar) bool { return e.Name == "STOREPROBE_CHROME_FLAGS" })
		if i < 0 || c[0].Env[i].Value != "" || c[0].Env[i].ValueFrom != nil {
			t.Errorf("%s: env %+v, want STOREPROBE_CHROME_FLAGS emptied", name, c[0].Env)
		}
		// Everything else as before.
		got.Spec.Template.Spec.SecurityContext.SeccompProfile = s.Spec.Template.Spec.SecurityContext.SeccompProfile
		got.Spec.Template.Spec.Containers[0].Env = s.Spec.Template.Spec.Containers[0].Env
		if a, b := mustJSON(t, got), mustJSON(t, s); a != b {
			t.Errorf("%s: the patch changes more than the profile and the flags:\n%s\n%s", name, a, b)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
