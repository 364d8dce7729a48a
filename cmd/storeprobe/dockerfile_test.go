package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// No container engine runs here, so the Dockerfile is checked the way
// BuildKit reads it, and the entrypoint, command and health check it
// declares are run against the real binary.
func TestDockerfile(t *testing.T) {
	stages := dockerfileStages(t)
	if len(stages) != 2 {
		t.Fatalf("%d stages, want build + runtime", len(stages))
	}
	final := stages[len(stages)-1]
	var (
		entry, cmdArgs, health []string
		user                   string
		copies                 []string
	)
	for _, st := range stages {
		for _, c := range st.Commands {
			switch c := c.(type) {
			case *instructions.CopyCommand:
				if c.From == "" {
					copies = append(copies, c.SourcePaths...)
				}
			case *instructions.RunCommand:
				if st.Name == "build" && strings.Contains(strings.Join(c.CmdLine, " "), "go build") &&
					!strings.Contains(strings.Join(c.CmdLine, " "), "CGO_ENABLED=0") {
					t.Error("the binary must be built without cgo (modernc.org/sqlite needs none)")
				}
			}
		}
	}
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.EntrypointCommand:
			if !c.PrependShell {
				entry = c.CmdLine
			}
		case *instructions.CmdCommand:
			if !c.PrependShell {
				cmdArgs = c.CmdLine
			}
		case *instructions.HealthCheckCommand:
			health = c.Health.Test
		case *instructions.UserCommand:
			user = c.User
		}
	}
	// An init (tini) as PID 1 reaps what a crashed Chromium leaves behind.
	if len(entry) != 3 || entry[0] != "/usr/bin/tini" || entry[1] != "--" || entry[2] != "storeprobe" {
		t.Fatalf("ENTRYPOINT %q, want exec form [\"/usr/bin/tini\", \"--\", \"storeprobe\"]", entry)
	}
	if !dockerfileInstalls(t, stages[len(stages)-1], "tini") {
		t.Error("the runtime stage must install tini for its ENTRYPOINT")
	}
	if user == "" || user == "root" || user == "0" {
		t.Errorf("runtime USER %q: the probe must not run as root", user)
	}
	// Numeric, so Kubernetes' runAsNonRoot can check it (a name it cannot).
	if uid, _, _ := strings.Cut(user, ":"); strings.Trim(uid, "0123456789") != "" {
		t.Errorf("runtime USER %q: want a numeric uid", user)
	}
	// The sandboxed route (README, "Chrome's sandbox in a container") sets
	// STOREPROBE_CHROME_FLAGS to "": that must drop --no-sandbox and
	// nothing else, and nothing else may pass it.
	if f := dockerfileEnv(t)["STOREPROBE_CHROME_FLAGS"]; f != "--no-sandbox" {
		t.Errorf("ENV STOREPROBE_CHROME_FLAGS=%q, want exactly --no-sandbox", f)
	}
	for _, a := range append(append([]string{}, entry...), cmdArgs...) {
		if strings.Contains(a, "sandbox") {
			t.Errorf("ENTRYPOINT/CMD pass %q: the sandbox must stay a matter of STOREPROBE_CHROME_FLAGS", a)
		}
	}
	for _, src := range copies {
		if _, err := os.Stat(filepath.Join("../..", src)); err != nil {
			t.Errorf("COPY %s: %v", src, err)
		}
	}
	if len(cmdArgs) == 0 || cmdArgs[0] != "run" {
		t.Fatalf("CMD %q, want run ...", cmdArgs)
	}
	if len(health) < 2 || health[0] != "CMD" || health[1] != "storeprobe" {
		t.Fatalf("HEALTHCHECK %q, want CMD storeprobe ...", health)
	}
	if testing.Short() {
		return
	}

	// Run CMD as the image would, with its paths and port moved into a
	// temp dir, then the HEALTHCHECK against it.
	bin := storeprobeBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	writeFile(t, cfg, "checks:\n  - name: self\n    type: http\n    url: http://127.0.0.1:1/\n    schedule: \"@every 1m\"\n")
	port := freePort(t)
	_, portOnly, _ := strings.Cut(port, ":")
	rewrite := func(args []string) []string {
		out := make([]string, len(args))
		for i, a := range args {
			a = strings.ReplaceAll(a, "/etc/storeprobe/config.yaml", cfg)
			a = strings.ReplaceAll(a, "/var/lib/storeprobe/", dir+"/")
			a = strings.ReplaceAll(a, ":9090", ":"+portOnly)
			out[i] = a
		}
		return out
	}
	args := rewrite(cmdArgs)
	for i, a := range args {
		if a == "--listen" && i+1 < len(args) && strings.HasPrefix(args[i+1], ":") {
			args[i+1] = "127.0.0.1" + args[i+1] // loopback only in tests
		}
	}
	daemon := exec.Command(bin, args...)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer daemon.Process.Kill()
	healthArgs := rewrite(health[2:])
	var (
		out []byte
		err error
	)
	ok := false
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		out, err = exec.Command(bin, healthArgs...).CombinedOutput()
		if err == nil {
			ok = true
			break
		}
	}
	if !ok {
		t.Fatalf("HEALTHCHECK %q failed: %v\n%s", healthArgs, err, out)
	}
	var result struct {
		OK         bool `json:"ok"`
		StatusCode int  `json:"status_code"`
	}
	if err := json.Unmarshal(out, &result); err != nil || !result.OK || result.StatusCode != 200 {
		t.Fatalf("health check output: %s (%v)", out, err)
	}
	daemon.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- daemon.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("STOPSIGNAL SIGTERM: exit %v, want 0", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("daemon ignored SIGTERM")
	}
	if _, err := os.Stat(filepath.Join(dir, "storeprobe.db")); err != nil {
		t.Errorf("store not at the CMD's path: %v", err)
	}
}

// dockerfileInstalls reports whether a RUN of the stage apt-installs pkg.
func dockerfileInstalls(t *testing.T, st instructions.Stage, pkg string) bool {
	t.Helper()
	for _, c := range st.Commands {
		if r, ok := c.(*instructions.RunCommand); ok {
			line := strings.Join(r.CmdLine, " ")
			if strings.Contains(line, "apt-get install") && strings.Contains(" "+strings.ReplaceAll(line, "\n", " ")+" ", " "+pkg+" ") {
				return true
			}
		}
	}
	return false
}

// dockerfileStages is the Dockerfile as BuildKit reads it.
func dockerfileStages(t *testing.T) []instructions.Stage {
	t.Helper()
	f, err := os.Open("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	stages, _, err := instructions.Parse(res.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile instructions: %v", err)
	}
	return stages
}

// dockerfileEnv is the environment the Dockerfile's final stage sets.
func dockerfileEnv(t *testing.T) map[string]string {
	t.Helper()
	stages := dockerfileStages(t)
	// Values as the builder sets them: quotes removed, earlier variables
	// expanded.
	lex := shell.NewLex('\\')
	env := map[string]string{}
	var list []string
	for _, c := range stages[len(stages)-1].Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				v, _, err := lex.ProcessWord(kv.Value, shell.EnvsFromSlice(list))
				if err != nil {
					t.Fatalf("ENV %s=%s: %v", kv.Key, kv.Value, err)
				}
				env[kv.Key] = v
				list = append(list, kv.Key+"="+v)
			}
		}
	}
	return env
}
