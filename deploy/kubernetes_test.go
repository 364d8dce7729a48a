package deploy

import (
	"errors"
	"io"
	"os"
	"path"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/storeprobe/storeprobe/probe/config"
)

// k8sObject is the part of a manifest the test checks.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas    *int   `yaml:"replicas"`
		ServiceName string `yaml:"serviceName"`
		Selector    struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				Containers []struct {
					Name string   `yaml:"name"`
					Args []string `yaml:"args"`
					Env  []struct {
						Name      string `yaml:"name"`
						ValueFrom struct {
							SecretKeyRef *struct {
								Name, Key string
							} `yaml:"secretKeyRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
		VolumeClaimTemplates []struct {
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		} `yaml:"volumeClaimTemplates"`
	} `yaml:"spec"`
}

func TestKubernetesManifests(t *testing.T) {
	f, err := os.Open("kubernetes/storeprobe.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	byKind := map[string]map[string]k8sObject{}
	for {
		var o k8sObject
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("kubernetes/storeprobe.yaml: %v", err)
		}
		if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
			t.Errorf("object without apiVersion, kind or name: %+v", o.Metadata)
		}
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]k8sObject{}
		}
		byKind[o.Kind][o.Metadata.Name] = o
	}
	sets := byKind["StatefulSet"]
	if len(sets) < 2 {
		t.Fatalf("%d StatefulSets, want one per location (at least 2)", len(sets))
	}
	locations := map[string]bool{}
	for name, s := range sets {
		loc := s.Metadata.Labels["storeprobe/location"]
		if s.Spec.Replicas == nil || *s.Spec.Replicas != 1 {
			t.Errorf("%s: replicas must be 1 (a second replica would run every check twice)", name)
		}
		if _, ok := byKind["Service"][s.Spec.ServiceName]; !ok {
			t.Errorf("%s: governing service %q missing", name, s.Spec.ServiceName)
		}
		for k, v := range s.Spec.Selector.MatchLabels {
			if s.Spec.Template.Metadata.Labels[k] != v {
				t.Errorf("%s: selector %s=%s does not match the pod labels", name, k, v)
			}
		}
		if len(s.Spec.Template.Spec.Containers) != 1 {
			t.Fatalf("%s: want one container", name)
		}
		c := s.Spec.Template.Spec.Containers[0]
		if got := strings.Join(c.Args, " "); got != "run --config /etc/storeprobe/config.yaml --listen :9090" {
			t.Errorf("%s: args %q", name, got)
		}
		mounts := map[string]string{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = m.MountPath
		}
		claims := map[string]bool{}
		for _, vct := range s.Spec.VolumeClaimTemplates {
			claims[vct.Metadata.Name] = true
		}
		var cm k8sObject
		for _, v := range s.Spec.Template.Spec.Volumes {
			if v.ConfigMap != nil && mounts[v.Name] == "/etc/storeprobe" {
				cm = byKind["ConfigMap"][v.ConfigMap.Name]
			}
		}
		raw, ok := cm.Data["config.yaml"]
		if !ok {
			t.Errorf("%s: no ConfigMap with config.yaml mounted at /etc/storeprobe", name)
			continue
		}
		env := map[string]string{}
		for _, e := range c.Env {
			if e.ValueFrom.SecretKeyRef != nil {
				env[e.Name] = "from-secret"
			}
		}
		cfg, err := config.Parse("/etc/storeprobe/config.yaml", []byte(raw),
			config.WithEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }))
		if err != nil {
			t.Errorf("%s: ConfigMap %s holds an invalid config:\n%v", name, cm.Metadata.Name, err)
			continue
		}
		if cfg.Defaults.Location != loc {
			t.Errorf("%s: config location %q, StatefulSet label %q", name, cfg.Defaults.Location, loc)
		}
		if locations[loc] {
			t.Errorf("two StatefulSets for location %s", loc)
		}
		locations[loc] = true
		if cfg.InfluxDB == nil || env[cfg.InfluxDB.TokenEnv] == "" {
			t.Errorf("%s: the InfluxDB token must come from a Secret", name)
		}
		// The store (and its outbox) must live on the persistent volume.
		storeMount := ""
		for claim := range claims {
			if p := mounts[claim]; p != "" && strings.HasPrefix(cfg.Store, p+"/") {
				storeMount = p
			}
		}
		if storeMount == "" || path.Dir(cfg.Store) != storeMount {
			t.Errorf("%s: store %s is not on a volumeClaimTemplate mount (%v)", name, cfg.Store, mounts)
		}
	}
}
