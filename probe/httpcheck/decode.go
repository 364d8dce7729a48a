package httpcheck

import (
	"bufio"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/andybalholm/brotli"
)

// acceptEncoding is sent unless the check sets its own: the codings a
// browser asks for, so the probe transfers what a shopper's browser does.
// Whatever asked for a coding, the body is decoded here (the transport's
// own gzip handling is off: it stops as soon as a request names
// Accept-Encoding itself, and it knows no deflate or br).
const acceptEncoding = "gzip, deflate, br"

// contentCodings lists the codings applied to a response body, in the
// order they were applied; identity is dropped.
func contentCodings(h http.Header) []string {
	var out []string
	for _, v := range h.Values("Content-Encoding") {
		for _, c := range strings.Split(v, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if c != "" && c != "identity" {
				out = append(out, c)
			}
		}
	}
	return out
}

// errUnsupportedCoding is a coding no decoder here knows.
type errUnsupportedCoding string

func (e errUnsupportedCoding) Error() string {
	return fmt.Sprintf("Content-Encoding %q: storeprobe decodes gzip, deflate and br only", string(e))
}

// rawBody is the body as it came off the connection. It remembers a read
// error, so a failure can be told apart: the connection's (reset, timeout:
// classified as any transfer error) or the decoder's (a corrupt stream:
// protocol). It also caps what a decoder may pull: a stream that decodes
// to nothing (endless empty blocks) must not keep the probe reading.
type rawBody struct {
	r    io.Reader
	left int64
	err  error
	over bool
}

func (b *rawBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.over = true
		return 0, errRawCap
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

var errRawCap = errors.New("the encoded body is over its cap")

// decoder wraps raw in a decoder per coding, the last applied first.
// Each decoder is built lazily, on the first read: an empty body (a 204
// mislabelled gzip, a HEAD) is then an empty body, as Go's own gzip
// handling treats it, rather than a header error.
func decoder(codings []string, raw io.Reader) (io.Reader, error) {
	r := raw
	for i := len(codings) - 1; i >= 0; i-- {
		var mk func(io.Reader) (io.Reader, error)
		switch codings[i] {
		case "gzip", "x-gzip":
			mk = func(r io.Reader) (io.Reader, error) { return gzip.NewReader(r) }
		case "deflate":
			mk = newDeflateReader
		case "br":
			mk = func(r io.Reader) (io.Reader, error) { return brotli.NewReader(r), nil }
		default:
			return nil, errUnsupportedCoding(codings[i])
		}
		r = &lazyReader{src: r, mk: mk}
	}
	return r, nil
}

// newDeflateReader reads "deflate", which RFC 9110 defines as zlib-wrapped
// but which some servers send raw, as browsers accept: the zlib header
// (CMF/FLG, a multiple of 31 with method 8) tells them apart.
func newDeflateReader(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	hdr, err := br.Peek(2)
	if err == nil && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
		return zlib.NewReader(br)
	}
	return flate.NewReader(br), nil
}

// lazyReader builds its decoder on the first read that finds data.
type lazyReader struct {
	src io.Reader
	mk  func(io.Reader) (io.Reader, error)
	dec io.Reader
}

func (l *lazyReader) Read(p []byte) (int, error) {
	if l.dec == nil {
		br := bufio.NewReader(l.src)
		if _, err := br.Peek(1); err != nil {
			return 0, err // io.EOF: an empty body decodes to nothing
		}
		d, err := l.mk(br)
		if err != nil {
			return 0, err
		}
		l.dec = d
	}
	return l.dec.Read(p)
}
