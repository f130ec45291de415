package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"tekbot/config"
	"tekbot/test/githubtest"
)

// serving runs the app as `tekbot serve` does, on loopback listeners, until
// the test ends. metricsAddr is "" unless /metrics has a port of its own.
func serving(t *testing.T, a *app) (addr, metricsAddr string) {
	t.Helper()
	main, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var metrics net.Listener
	if a.metricsMux != nil {
		if metrics, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		metricsAddr = metrics.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, main, metrics) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return main.Addr().String(), metricsAddr
}

// appWith assembles tekbot on the sandbox's config changed by edit.
func appWith(t *testing.T, edit func(*config.Server)) *app {
	t.Helper()
	base, _ := testApp(t)
	cfg := *base.cfg
	edit(&cfg.Server)
	a, err := newApp(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.pool.Shutdown(context.Background()) })
	return a
}

// dial opens a connection and sends raw bytes of HTTP/1.1; the connection
// is closed when the test ends.
func dial(t *testing.T, addr, send string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, send); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	return conn
}

// webhookStart is a GitHub delivery's headers and the first bytes of a
// 1 MiB body, the rest of which never comes.
const webhookStart = "POST /github/webhook HTTP/1.1\r\nHost: tekbot\r\nX-GitHub-Event: issue_comment\r\n" +
	"X-GitHub-Delivery: stalled\r\nContent-Type: application/json\r\nContent-Length: 1048576\r\n\r\n{\"action\":\"created\","

// TestDefaultServerBounds: with nothing configured, every way a connection
// can stall is cut off within 30 s.
func TestDefaultServerBounds(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]byte("clusters: []\n"), "tekbot.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv := httpServer(cfg.Server, http.NotFoundHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	for name, d := range map[string]time.Duration{
		"ReadHeaderTimeout": srv.ReadHeaderTimeout, "ReadTimeout": srv.ReadTimeout,
		"WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 || d > 30*time.Second {
			t.Errorf("%s = %v, want set and at most 30s", name, d)
		}
	}
	if got := httpServer(config.Server{}, http.NotFoundHandler(), slog.Default()).ReadTimeout; got != config.DefaultTimeout {
		t.Errorf("a Server built without defaults: ReadTimeout %v, want %v", got, config.DefaultTimeout)
	}
}

// TestStalledConnectionsAreClosed: a client that stops sending its
// headers, its body, or anything at all on a kept-alive connection is
// disconnected by the server, with server.readTimeout and
// server.idleTimeout made short here.
func TestStalledConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	a := appWith(t, func(s *config.Server) {
		s.ReadTimeout.Duration, s.WriteTimeout.Duration, s.IdleTimeout.Duration = 300*time.Millisecond, 300*time.Millisecond, 300*time.Millisecond
	})
	addr, _ := serving(t, a)
	for _, tc := range []struct {
		name, send string
		answer     string // how what the server sends before hanging up starts
	}{
		{"headers never finished", "POST /github/webhook HTTP/1.1\r\nHost: tekbot\r\nContent-Le", ""},
		{"body stalled", webhookStart, ""},
		{"idle after a request", "GET /healthz HTTP/1.1\r\nHost: tekbot\r\n\r\n", "HTTP/1.1 200 OK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Within the client's 10 s deadline, the server hangs up:
			// reading ends in EOF, not in the deadline.
			got, err := io.ReadAll(dial(t, addr, tc.send))
			if err != nil {
				t.Errorf("connection: %v, want closed by the server", err)
			}
			if !strings.HasPrefix(string(got), tc.answer) {
				t.Errorf("the server sent %.40q, want %q first", got, tc.answer)
			}
		})
	}
}

// TestStalledBodiesBeyondTheCapGet503: with server.maxConcurrentBodies
// webhook bodies stalled mid-read, 64 more stalled clients are each answered
// 503 at once and hung up on, their bodies never read; when the stalled ones
// leave, webhooks are read again. (The clock of the body slots stands
// still and the grace is long: no body is cut or put out of its slot.)
func TestStalledBodiesBeyondTheCapGet503(t *testing.T) {
	t.Parallel()
	const limit, beyond = 2, 64
	a := appWith(t, func(s *config.Server) { s.MaxConcurrentBodies, s.BodyGrace.Duration = limit, time.Hour })
	frozen := time.Now()
	a.bodies.Now = func() time.Time { return frozen }
	addr, _ := serving(t, a)
	var stalled []net.Conn
	for range limit {
		stalled = append(stalled, dial(t, addr, webhookStart))
	}
	inUse := func(n int) func(context.Context) (bool, error) {
		return func(context.Context) (bool, error) { return a.bodies.InUse() == n, nil }
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, inUse(limit)); err != nil {
		t.Fatalf("the stalled webhooks never took the %d slots: %d in use", limit, a.bodies.InUse())
	}
	for i := range beyond {
		r := bufio.NewReader(dial(t, addr, webhookStart))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("client %d beyond the cap: no answer: %v", i, err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("client %d beyond the cap: %s, %v; want 503", i, resp.Status, err)
		}
		if _, err := r.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("client %d beyond the cap: connection after the 503: %v, want closed by the server", i, err)
		}
	}
	if got := a.bodies.InUse(); got != limit {
		t.Errorf("%d bodies being read, want only the %d admitted", got, limit)
	}
	for _, c := range stalled {
		c.Close()
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, inUse(0)); err != nil {
		t.Fatalf("the stalled webhooks' slots were never freed: %d in use", a.bodies.InUse())
	}
	resp, err := http.Post("http://"+addr+"/github/webhook", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an unsigned webhook after the stalled ones left: %s, want 401 (read and refused)", resp.Status)
	}
}

