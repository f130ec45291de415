package robust_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// switchProxy forwards TCP to the apiserver until it is switched off. Off,
// it closes its listener and every connection, so clients see what a
// stopped apiserver gives them (connection refused, or a connection cut
// mid-request); on again, it listens on the same address.
type switchProxy struct {
	target, addr string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]struct{}
	wg           sync.WaitGroup
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{target: target, addr: ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(func() { p.off(); p.wg.Wait() })
	return p
}

func (p *switchProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // switched off
			}
			p.wg.Go(func() { p.pipe(c) })
		}
	})
}

func (p *switchProxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, up) {
		return
	}
	var both sync.WaitGroup
	both.Go(func() { _, _ = io.Copy(up, c); up.Close() })
	both.Go(func() { _, _ = io.Copy(c, up); c.Close() })
	both.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

// track records a connection pair, or closes it if the proxy was switched
// off while it was being dialled.
func (p *switchProxy) track(c, up net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		c.Close()
		up.Close()
		return false
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	return true
}

func (p *switchProxy) off() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

func (p *switchProxy) on(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// commentWatcher tells the test each time tekbot has posted a reply, so it
// can wait for one instead of sleeping.
type commentWatcher struct {
	posted chan struct{}
}

func (c commentWatcher) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/comments") {
		select {
		case c.posted <- struct{}{}:
		default: // nobody is waiting; the comment is in the GitHub server anyway
		}
	}
	return resp, err
}

// toldFailed reports whether a reply tells its requester that the command
// could not be done.
func toldFailed(body string) bool { return strings.Contains(strings.ToLower(body), "could not") }

