package httplimit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
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

// turnedAway checks that conn's client is answered 503 with Retry-After at
// once, and hung up on: nothing of it is kept.
func turnedAway(t *testing.T, who string, conn net.Conn) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("%s: no answer: %v", who, err)
	}
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: %s %q, %v; want 503 with Retry-After", who, resp.Status, rest, err)
	}
	if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("%s: connection after the 503: %v, want closed by the server", who, err)
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
	l.EvictAfter = time.Hour // no body has been read long enough to lose its slot
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
		turnedAway(t, fmt.Sprintf("client %d beyond the cap", i), stall(t, addr))
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

// trickle opens a connection that sends a webhook's headers, then its body
// a byte every tick until the test ends or the server hangs up.
func trickle(t *testing.T, addr string, tick time.Duration) net.Conn {
	t.Helper()
	conn := stall(t, addr)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go func() {
		tk := time.NewTicker(tick)
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if _, err := conn.Write([]byte(" ")); err != nil {
					return
				}
			}
		}
	}()
	return conn
}

// TestTricklingBodiesAreCutEarly: a body arriving slower than MinRate is
// cut once Grace has passed, long before any read timeout (the server here
// has none), and the handler sees its read fail.
func TestTricklingBodiesAreCutEarly(t *testing.T) {
	t.Parallel()
	failed := make(chan struct{}, 1)
	l := New(4)
	l.MinRate, l.Grace = 1024, 200*time.Millisecond
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			failed <- struct{}{}
			return
		}
		io.WriteString(w, "ok")
	})))
	// Closed after the clients' connections, which the server waits for.
	t.Cleanup(srv.Close)
	conn := trickle(t, srv.Listener.Addr().String(), 20*time.Millisecond) // 50 bytes a second
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	// The server hangs up (EOF, or a reset over the unread bytes) before
	// the client's deadline.
	if _, err := io.ReadAll(conn); errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a trickling body: %v, want the server to hang up", err)
	}
	receive(t, "the handler's read to fail", failed, 1)

	// A body sent at once is read whole.
	resp, err := http.Post(srv.URL, "application/json", strings.NewReader(strings.Repeat("x", 64<<10)))
	if err == nil {
		defer resp.Body.Close()
	}
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("a body sent at once: %v %v, want 200", resp, err)
	}
}

// TestSlowBodiesMakeWayForAFastOne: 64 clients trickle webhook bodies, a
// byte at a time; 32 hold every slot, 32 more are turned away. A request
// sent at once still gets in, in place of the slowest trickler, and is
// read whole.
func TestSlowBodiesMakeWayForAFastOne(t *testing.T) {
	t.Parallel()
	const limit, tricklers = 32, 64
	var clock atomic.Int64 // nanoseconds past start, moved by the test
	start := time.Now()
	l := New(limit)
	l.Now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	var rejected atomic.Int64
	l.Rejected = func(*http.Request) { rejected.Add(1) }
	entered, cut := make(chan struct{}, tricklers+1), make(chan struct{}, tricklers)
	srv := httptest.NewServer(l.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			cut <- struct{}{}
			return
		}
		io.WriteString(w, "read "+string(body))
	})))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	for range limit {
		trickle(t, addr, time.Second)
	}
	receive(t, "the tricklers to take every slot", entered, limit)
	// Just arrived, no trickler can be told from a body sent at once yet:
	// the others are turned away.
	for i := range tricklers - limit {
		turnedAway(t, fmt.Sprintf("trickler %d beyond the cap", i), trickle(t, addr, time.Second))
	}

	clock.Store(int64(time.Second)) // the tricklers have sent a byte or two in a second
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post(srv.URL, "application/json", strings.NewReader(`{"zen":"signed"}`))
	if err != nil {
		t.Fatalf("the request sent at once: %v", err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != `read {"zen":"signed"}` {
		t.Fatalf("the request sent at once: %s %q, want it read", resp.Status, got)
	}
	receive(t, "one trickler to be cut", cut, 1)
	if n := rejected.Load(); n != tricklers-limit+1 {
		t.Errorf("Rejected told of %d requests, want %d turned away and 1 put out", n, tricklers-limit+1)
	}
	if n := l.InUse(); n != limit-1 {
		t.Errorf("%d slots in use, want %d: the other tricklers still read", n, limit-1)
	}
}
