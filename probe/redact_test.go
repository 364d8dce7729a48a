package probe

import (
	"strings"
	"testing"
)

func TestLooksSecret(t *testing.T) {
	for name, want := range map[string]bool{
		"access_token": true, "api_key": true, "apikey": true, "X-Api-Key": true, "X-Signature": true,
		"sessionid": true, "sid": true, "password": true, "token": true, "auth": true, "X-Auth-Token": true,
		"jsessionid": true, "JSESSIONID": true, "PHPSESSID": true,
		"page": false, "q": false, "sort": false, "category": false, "monkey": false, "id": false, "utm_source": false,
	} {
		if got := LooksSecret(name); got != want {
			t.Errorf("LooksSecret(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestRedactorURL(t *testing.T) {
	tests := []struct {
		in     string
		secret []string // must not survive
		keep   []string // must survive
	}{
		{in: "https://shop.test/cart?page=2", keep: []string{"shop.test", "page=2"}},
		{in: "https://alice:hunter2pw@shop.test/", secret: []string{"hunter2pw", "alice"}, keep: []string{"shop.test", Redacted}},
		{in: "https://shop.test/api?access_token=abcd1234efgh&page=3", secret: []string{"abcd1234efgh"}, keep: []string{"page=3"}},
		{in: "https://shop.test/?sig=deadbeef99&X-Amz-Signature=cafe0001", secret: []string{"deadbeef99", "cafe0001"}},
		{in: "https://tok3nuser@shop.test/", secret: []string{"tok3nuser"}},
		{in: "http://[::1]:8080/x?session=s3ss10nval", secret: []string{"s3ss10nval"}, keep: []string{"[::1]:8080"}},
		// OAuth implicit-flow callbacks carry tokens in the fragment.
		{in: "https://shop.test/cb#access_token=FRAGSECRET1&state=xyz&token_type=bearer",
			secret: []string{"FRAGSECRET1"}, keep: []string{"state=xyz", "#", "/cb"}},
		{in: "https://shop.test/ok#section-2", keep: []string{"#section-2"}},
		// Java storefronts put the session in a path parameter.
		{in: "https://shop.test/ok;jsessionid=PATHSESSION1?page=2", secret: []string{"PATHSESSION1"}, keep: []string{"/ok;jsessionid=", "page=2"}},
		{in: "https://shop.test/c;sid=PATHSESSION2/p;JSESSIONID=PATHSESSION3", secret: []string{"PATHSESSION2", "PATHSESSION3"}, keep: []string{"/c;sid=", "/p;"}},
		{in: "https://shop.test/a;v=2/b", keep: []string{"/a;v=2/b"}},
		// Pairs url.Query drops (bad escapes, ';' separators) are still
		// seen: the raw query is split here.
		{in: "https://shop.test/?token=abc%zzsecret&page=4", secret: []string{"abc%zzsecret"}, keep: []string{"page=4"}},
		{in: "https://shop.test/?page=5;api_key=semik0lonkey", secret: []string{"semik0lonkey"}, keep: []string{"page=5"}},
		{in: "https://shop.test/?x=%zz&q=shoes", keep: []string{"x=%zz", "q=shoes"}},
		{in: "https://shop.test/?acc%65ss_token=esc4ped-key", secret: []string{"esc4ped-key"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r := NewRedactor()
			got := r.URL(tt.in)
			for _, s := range tt.secret {
				if strings.Contains(got, s) {
					t.Errorf("URL(%q) = %q leaks %q", tt.in, got, s)
				}
			}
			for _, s := range tt.keep {
				if !strings.Contains(got, s) {
					t.Errorf("URL(%q) = %q lost %q", tt.in, got, s)
				}
			}
			// Once learned, the secrets are scrubbed from free text too.
			r.LearnURL(tt.in)
			for _, s := range tt.secret {
				msg := r.String("Get " + tt.in + ": failed near " + s)
				if strings.Contains(msg, s) {
					t.Errorf("String leaks %q: %q", s, msg)
				}
			}
		})
	}
}

func TestRedactorUnparseableURL(t *testing.T) {
	r := NewRedactor()
	r.LearnURL("https://u:longpassword@shop.test/")
	if got := r.URL("https://u:longpassword@shop.test/%zz"); strings.Contains(got, "longpassword") {
		t.Fatalf("unparseable URL leaks: %q", got)
	}
}

func TestRedactorHeaders(t *testing.T) {
	r := NewRedactor("X-Shop-Secret", " x-partner ")
	hs := []Header{
		{"Authorization", "Bearer eyJhbGciOi.payload.sig"},
		{"Cookie", "session=abc123def"},
		{"Proxy-Authorization", "Basic dXNlcjpwYXNz"},
		{"X-Shop-Secret", "opensesame"},
		{"X-Partner", "partner-key-77"},
		{"X-Api-Key", "k-0000-1111"},
		{"Accept", "text/html"},
	}
	r.LearnHeaders(hs)
	for _, h := range hs {
		secret := h.Name != "Accept"
		if got := r.HeaderValue(h.Name, h.Value); (got == Redacted) != secret {
			t.Errorf("HeaderValue(%s) = %q", h.Name, got)
		}
		msg := r.String("request with " + h.Name + ": " + h.Value + " failed")
		if secret && strings.Contains(msg, h.Value) {
			t.Errorf("String leaks %s value: %q", h.Name, msg)
		}
		if !secret && !strings.Contains(msg, h.Value) {
			t.Errorf("String mangled %s: %q", h.Name, msg)
		}
	}
	// The credential without its scheme is scrubbed too.
	if got := r.String("token eyJhbGciOi.payload.sig rejected"); strings.Contains(got, "payload") {
		t.Errorf("bare bearer credential leaks: %q", got)
	}
	// Short values are not learned: scrubbing them would mangle numbers.
	r2 := NewRedactor()
	r2.AddValue("42")
	if got := r2.String("status 420"); got != "status 420" {
		t.Errorf("short value scrubbed: %q", got)
	}
	var nilR *Redactor
	if nilR.String("x") != "x" || !nilR.SecretHeader("Cookie") || nilR.SecretHeader("Accept") {
		t.Error("nil Redactor misbehaves")
	}
}

func TestRedactorLongestFirst(t *testing.T) {
	r := NewRedactor()
	r.AddValue("abcd")
	r.AddValue("abcdefgh")
	if got := r.String("x abcdefgh y"); got != "x "+Redacted+" y" {
		t.Fatalf("got %q", got)
	}
}

func TestRedactHeaderLine(t *testing.T) {
	for in, want := range map[string]string{
		"Authorization: Bearer x":             "Authorization: " + Redacted,
		"short":                               "short",
		"Authorization Bearer averylongtoken": "Auth…",
		"Autörization Bearer averylongtoken":  "Autö…", // cut between characters
	} {
		if got := RedactHeaderLine(in); got != want {
			t.Errorf("RedactHeaderLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzRedactorURL(f *testing.F) {
	for _, s := range []string{"https://u:p4ssword@h/?token=t0k3nvalue", "http://h/?a=b", "::", "https://h/?api_key=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := NewRedactor()
		r.LearnURL(s)
		out := r.URL(s)
		for _, v := range r.values {
			if strings.Contains(out, v) {
				t.Fatalf("URL(%q) = %q still holds learned secret %q", s, out, v)
			}
		}
	})
}

func TestCheckRedactor(t *testing.T) {
	c := Check{URL: "https://user:urlpass1@shop.example/?token=tok12345",
		HTTP: HTTPSpec{
			Headers:       []Header{{"Authorization", "Bearer hdrsecret1"}, {"X-Shop-Key", "shopkey99"}, {"Accept", "text/html"}},
			SecretHeaders: []string{"X-Shop-Key"},
			Proxy:         "http://p:proxypass1@127.0.0.1:3128",
		}}
	r := CheckRedactor(c)
	msg := r.String("urlpass1 tok12345 hdrsecret1 shopkey99 proxypass1 text/html")
	if msg != "REDACTED REDACTED REDACTED REDACTED REDACTED text/html" {
		t.Errorf("scrubbed = %q", msg)
	}
	if !r.SecretHeader("x-shop-key") {
		t.Error("the check's secret_headers must be secret")
	}
}
