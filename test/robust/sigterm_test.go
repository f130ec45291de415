package robust_test

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tekbot/test/githubtest"
)

// buildTekbot builds the tekbot binary, as deployed, into the test's temp
// folder.
func buildTekbot(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tekbot")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "tekbot/cmd/tekbot").CombinedOutput()
	if err != nil {
		t.Fatalf("building tekbot: %v\n%s", err, out)
	}
	return bin
}

// gatedGitHub is GitHub behind a gate: reads of pull requests wait until
// the gate is opened, so work can be held in the pool at will.
func gatedGitHub(t *testing.T, gh *githubtest.Server, gate <-chan struct{}) *httptest.Server {
	t.Helper()
	target, err := url.Parse(gh.URL())
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/pulls/") {
			select {
			case <-gate:
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestSIGTERMDuringBurstFinishesWhatWasAccepted runs `tekbot serve` as a
// process and sends it SIGTERM while a burst of accepted /retest commands
// is still queued and in flight (GitHub holds their PR reads). Deliveries
// after the signal must not be accepted; every accepted one must be
// finished, run and answered, before the process exits 0.
//
// sent counts deliveries, done the accepted ones finished before exit,
// refused those not accepted because tekbot was stopping.
func TestSIGTERMDuringBurstFinishesWhatWasAccepted(t *testing.T) {
	t.Parallel()
	const accepted, late, firstPR = 40, 20, 4000
	w := newWorld(t)
	bin := buildTekbot(t)
	prs := make([]int, accepted+late)
	for i := range prs {
		prs[i] = firstPR + i
	}
	w.pullRequests(prs, true)
	gate := make(chan struct{})
	front := gatedGitHub(t, w.gh, gate)

	p := serveProcess(t, w, bin, front.URL)
	deliver := func(pr int) (int, error) { return p.deliver(t, w, pr) }
	var wg sync.WaitGroup
	for _, pr := range prs[:accepted] {
		wg.Go(func() {
			if code, err := deliver(pr); code != http.StatusAccepted {
				t.Errorf("PR #%d before SIGTERM: %d %v, want 202", pr, code, err)
			}
		})
	}
	wg.Wait()
	p.terminate(t)
	// The log line comes just before the listener closes, so the first
	// of these may still be taken; whatever is taken must be finished.
	took := map[int]bool{}
	for _, pr := range prs[:accepted] {
		took[pr] = true
	}
	refused := 0
	var why error
	for _, pr := range prs[accepted:] {
		code, err := deliver(pr)
		if code == http.StatusAccepted {
			took[pr] = true
			continue
		}
		why = cmp.Or(why, err, fmt.Errorf("answered %d", code))
		refused++
	}
	t.Logf("after SIGTERM: %d deliveries refused (the first: %v)", refused, why)
	close(gate)
	p.exit(t, time.Minute)

	reruns := w.reruns()
	done := 0
	for _, pr := range prs {
		replies := w.replies(pr)
		switch {
		case !took[pr] && (len(replies) > 0 || reruns[pr] > 0):
			t.Errorf("PR #%d was refused, yet has %d replies and %d runs", pr, len(replies), reruns[pr])
		case took[pr] && (len(replies) != 1 || !strings.Contains(replies[0].Body, "Rerunning") || reruns[pr] != 1):
			t.Errorf("PR #%d was accepted, but before exit got %d new runs and replies %+v", pr, reruns[pr], replies)
		case took[pr]:
			done++
		}
	}
	if refused == 0 {
		t.Error("every delivery after SIGTERM was accepted: the test did not see tekbot stop taking work")
	}
	p.logOnFailure(t)
	summarize(t, "sigterm during burst", len(prs), done, refused)
}

// served is `tekbot serve` running as a process against the world.
type served struct {
	addr     string
	cmd      *exec.Cmd
	stopping chan struct{} // closed when it logs that it is shutting down
	scanned  chan struct{} // closed when its stderr ends
	mu       sync.Mutex
	log      []string
}

// serveProcess starts bin as `tekbot serve`, configured for the world with
// its GitHub at githubURL, and waits until it answers.
func serveProcess(t *testing.T, w *world, bin, githubURL string) *served {
	t.Helper()
	dir := t.TempDir()
	for name, value := range map[string]string{"webhook": string(webhookSecret), "token": "ghs_robust"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	config := fmt.Sprintf(`server: {listen: "%s"}
clusters:
  - {name: ci, role: nightly, kubeconfig: %s, context: production, namespace: %s}
state: {cluster: ci, namespace: %s}
people:
  - {name: vincent, github: %s}
github:
  webhookSecret: {file: webhook}
  token: {file: token}
  apiURL: %s/
  repositories:
    - {name: %s/%s, cluster: ci, namespace: %s}
`, addr, w.cluster.Kubeconfig, w.ns, w.ns, maintainer, githubURL, owner, repoName, w.ns)
	if err := os.WriteFile(filepath.Join(dir, "tekbot.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	p := &served{addr: addr, stopping: make(chan struct{}), scanned: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "-f", filepath.Join(dir, "tekbot.yaml"))
	// The process dies with the test binary if the test is killed.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.cmd.Process.Kill() })
	go func() {
		defer close(p.scanned)
		stopping := p.stopping
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			if strings.Contains(sc.Text(), "shutting down") && stopping != nil {
				close(stopping)
				stopping = nil
			}
		}
	}()
	waitHealthy(t, "http://"+addr+"/healthz")
	return p
}

// deliver sends a signed /retest on PR pr and returns the status.
func (p *served) deliver(t *testing.T, w *world, pr int) (int, error) {
	req := githubtest.WebhookRequest(t, "http://"+p.addr+"/github/webhook", "issue_comment", fmt.Sprintf("sigterm-%d", pr), webhookSecret, w.comment(pr, "/retest"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// terminate sends SIGTERM and waits until the process says it is stopping.
func (p *served) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.stopping:
	case <-time.After(time.Minute):
		t.Fatal("tekbot did not start shutting down within a minute of SIGTERM")
	}
}

// exit waits, for at most within, until the process exits, and fails the
// test unless it exits 0.
func (p *served) exit(t *testing.T, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	exited := make(chan error, 1)
	go func() { <-p.scanned; exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("tekbot serve exited with %v, want 0", err)
		}
	case <-ctx.Done():
		t.Fatalf("tekbot serve did not exit within %s of SIGTERM", within)
	}
}

// logOnFailure shows the process's log if the test failed.
func (p *served) logOnFailure(t *testing.T) {
	t.Helper()
	if t.Failed() {
		p.mu.Lock()
		t.Logf("tekbot's log:\n%s", strings.Join(p.log, "\n"))
		p.mu.Unlock()
	}
}

// waitHealthy waits for a freshly started process to answer: there is no
// event to wait on from outside it, so this polls, briefly.
func waitHealthy(t *testing.T, healthz string) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for {
		if resp, err := http.Get(healthz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("%s did not answer within a minute", healthz)
		}
	}
}

// TestSIGTERMWhileRateLimitedFinishesTheQueue sends `tekbot serve`
// SIGTERM while accepted /retests wait for GitHub's primary rate limit to
// reset, 30 s away: longer than the 25 s tekbot used to drain for, within
// the minute a call waits for a limit. GitHub does not redeliver a
// delivery it had answered 202, so the drain must outlast the wait: every
// command runs after the reset, once, answered once, before the process
// exits 0.
//
// sent counts deliveries, done those run and answered before exit.
func TestSIGTERMWhileRateLimitedFinishesTheQueue(t *testing.T) {
	t.Parallel()
	const commands, firstPR = 20, 6000
	w := newWorld(t)
	bin := buildTekbot(t)
	prs := make([]int, commands)
	for i := range prs {
		prs[i] = firstPR + i
	}
	w.pullRequests(prs, true)
	p := serveProcess(t, w, bin, strings.TrimSuffix(w.gh.URL(), "/"))
	reset := time.Now().Add(30 * time.Second)
	w.gh.ExhaustRateLimit(reset)
	for _, pr := range prs {
		if code, err := p.deliver(t, w, pr); code != http.StatusAccepted {
			t.Fatalf("PR #%d: %d %v, want 202", pr, code, err)
		}
	}
	p.terminate(t)
	p.exit(t, 2*time.Minute)
	if time.Now().Before(reset.Truncate(time.Second)) {
		t.Error("tekbot exited before the limit lifted")
	}

	done := w.rerunOnceEach(prs)
	p.logOnFailure(t)
	summarize(t, "sigterm while rate-limited", commands, done, 0)
}
