package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"regexp"
	"strings"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/httpcheck"
)

// runCheck is `storeprobe check URL [flags]`: one HTTP(S) check now.
// Exit 0 if it passed, 1 if it failed (the report is printed either way),
// 2 for bad flags or a bad check definition.
func runCheck(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet(a, "check", "URL [flags]")
	var (
		method       = fs.String("method", "GET", "HTTP method")
		headers      = fs.StringArray("header", nil, "request header 'Name: value' (repeatable)")
		body         = fs.String("body", "", "request body")
		timeout      = fs.Duration("timeout", probe.DefaultTimeout, "deadline for the whole check, redirects included (each warm-up request has one of its own)")
		expectStatus = fs.String("expect-status", probe.DefaultStatus.String(), "accepted status codes: ranges and lists, e.g. 200-399, 200,301, 2xx")
		expectBody   = fs.StringArray("expect-body", nil, "regular expression the body must match (repeatable; all must match)")
		expectHeader = fs.StringArray("expect-header", nil, "response header 'Name: REGEX' that must match (repeatable)")
		expectNoBody = fs.StringArray("expect-no-body", nil, "regular expression the body must not match, e.g. an error page served with 200 (repeatable)")
		expectNoHdr  = fs.StringArray("expect-no-header", nil, "response header 'Name: REGEX' that must not match; an absent header passes (repeatable)")
		requireTLS   = fs.Bool("require-tls", false, "fail as assertion if the final hop is plain http")
		maxDuration  = fs.Duration("max-duration", 0, "fail as too_slow if the check takes longer (0: no limit)")
		insecure     = fs.Bool("insecure", false, "do not verify the server's certificate")
		caFile       = fs.String("ca-file", "", "PEM file of CAs to trust instead of the system's")
		clientCert   = fs.String("client-cert", "", "PEM client certificate for mutual TLS")
		clientKey    = fs.String("client-key", "", "PEM key of --client-cert")
		proxy        = fs.String("proxy", "", "HTTP(S) proxy URL; dns and connect then measure the way to the proxy")
		resolver     = fs.String("resolver", "", "DNS server IP:PORT to use instead of the system's")
		ipVersion    = fs.String("ip-version", "any", "address family to connect with: 4, 6 or any")
		follow       = fs.Bool("follow-redirects", true, "follow redirects")
		maxRedirects = fs.Int("max-redirects", probe.DefaultMaxRedirects, "most redirects to follow (0: none); more fail as redirect_loop")
		userAgent    = fs.String("user-agent", probe.UserAgent(a.version), "User-Agent header")
		output       = fs.String("output", "text", "output format: text or json")
		secretHdrs   = fs.StringArray("secret-header", nil, "header name whose value is redacted, besides Authorization, Cookie, Proxy-Authorization (repeatable)")
		name         = fs.String("name", "", "check name in the output (default: the URL's host)")
		maxBody      = fs.String("max-body", "10MiB", "body size cap; larger fails as too_large")
		verbose      = fs.BoolP("verbose", "v", false, "log each hop to stderr (secrets redacted)")
		warmup       = fs.Int("warmup", 0, "unmeasured requests to send first, 0-10 (fill the CDN's cache); their failures are counted, not judged")
		expectCache  = fs.StringSlice("expect-cache", nil, "CDN cache status the response must have: hit, miss, expired, stale, bypass, dynamic, unknown (comma list or repeatable); else assertion")
		securityOn   = fs.Bool("security", false, "judge the response against OWASP's secure-headers guidance; a finding at --security-fail-on or above fails as assertion")
		securityLvl  = fs.String("security-fail-on", string(probe.DefaultSecurityFailOn), "severity from which a security finding fails the check: info, low, medium or high (implies --security)")
		minTLS       = fs.String("min-tls", "", "fail as tls if the negotiated TLS version is older: 1.0, 1.1, 1.2 or 1.3 (1.2 is always the floor)")
		certMinDays  = fs.Int("cert-min-days", 0, "fail as tls if the certificate expires in fewer days (0: no minimum)")
	)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one URL, got %d arguments (see storeprobe check --help)", fs.NArg())
	}
	if *output != "text" && *output != "json" {
		return usagef("--output %q: want text or json", *output)
	}

	c := probe.Check{Name: *name, Type: probe.TypeHTTP, URL: fs.Arg(0), Timeout: *timeout}
	if c.Timeout <= 0 {
		return usagef("--timeout must be positive")
	}
	if c.Name == "" {
		c.Name = "check"
		if u, err := url.Parse(c.URL); err == nil && u.Hostname() != "" {
			c.Name = u.Hostname()
		}
	}
	s := &c.HTTP
	s.Method, s.Body, s.MaxDuration = *method, *body, *maxDuration
	s.Insecure, s.CAFile, s.ClientCert, s.ClientKey = *insecure, *caFile, *clientCert, *clientKey
	s.Proxy, s.Resolver, s.UserAgent, s.SecretHeaders = *proxy, *resolver, *userAgent, *secretHdrs
	s.FollowRedirects, s.MaxRedirects = *follow, *maxRedirects
	if *maxRedirects < 0 {
		return usagef("--max-redirects must not be negative")
	}
	if *maxRedirects == 0 {
		s.FollowRedirects = false // 0 would otherwise mean "the default"
	}
	var err error
	for _, h := range *headers {
		hd, err := probe.ParseHeader(h)
		if err != nil {
			return usagef("--header: %w", err)
		}
		s.Headers = append(s.Headers, hd)
	}
	if s.ExpectStatus, err = probe.ParseStatusRanges(*expectStatus); err != nil {
		return usagef("--expect-status: %w", err)
	}
	for _, b := range *expectBody {
		re, err := regexp.Compile(b)
		if err != nil {
			return usagef("--expect-body: %w", err)
		}
		s.ExpectBody = append(s.ExpectBody, re)
	}
	for _, h := range *expectHeader {
		e, err := probe.ParseHeaderExpectation(h)
		if err != nil {
			return usagef("--expect-header: %w", err)
		}
		s.ExpectHeaders = append(s.ExpectHeaders, e)
	}
	for _, b := range *expectNoBody {
		re, err := regexp.Compile(b)
		if err != nil {
			return usagef("--expect-no-body: %w", err)
		}
		s.ExpectBodyNot = append(s.ExpectBodyNot, re)
	}
	for _, h := range *expectNoHdr {
		e, err := probe.ParseHeaderExpectation(h)
		if err != nil {
			return usagef("--expect-no-header: %w", err)
		}
		s.ExpectHeadersNot = append(s.ExpectHeadersNot, e)
	}
	s.RequireTLS = *requireTLS
	switch *ipVersion {
	case "any", "":
	case "4":
		s.IPVersion = 4
	case "6":
		s.IPVersion = 6
	default:
		return usagef("--ip-version %q: want 4, 6 or any", *ipVersion)
	}
	if s.MaxBodyBytes, err = probe.ParseByteSize(*maxBody); err != nil {
		return usagef("--max-body: %w", err)
	}
	if *warmup < 0 || *warmup > probe.MaxWarmup {
		return usagef("--warmup %d: want 0 to %d", *warmup, probe.MaxWarmup)
	}
	s.Warmup = *warmup
	for _, v := range *expectCache {
		cs, err := probe.ParseCacheStatus(v)
		if err != nil {
			return usagef("--expect-cache: %w", err)
		}
		s.ExpectCache = append(s.ExpectCache, cs)
	}
	s.Security = *securityOn || fs.Changed("security-fail-on")
	if s.SecurityFailOn, err = probe.ParseSeverity(*securityLvl); err != nil {
		return usagef("--security-fail-on: %w", err)
	}
	if *minTLS != "" {
		if s.MinTLS, err = probe.ParseTLSVersion(*minTLS); err != nil {
			return usagef("--min-tls: %w", err)
		}
	}
	if *certMinDays < 0 {
		return usagef("--cert-min-days must not be negative")
	}
	s.CertMinDays = *certMinDays

	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	k, err := httpcheck.New(c, httpcheck.WithVersion(a.version), httpcheck.WithLogger(log))
	if err != nil {
		return usageError{checkFlagErrors(err)}
	}
	res := k.Run(ctx)

	return printResult(a, *output, res, writeCheckText)
}

