package notify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storeprobe/storeprobe/probe/componenttest"
)

// mailpit is the SMTP server the email tests deliver to: $MAILPIT, else
// $GOPATH/bin/mailpit (where `make deps` builds it), under the repository's
// one rule for components (probe/componenttest).
func mailpit() componenttest.Component {
	return componenttest.Component{Name: "mailpit", PathVar: "MAILPIT", RequireVar: "STOREPROBE_REQUIRE_MAILPIT",
		Install: "builds mailpit v1.33.1 into $GOPATH/bin", Defaults: componenttest.InGOPATH("mailpit")}
}

// alertmanagerBinary is the Prometheus Alertmanager the alertmanager tests
// post to: $ALERTMANAGER, else Debian's package's binary.
func alertmanagerBinary() componenttest.Component {
	return componenttest.Component{Name: "Alertmanager", PathVar: "ALERTMANAGER", RequireVar: "STOREPROBE_REQUIRE_ALERTMANAGER",
		Install: "installs Debian's prometheus-alertmanager", Defaults: componenttest.At("/usr/bin/prometheus-alertmanager")}
}

func TestComponentRule(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "bin", "mailpit")
	plain := filepath.Join(dir, "plain")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		env              map[string]string
		short            bool
		path, skip, fail string // substrings; "" must be empty
	}{
		{"explicit path", map[string]string{"MAILPIT": exe}, false, exe, "", ""},
		{"default from GOPATH", map[string]string{"GOPATH": dir}, false, exe, "", ""},
		{"short skips even when required", map[string]string{"MAILPIT": exe, "STOREPROBE_REQUIRE_MAILPIT": "1"}, true, "", "-short", ""},
		{"not executable, not required", map[string]string{"MAILPIT": plain, "GOPATH": dir}, false, "", "STOREPROBE_REQUIRE_MAILPIT is unset", ""},
		{"not executable is never swapped for the default", map[string]string{"MAILPIT": plain, "GOPATH": dir, "STOREPROBE_REQUIRE_MAILPIT": "1"}, false, "", "", "make deps"},
		{"missing default, required", map[string]string{"GOPATH": filepath.Join(dir, "none"), "STOREPROBE_REQUIRE_MAILPIT": "1"}, false, "", "", "STOREPROBE_REQUIRE_MAILPIT is set"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path, skip, fail := lookupParts(mailpit(), func(k string) string { return tc.env[k] }, tc.short)
			for _, c := range []struct{ got, want, what string }{{path, tc.path, "path"}, {skip, tc.skip, "skip"}, {fail, tc.fail, "fail"}} {
				if c.want == "" && c.got != "" || !strings.Contains(c.got, c.want) {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if fail != "" && !strings.Contains(fail, "MAILPIT") {
				t.Errorf("fail message does not name MAILPIT: %q", fail)
			}
		})
	}
}

func lookupParts(c componenttest.Component, getenv func(string) string, short bool) (path, skip, fail string) {
	r := c.Lookup(getenv, short)
	return r.Path, r.Skip, r.Fail
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess runs bin with args until the test ends, logging to a file
// shown when ready never answers true.
func startProcess(t testing.TB, bin string, args []string, ready func() bool) {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), filepath.Base(bin)+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for !ready() {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s exited during startup:\n%s", bin, b)
		default:
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logPath)
			t.Fatalf("%s not ready after 30s:\n%s", bin, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// httpOK reports whether GET url answers 200.
func httpOK(url string) bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// testCA is a certificate authority made for one test, and a server
// certificate it signed for 127.0.0.1 and localhost.
type testCA struct {
	CAFile, CertFile, KeyFile string
}

func newTestCA(t testing.TB) testCA {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "storeprobe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := testCA{CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem")}
	for path, block := range map[string]*pem.Block{
		c.CAFile:   {Type: "CERTIFICATE", Bytes: caDER},
		c.CertFile: {Type: "CERTIFICATE", Bytes: der},
		c.KeyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return c
}
