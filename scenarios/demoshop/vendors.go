package demoshop

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// GA4ID is the demo shop's GA4 measurement id (Options.Vendors).
const GA4ID = "G-DEMO000001"

// VendorHosts are the third-party hosts the demo shop's pages reach with
// Options.Vendors: Stripe.js, Google's tag and GA4's collection endpoints.
// StartVendors answers for all of them.
func VendorHosts() []string {
	return []string{"js.stripe.com", "www.googletagmanager.com", "region1.google-analytics.com", "www.google-analytics.com"}
}

// Vendors is the stand-in of the vendors' servers: Stripe.js v3 and its
// card frame, gtag.js, and GA4's /g/collect (204, counted in hits). It
// tells the vendors apart by Host, as the real ones are apart.
type Vendors struct {
	hits atomic.Int64 // /g/collect requests that reached it
}

// CollectHits is how many GA4 hits reached the stand-in collector: none
// while the probe intercepts analytics, as it does unless told otherwise.
func (v *Vendors) CollectHits() int64 { return v.hits.Load() }

func (v *Vendors) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		host = r.Host
	}
	file := func(name, typ string) {
		data, err := web.ReadFile("web/vendors/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", typ)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(data)
	}
	switch {
	case host == "js.stripe.com" && r.URL.Path == "/v3/":
		file("stripe.js", "text/javascript; charset=utf-8")
	case host == "js.stripe.com" && r.URL.Path == "/v3/elements-inner-card-demo.html":
		file("card.html", "text/html; charset=utf-8")
	case host == "www.googletagmanager.com" && r.URL.Path == "/gtag/js":
		file("gtag.js", "text/javascript; charset=utf-8")
	case strings.HasSuffix(host, "google-analytics.com") && r.URL.Path == "/g/collect":
		v.hits.Add(1)
		io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

// VendorServer is Vendors served over TLS on loopback.
type VendorServer struct {
	*Vendors
	// Addr is the server's host:port.
	Addr string
	// SPKI is the base64 SHA-256 of its certificate's public key: the one
	// certificate a browser is told to accept for VendorHosts (Chrome's
	// --ignore-certificate-errors-spki-list), none other.
	SPKI string
	stop func()
}

// ResolverRules are Chrome's --host-resolver-rules sending VendorHosts to
// the server.
func (s *VendorServer) ResolverRules() string {
	hosts := VendorHosts()
	rules := make([]string, len(hosts))
	for i, h := range hosts {
		rules[i] = "MAP " + h + " " + s.Addr
	}
	return strings.Join(rules, ", ")
}

// Close stops the server.
func (s *VendorServer) Close() { s.stop() }

// StartVendors serves Vendors over TLS on a free loopback port, with a
// certificate made now for VendorHosts (self-signed: see SPKI).
func StartVendors(ctx context.Context, log *slog.Logger) (*VendorServer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cert, spki, err := vendorCert()
	if err != nil {
		return nil, fmt.Errorf("demo vendors: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo vendors listen: %w", err)
	}
	v := &Vendors{}
	srv := &http.Server{Handler: v, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ErrorLog:  slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("demo vendors stopped", "err", err)
		}
	}()
	stop := func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		<-done
	}
	return &VendorServer{Vendors: v, Addr: ln.Addr().String(), SPKI: spki, stop: stop}, nil
}

// vendorCert makes a self-signed certificate for VendorHosts, valid for a
// day, and the base64 SHA-256 of its public key.
func vendorCert() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "storeprobe demo vendors"},
		DNSNames:     VendorHosts(),
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	sum := sha256.Sum256(pub)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, base64.StdEncoding.EncodeToString(sum[:]), nil
}