// checkFlagErrors renames httpcheck's config fields to the flags that set them.
func checkFlagErrors(err error) error {
	errs := probe.LeafErrors(err)
	msgs := make([]string, 0, len(errs))
	for _, e := range errs {
		var fe *probe.FieldError
		if !errors.As(e, &fe) {
			msgs = append(msgs, e.Error())
			continue
		}
		switch fe.Field {
		case "url":
			msgs = append(msgs, "URL: "+fe.Err.Error())
		case "headers":
			msgs = append(msgs, "--header: "+fe.Err.Error())
		case "expect.cache", "security.fail_on", "tls.min_version", "tls.cert_min_days":
			flag := map[string]string{"expect.cache": "--expect-cache", "security.fail_on": "--security-fail-on",
				"tls.min_version": "--min-tls", "tls.cert_min_days": "--cert-min-days"}[fe.Field]
			msgs = append(msgs, flag+": "+fe.Err.Error())
		default:
			msgs = append(msgs, "--"+strings.ReplaceAll(fe.Field, "_", "-")+": "+fe.Err.Error())
		}
	}
	return errors.New(strings.Join(msgs, "; "))
}

// writeCheckText prints one summary line, the failure if any, and a waterfall
// bar per phase of the final hop, scaled to its duration.
func writeCheckText(w io.Writer, r probe.Result) {
	d := r.HTTPDetails
	verdict := "PASS"
	if !r.OK {
		verdict = "FAIL"
	}
	status := "-"
	if d.StatusCode != 0 {
		status = fmt.Sprintf("%d %s", d.StatusCode, d.HTTPVersion)
	}
	fmt.Fprintf(w, "%s  %s  %s  %s  %.1f ms  %s body, %s on the wire  %d redirects",
		verdict, r.Check, r.FinalURL, status, d.Timings.Total, formatBytes(d.Bytes), formatBytes(d.WireBytes), d.Redirects)
	if d.RemoteIP != "" {
		fmt.Fprintf(w, "  %s", d.RemoteIP)
	}
	fmt.Fprintln(w)
	if r.Failure != nil {
		fmt.Fprintf(w, "  failure: %s\n", r.Failure.Error())
	}
	const width = 40
	t := d.Timings
	span := t.Total - t.Redirect
	at := 0.0
	col := func(ms float64) int {
		if span <= 0 {
			return 0
		}
		return int(math.Round(ms / span * width))
	}
	for _, p := range []struct {
		name string
		ms   float64
	}{{"dns", t.DNS}, {"connect", t.Connect}, {"tls", t.TLS}, {"wait", t.Wait}, {"transfer", t.Transfer}} {
		from, to := col(at), col(at+p.ms)
		at += p.ms
		if to == from && p.ms > 0 {
			// Visible even if under one column; at the right edge it takes
			// the last column rather than overflowing the frame.
			from = min(from, width-1)
			to = from + 1
		}
		bar := strings.Repeat(" ", from) + strings.Repeat("█", to-from)
		if to-from == 1 && col(p.ms) == 0 {
			bar = strings.Repeat(" ", from) + "▏"
		}
		fmt.Fprintf(w, "  %-9s %10.3f ms  |%-*s|\n", p.name, p.ms, width, bar)
	}
	fmt.Fprintf(w, "  %-9s %10.3f ms\n  %-9s %10.3f ms\n  %-9s %10.3f ms\n", "ttfb", t.TTFB, "redirect", t.Redirect, "total", t.Total)
	if tl := d.TLS; tl != nil {
		session := tl.Version + " " + tl.Cipher
		if tl.Version == "" { // verification failed: the leaf as presented
			session = "not verified"
		}
		fmt.Fprintf(w, "  tls: %s, %s (issuer %s), expires %s (%.1f days)\n", session,
			tl.CertSubject, tl.CertIssuer, tl.CertNotAfter.Format("2006-01-02"), tl.CertDaysLeft)
	}
	writeEdgeText(w, d)
}

