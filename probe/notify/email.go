package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"

	"github.com/storeprobe/storeprobe/probe"
	"github.com/storeprobe/storeprobe/probe/alert"
)

// TLS modes of the email notifier.
const (
	TLSStartTLS = "starttls" // the default: plain connect, then STARTTLS, required
	TLSImplicit = "tls"      // TLS from the first byte (port 465)
	TLSNone     = "none"     // plain text throughout; no credentials allowed
)

// email sends one message per notification to every recipient over SMTP
// (RFC 5321) with STARTTLS (RFC 3207) unless configured otherwise, and AUTH
// PLAIN (RFC 4954) when a username is set: a multipart/alternative MIME
// message (RFC 2046 §5.1.4) with a text/plain and a text/html part.
type email struct {
	base
	addr, host string // host:port, host
	mode       string
	tlsConf    *tls.Config
	username   string
	password   string
	from       *mail.Address
	to         []*mail.Address
	html       *template.Template
}

func newEmail(b base, n probe.Notifier, v *validator) Notifier {
	e := &email{base: b, mode: n.TLS, username: n.Username, password: n.Secret, html: emailTemplate()}
	v.noHeaders(n)
	if e.mode == "" {
		e.mode = TLSStartTLS
	}
	host, port, err := net.SplitHostPort(n.SMTP)
	switch {
	case n.SMTP == "":
		v.bad("smtp", "missing: the server as host:port")
	case err != nil || host == "" || port == "":
		v.bad("smtp", "want host:port")
	default:
		e.addr, e.host = n.SMTP, host
	}
	switch e.mode {
	case TLSStartTLS, TLSImplicit:
		e.tlsConf = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		if n.CAFile != "" {
			pool, err := loadCAs(n.CAFile)
			if err != nil {
				v.bad("ca_file", "%v", err)
			}
			e.tlsConf.RootCAs = pool
		}
	case TLSNone:
		if n.CAFile != "" {
			v.bad("ca_file", "unused with tls: none")
		}
		if n.Username != "" {
			v.bad("tls", "none would send the username and password in plain text: use starttls or tls")
		}
	default:
		v.bad("tls", "unknown mode %q: want starttls, tls or none", n.TLS)
	}
	switch {
	case n.Username != "":
		v.secret(n, "SMTP password")
	case n.Secret != "":
		v.bad("username", "missing: secret_env holds an SMTP password, for which user?")
	}
	if n.From == "" {
		v.bad("from", "missing")
	} else if a, err := mail.ParseAddress(n.From); err != nil {
		v.bad("from", "not an email address: %v", err)
	} else {
		e.from = a
	}
	if len(n.To) == 0 {
		v.bad("to", "missing: at least one address")
	}
	for _, to := range n.To {
		a, err := mail.ParseAddress(to)
		if err != nil {
			v.bad("to", "%q is not an email address: %v", clip(to, 80), err)
			continue
		}
		e.to = append(e.to, a)
	}
	return e
}

func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate in it", path)
	}
	return pool, nil
}

// Notify makes one SMTP transaction. It refuses to go on, permanently,
// when STARTTLS is required and the server does not offer it: the message
// and the credentials would otherwise cross the network in plain text. A
// recipient the server refuses while others are accepted makes the
// delivery permanent-failed after sending: a retry would mail the others
// twice.
func (e *email) Notify(ctx context.Context, n alert.Notification) (err error) {
	if e.skips(n) {
		return nil
	}
	where := "smtp://" + e.addr
	msg, err := e.message(e.scrub(n), e.opts.now())
	if err != nil {
		return permanent(ReasonOther, "build message: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return connError(where, err)
	}
	// The SMTP client has no context: the deadline bounds every read and
	// write, and cancelling closes the connection under it.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = connError(where, ctx.Err())
		}
	}()
	if e.mode == TLSImplicit {
		tc := tls.Client(conn, e.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return connError(where, err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, e.host)
	if err != nil {
		conn.Close()
		return smtpError(where, "greeting", err)
	}
	defer c.Close()
	if err := c.Hello(e.opts.helo); err != nil {
		return smtpError(where, "EHLO", err)
	}
	if e.mode == TLSStartTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanent(ReasonTLS, "%s: the server does not offer STARTTLS; not sending in plain text (tls: none allows it, without credentials)", where)
		}
		if err := c.StartTLS(e.tlsConf); err != nil {
			return smtpError(where, "STARTTLS", err)
		}
	}
	if e.username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return permanent(ReasonRejected, "%s: the server offers no AUTH, and a username is set", where)
		}
		// net/smtp's PLAIN refuses an unencrypted connection to anything
		// but localhost itself; ours is always encrypted here.
		if err := c.Auth(smtp.PlainAuth("", e.username, e.password, e.host)); err != nil {
			return smtpError(where, "AUTH", err)
		}
	}
	if err := c.Mail(e.from.Address); err != nil {
		return smtpError(where, "MAIL FROM", err)
	}
	var refused []error
	for _, to := range e.to {
		if err := c.Rcpt(to.Address); err != nil {
			refused = append(refused, smtpError(where, "RCPT TO "+to.Address, err))
		}
	}
	if len(refused) == len(e.to) {
		return refused[0]
	}
	w, err := c.Data()
	if err != nil {
		return smtpError(where, "DATA", err)
	}
	if _, err := w.Write(msg); err != nil {
		return smtpError(where, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return smtpError(where, "end of DATA", err)
	}
	// The message is accepted; a failed QUIT changes nothing.
	_ = c.Quit()
	if len(refused) > 0 {
		return &Error{Reason: ReasonRejected, Permanent: true,
			Err: fmt.Errorf("sent to %d of %d recipients: %w", len(e.to)-len(refused), len(e.to), errors.Join(refused...))}
	}
	return nil
}

