package github

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// unreadBody is what go-github leaves of a response: the rest of the
// body (a newline, a chunked body's end) that its JSON decoder stops
// before. It records what happened to it.
type unreadBody struct {
	rest   io.Reader
	atEOF  bool
	closed bool
}

func (b *unreadBody) Read(p []byte) (int, error) {
	n, err := b.rest.Read(p)
	if errors.Is(err, io.EOF) {
		b.atEOF = true
	}
	return n, err
}

func (b *unreadBody) Close() error { b.closed = true; return nil }

// TestClosingAResponseReadsItsRest: an HTTP/1.1 connection is kept only
// when its response was read to the end before being closed.
func TestClosingAResponseReadsItsRest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		rest      string
		wantAtEOF bool
	}{
		{"a newline", "\n", true},
		{"nothing", "", true},
		{"more than maxDrain: the connection is given up", strings.Repeat("x", maxDrain+1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := &unreadBody{rest: strings.NewReader(tc.rest)}
			if err := (drainingBody{b}).Close(); err != nil {
				t.Fatal(err)
			}
			if b.atEOF != tc.wantAtEOF || !b.closed {
				t.Fatalf("read to the end: %v, closed: %v; want %v, true", b.atEOF, b.closed, tc.wantAtEOF)
			}
		})
	}
}