// writeEdgeText prints what the response said about its CDN, the warm-up,
// the origin and the security findings, a line each (the findings one
// per line), when there is any.
func writeEdgeText(w io.Writer, d *probe.HTTPDetails) {
	if c := d.CDN; c != nil && c.Provider != "none" {
		fmt.Fprintf(w, "  cdn: %s, cache %s", c.Provider, c.Cache)
		if c.CacheRaw != "" {
			fmt.Fprintf(w, " (%q)", c.CacheRaw)
		}
		fmt.Fprintf(w, ", pop %s", c.POP)
		if c.AgeS != nil {
			fmt.Fprintf(w, ", age %d s", *c.AgeS)
		}
		fmt.Fprintln(w)
	}
	if wu := d.Warmup; wu != nil {
		fmt.Fprintf(w, "  warm-up: %d requests, %d failed\n", wu.Requests, wu.Failed)
	}
	if o := d.Origin; o != nil {
		verdict := "ok"
		if o.Failure != nil {
			verdict = o.Failure.Error()
		}
		fmt.Fprintf(w, "  origin: %s  %d  ttfb %.1f ms  total %.1f ms  %s\n", o.FinalURL, o.StatusCode, o.Timings.TTFB, o.Timings.Total, verdict)
	}
	if sr := d.Security; sr != nil {
		fmt.Fprintf(w, "  security: %d findings (fails on %s and above)\n", len(sr.Findings), sr.FailOn)
		for _, f := range sr.Findings {
			fmt.Fprintf(w, "    %-6s  %-23s  %s\n", f.Severity, f.ID, f.Message)
		}
	}
}

func formatBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