// TestMetricsOnTheirOwnPort: with server.metricsAddr, /metrics is served
// there and nowhere else, and nothing else is served there.
func TestMetricsOnTheirOwnPort(t *testing.T) {
	t.Parallel()
	a := appWith(t, func(s *config.Server) { s.MetricsAddr = "127.0.0.1:0" })
	addr, metricsAddr := serving(t, a)
	for _, tc := range []struct {
		url    string
		status int
		body   string
	}{
		{"http://" + metricsAddr + "/metrics", http.StatusOK, "go_goroutines"},
		{"http://" + addr + "/metrics", http.StatusNotFound, ""},
		{"http://" + metricsAddr + "/healthz", http.StatusNotFound, ""},
		{"http://" + addr + "/healthz", http.StatusOK, "ok"},
	} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.body) {
			t.Errorf("GET %s: %s, want %d with %q", tc.url, resp.Status, tc.status, tc.body)
		}
	}
}

// TestTricklingUploadsDoNotCostASignedDelivery: 64 clients start webhook
// bodies and send no more (within a grace made long here, so that only
// the slots' own clock decides); 32 hold every body slot and 32 more are
// turned away. GitHub's signed delivery, sent at once, still gets in, in
// place of the slowest upload, and is acted on: tekbot replies on the PR.
// (transport/httplimit's tests cut bodies trickling a byte at a time.)
func TestTricklingUploadsDoNotCostASignedDelivery(t *testing.T) {
	t.Parallel()
	const tricklers = 64
	gh := githubtest.NewServer(t)
	gh.SetPullRequest("tektoncd", "pipeline", githubtest.PullRequest{Number: 42, User: "sam-contributor"})
	gh.SetPermission("tektoncd", "pipeline", "vdemeest", "write")
	base, _ := testApp(t)
	cfg := *base.cfg
	cfg.GitHub.APIURL = gh.URL()
	cfg.Server.BodyGrace.Duration = time.Hour
	a, err := newApp(&cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.pool.Shutdown(context.Background()) })
	var clock atomic.Int64 // the body slots' clock, moved by the test
	start := time.Now()
	a.bodies.Now = func() time.Time { return start.Add(time.Duration(clock.Load())) }
	addr, _ := serving(t, a)
	limit := cfg.Server.MaxConcurrentBodies

	for range limit {
		dial(t, addr, webhookStart)
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return a.bodies.InUse() == limit, nil }); err != nil {
		t.Fatalf("the tricklers never took the %d slots: %d in use", limit, a.bodies.InUse())
	}
	for i := range tricklers - limit {
		resp, err := http.ReadResponse(bufio.NewReader(dial(t, addr, webhookStart)), nil)
		if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("trickler %d beyond the cap: %v %v, want 503", i, resp, err)
		}
		resp.Body.Close()
	}

	clock.Store(int64(time.Second)) // a second on, no upload has sent more
	secret, err := cfg.GitHub.WebhookSecret.Value()
	if err != nil {
		t.Fatal(err)
	}
	body := githubtest.PRComment(t, githubtest.PRCommentOptions{
		Body: "/tekbot help", CommentID: 4242, Commenter: "vdemeest", CommenterType: "User",
		Number: 42, State: "open", PRAuthor: "sam-contributor", Owner: "tektoncd", Repo: "pipeline",
	})
	req := githubtest.WebhookRequest(t, "http://"+addr+"/github/webhook", "issue_comment", "signed-1", []byte(secret), body)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the signed delivery: %v", err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("the signed delivery: %s %q, want 202", resp.Status, msg)
	}
	if err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true,
		func(context.Context) (bool, error) { return len(gh.Comments("tektoncd", "pipeline", 42)) == 1, nil }); err != nil {
		t.Fatalf("the signed delivery was not acted on: replies %+v", gh.Comments("tektoncd", "pipeline", 42))
	}
}
