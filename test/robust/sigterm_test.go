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
`, addr, w.cluster.Kubeconfig, w.ns, w.ns, maintainer, front.URL, owner, repoName, w.ns)
	if err := os.WriteFile(filepath.Join(dir, "tekbot.yaml"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(bin, "serve", "-f", filepath.Join(dir, "tekbot.yaml"))
	// The process dies with the test binary if the test is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	stopping := make(chan struct{})
	stopped := stopping // stopping is the scanner's; this the test's
	var logMu sync.Mutex
	var logLines []string
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			logMu.Lock()
			logLines = append(logLines, sc.Text())
			logMu.Unlock()
			if strings.Contains(sc.Text(), "shutting down") && stopping != nil {
				close(stopping)
				stopping = nil
			}
		}
	}()
	waitHealthy(t, "http://"+addr+"/healthz")

	hook := "http://" + addr + "/github/webhook"
	deliver := func(pr int) (int, error) {
		req := githubtest.WebhookRequest(t, hook, "issue_comment", fmt.Sprintf("sigterm-%d", pr), webhookSecret, w.comment(pr, "/retest"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var wg sync.WaitGroup
	for _, pr := range prs[:accepted] {
		wg.Go(func() {
			if code, err := deliver(pr); code != http.StatusAccepted {
				t.Errorf("PR #%d before SIGTERM: %d %v, want 202", pr, code, err)
			}
		})
	}
	wg.Wait()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	case <-time.After(time.Minute):
		t.Fatal("tekbot did not start shutting down within a minute of SIGTERM")
	}
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
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exited := make(chan error, 1)
	go func() { <-scanned; exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("tekbot serve exited with %v, want 0", err)
		}
	case <-ctx.Done():
		t.Fatal("tekbot serve did not exit within a minute of SIGTERM")
	}

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
	if t.Failed() {
		logMu.Lock()
		t.Logf("tekbot's log:\n%s", strings.Join(logLines, "\n"))
		logMu.Unlock()
	}
	summarize(t, "sigterm during burst", len(prs), done, refused)
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