// TestApiserverOutageMidBurst switches the apiserver off in the middle of
// a burst of /retest commands, then on again, and then redelivers, as a
// maintainer pressing GitHub's "Redeliver" would, each delivery whose
// requester was told it failed. Every command ends with its run created
// exactly once, or with its requester told that it failed; none runs
// twice.
//
// sent counts commands, done those whose run exists, refused those not
// done whose requester was told so.
func TestApiserverOutageMidBurst(t *testing.T) {
	t.Parallel()
	const commands, firstPR = 60, 2000
	w := newWorld(t)
	prs := make([]int, commands)
	for i := range prs {
		prs[i] = firstPR + i
	}
	w.pullRequests(prs, true)
	target, err := url.Parse(w.cluster.REST.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newSwitchProxy(t, target.Host)
	rc := rest.CopyConfig(w.cluster.REST)
	rc.Host = "https://" + proxy.addr
	watcher := commentWatcher{posted: make(chan struct{}, 1)}
	r := w.replica(replicaOptions{rest: rc, github: watcher})
	bodies := map[int][]byte{}
	for _, pr := range prs {
		bodies[pr] = w.comment(pr, "/retest")
	}
	deliver := func(r *replica, pr int) {
		if code, msg := r.Deliver(t, "issue_comment", fmt.Sprintf("outage-%d", pr), bodies[pr]); code != http.StatusAccepted {
			t.Errorf("PR #%d: %d %q", pr, code, msg)
		}
	}

	for _, pr := range prs[:20] {
		deliver(r, pr)
	}
	proxy.off()
	for _, pr := range prs[20:40] {
		deliver(r, pr)
	}
	// The outage lasts until some requester has been told of it.
	deadline := time.After(time.Minute)
	for felt := false; !felt; {
		select {
		case <-watcher.posted:
		case <-deadline:
			t.Fatal("no command failed within a minute of the apiserver going away")
		}
		for _, pr := range prs[:40] {
			for _, c := range w.replies(pr) {
				felt = felt || toldFailed(c.Body)
			}
		}
	}
	proxy.on(t)
	for _, pr := range prs[40:] {
		deliver(r, pr)
	}
	r.Drain(t)

	// Redeliveries after recovery land on a new replica, as after a
	// restart: its memory knows nothing, only the apiserver's claims do.
	again := w.replica(replicaOptions{rest: rc})
	told := map[int]bool{}
	for _, pr := range prs {
		for _, c := range w.replies(pr) {
			if toldFailed(c.Body) {
				told[pr] = true
			}
		}
	}
	for pr := range told {
		code, msg := again.Deliver(t, "issue_comment", fmt.Sprintf("outage-%d", pr), bodies[pr])
		if code != http.StatusAccepted {
			t.Errorf("redelivery to PR #%d: %d %q", pr, code, msg)
		}
	}
	again.Drain(t)

	reruns := w.reruns()
	done, refused := 0, 0
	for _, pr := range prs {
		switch {
		case reruns[pr] > 1:
			t.Errorf("PR #%d: its /retest ran %d times", pr, reruns[pr])
		case reruns[pr] == 1:
			done++
		case told[pr]:
			refused++
		default:
			t.Errorf("PR #%d: no run and no word of a failure; replies: %+v", pr, w.replies(pr))
		}
	}
	if len(told) == 0 {
		t.Error("the outage made no command fail: the test tested nothing")
	}
	t.Logf("%d requesters were told of a failure and redelivered; %d of those commands then ran", len(told), len(told)-refused)
	summarize(t, "apiserver outage", commands, done, refused)
}

// TestGitHubServerErrorsAreRetried makes GitHub answer 5xx to tekbot's
// reads. A few are retried away: the command runs and is answered once.
// When they outlast the retries, the requester is told, the claim is given
// back, and a redelivery runs the command.
//
// sent counts deliveries, done those that ran their command, refused the
// one whose requester was told GitHub failed.
func TestGitHubServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	const pulls, writers = "/repos/{owner}/{repo}/pulls/{pull_number}", "/repos/{owner}/{repo}/collaborators"
	w.pullRequests([]int{3000, 3001, 3002}, true)
	done, refused := 0, 0
	check := func(pr, wantReplies int, says string) {
		t.Helper()
		replies := w.replies(pr)
		if n := w.reruns()[pr]; n != 1 {
			t.Errorf("PR #%d: %d new runs, want 1", pr, n)
			return
		}
		if len(replies) != wantReplies || !strings.Contains(replies[len(replies)-1].Body, says) {
			t.Errorf("PR #%d: want %d replies, the last saying %q; got %+v", pr, wantReplies, says, replies)
			return
		}
		done++
	}

	// Two 502s on the PR, then it answers.
	r := w.replica(replicaOptions{})
	w.gh.FailNext(http.MethodGet, pulls, http.StatusBadGateway, 2)
	r.Deliver(t, "issue_comment", "gh5xx-1", w.comment(3000, "/retest"))
	r.Drain(t)
	if n := w.gh.Calls(http.MethodGet, pulls); n != 3 {
		t.Errorf("PR read %d times, want 3 (two 502s, then the answer)", n)
	}
	check(3000, 1, "Rerunning")

	// A 503 on the list of writers.
	r = w.replica(replicaOptions{})
	w.gh.FailNext(http.MethodGet, writers, http.StatusServiceUnavailable, 1)
	r.Deliver(t, "issue_comment", "gh5xx-2", w.comment(3001, "/retest"))
	r.Drain(t)
	check(3001, 1, "Rerunning")

	// 500s outlast the retries: the requester is told, and GitHub's
	// redelivery of the same delivery is then handled.
	r = w.replica(replicaOptions{})
	w.gh.FailNext(http.MethodGet, pulls, http.StatusInternalServerError, 3)
	body := w.comment(3002, "/retest")
	r.Deliver(t, "issue_comment", "gh5xx-3", body)
	r.Drain(t)
	if replies := w.replies(3002); len(replies) != 1 || !toldFailed(replies[0].Body) || w.reruns()[3002] != 0 {
		t.Fatalf("after three 500s: want one reply saying it could not, and no run; got %+v", replies)
	}
	refused++
	r = w.replica(replicaOptions{})
	r.Deliver(t, "issue_comment", "gh5xx-3", body)
	r.Drain(t)
	check(3002, 2, "Rerunning")
	summarize(t, "github 5xx", 4, done, refused)
}