// message renders n as an RFC 5322 message: headers, then a
// multipart/alternative body with the text part first (the least
// preferred, RFC 2046 §5.1.4), both UTF-8 in quoted-printable.
func (e *email) message(n alert.Notification, now time.Time) ([]byte, error) {
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	to := make([]string, len(e.to))
	for i, a := range e.to {
		to[i] = a.String()
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := e.from.Address[strings.LastIndexByte(e.from.Address, '@')+1:]
	mw := multipart.NewWriter(&buf)

	h("From", e.from.String())
	h("To", strings.Join(to, ", "))
	// Q-encoding encodes control characters too, so nothing from the
	// notification can start a header of its own.
	h("Subject", mime.QEncoding.Encode("utf-8", clip(title(n), 200)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", `multipart/alternative; boundary="`+mw.Boundary()+`"`)
	// RFC 3834: no vacation auto-replies to an alert.
	h("Auto-Submitted", "auto-generated")
	buf.WriteString("\r\n")

	var html bytes.Buffer
	if err := e.html.Execute(&html, emailView(n)); err != nil {
		return nil, err
	}
	for _, part := range []struct{ typ, body string }{
		{"text/plain; charset=utf-8", emailText(n)},
		{"text/html; charset=utf-8", html.String()},
	} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// emailText is the plain-text part: the title, the failure, the details.
func emailText(n alert.Notification) string {
	var b strings.Builder
	b.WriteString(title(n) + "\n\n")
	if f := failure(n); f != "" {
		b.WriteString(f + "\n\n")
	}
	for _, f := range fields(n) {
		if f.Label != "Failure" {
			fmt.Fprintf(&b, "%-11s %s\n", f.Label+":", f.Value)
		}
	}
	b.WriteString("\n-- \nstoreprobe\n")
	return b.String()
}

// htmlView is what the HTML part shows; html/template escapes every value
// for its context (text, attribute, URL), so nothing a check or its target
// put in a message can add markup or a javascript: link.
type htmlView struct {
	Title, Failure string
	Color          template.CSS // a constant of ours, never user text
	Fields         []htmlField
}

type htmlField struct {
	Label, Value string
	Link         bool
}

func emailView(n alert.Notification) htmlView {
	v := htmlView{Title: title(n), Failure: failure(n), Color: "#b00020"}
	switch {
	case n.Status == alert.Resolved:
		v.Color = "#1b7f3b"
	case n.Severity == alert.Warning:
		v.Color = "#b36b00"
	case n.Severity == alert.Info:
		v.Color = "#1f5fa8"
	}
	for _, f := range fields(n) {
		if f.Label != "Failure" {
			v.Fields = append(v.Fields, htmlField{f.Label, f.Value, (f.Label == "URL" || f.Label == "Runbook") && linkable(f.Value)})
		}
	}
	return v
}

func emailTemplate() *template.Template {
	return template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html><body style="font-family:sans-serif">
<h2 style="color:{{.Color}}">{{.Title}}</h2>
{{with .Failure}}<p><strong>{{.}}</strong></p>
{{end}}<table cellpadding="4" style="border-collapse:collapse">
{{range .Fields}}<tr><th align="left">{{.Label}}</th><td>{{if .Link}}<a href="{{.Value}}">{{.Value}}</a>{{else}}{{.Value}}{{end}}</td></tr>
{{end}}</table>
<p style="color:#777">storeprobe</p>
</body></html>
`))
}
