package httplimit

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stall opens a connection that sends a webhook's headers and the start of
// a 1 MiB body, then nothing more.
func stall(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_, err = io.WriteString(conn, "POST /github/webhook HTTP/1.1\r\nHost: tekbot\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{\"action\":")
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// receive waits for n signals on ch, or fails the test after a deadline.
func receive(t *testing.T, what string, ch <-chan struct{}, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for range n {
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestStalledClientsBeyondTheCapAreTurnedAway: with the cap taken by
// clients that stall mid-body, every further client is answered 503 at
// once and its connection closed, its body never read; once the stalled
// ones go, requests are served again.
func TestStalledClientsBeyondTheCapAreTurnedAway(t *testing.T) {
	t.Parallel()
	const limit, beyond = 4, 32
	var inside, rejected atomic.Int64
	entered, left := make(chan struct{}, limit+beyond), make(chan struct{}, limit+beyond)
	l := New(limit)
	l.Rejected = func(*http.Request) { rejected.Add(1) }
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inside.Add(1)
		entered <- struct{}{}
		defer func() { inside.Add(-1); left <- struct{}{} }()
		if _, err := io.ReadAll(r.Body); err != nil {
			return
		}
		io.WriteString(w, "ok")
	})))
	defer srv.Close()
	addr := srv.Listener.Addr().String()

	var stalled []net.Conn
	for range limit {
		stalled = append(stalled, stall(t, addr))
	}
	receive(t, "the stalled clients to take every slot", entered, limit)

	for i := range beyond {
		conn := stall(t, addr)
		if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
			t.Fatal(err)
		}
		r := bufio.NewReader(conn)
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("client %d beyond the cap: no answer: %v", i, err)
		}
		rest, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("client %d beyond the cap: %s %q, %v; want 503 with Retry-After", i, resp.Status, rest, err)
		}
		// The server hangs up: nothing of the client is kept.
		if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
			t.Errorf("client %d beyond the cap: connection after the 503: %v, want closed by the server", i, err)
		}
	}
	if got := inside.Load(); got != limit {
		t.Errorf("%d requests inside the handler, want the %d admitted", got, limit)
	}
	if got := rejected.Load(); got != beyond {
		t.Errorf("Rejected told of %d requests, want %d", got, beyond)
	}

	for _, c := range stalled {
		c.Close()
	}
	receive(t, "the stalled clients' slots to be freed", left, limit)
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("after the stalled clients left: %s, want 200", resp.Status)
	}
}
