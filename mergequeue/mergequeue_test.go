package mergequeue_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"tekbot/config"
	"tekbot/mergequeue"
	"tekbot/state"
)

// github is the queue as GitHub keeps it, recording the bridge's calls.
type github struct {
	mu         sync.Mutex
	pr         mergequeue.PullRequest
	calls      []string
	enqueueErr error
	// beforeEnqueue, when set, runs once as an enqueue begins: another
	// replica's Sync in the middle of this one.
	beforeEnqueue func()
	// enqueueLost: the enqueue happens but its answer is lost.
	enqueueLost bool
	// notClean: GitHub's mergeable_state is not "clean".
	notClean bool
}

func (g *github) QueueState(context.Context, string, int) (*mergequeue.PullRequest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	pr := g.pr
	pr.Labels = slices.Clone(pr.Labels)
	return &pr, nil
}

func (g *github) Enqueue(_ context.Context, id, head string) error {
	g.mu.Lock()
	before := g.beforeEnqueue
	g.beforeEnqueue = nil
	g.mu.Unlock()
	if before != nil {
		before()
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, "enqueue "+id+" "+head)
	switch {
	case g.enqueueErr != nil:
		return g.enqueueErr
	case g.pr.InQueue:
		return errors.New("the pull request is already queued")
	}
	g.pr.InQueue = true
	if g.enqueueLost {
		return errors.New("connection reset")
	}
	return nil
}

func (g *github) OpenPullRequests(context.Context, string) ([]int, error) { return []int{12}, nil }

func (g *github) Dequeue(_ context.Context, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, "dequeue "+id)
	g.pr.InQueue = false
	return nil
}

func (g *github) MergeAt(_ context.Context, repo string, n int, head string, m config.MergeMethod) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.notClean {
		return fmt.Errorf("%w: blocked", mergequeue.ErrNotClean)
	}
	g.calls = append(g.calls, fmt.Sprintf("merge %s#%d %s %s", repo, n, head, m))
	g.pr.Open = false
	return nil
}

type entries struct {
	mu sync.Mutex
	m  map[int]state.Entry
}

func (e *entries) Get(_ context.Context, _ string, n int) (*state.Entry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if v, ok := e.m[n]; ok {
		return &v, nil
	}
	return nil, nil
}

func (e *entries) Add(_ context.Context, v state.Entry) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.m[v.Number]; ok {
		return false, nil
	}
	e.m[v.Number] = v
	return true, nil
}

func (e *entries) Delete(_ context.Context, _ string, n int) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, n)
	return nil
}

type holds map[int]*state.Hold

func (h holds) Get(_ context.Context, _ string, n int) (*state.Hold, error) { return h[n], nil }

const (
	repo = "tektoncd/pipeline"
	head = "4f2b9c1e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
	id   = "PR_kwDOBtVe9c5q3ZxY"
)

// start is PR #12, open at headSHA, and tekbot's entry of it at entryHead
// unless that is "".
func start(pr mergequeue.PullRequest, headSHA, entryHead string) (*github, *entries) {
	pr.ID, pr.HeadSHA, pr.Open = id, headSHA, true
	e := &entries{m: map[int]state.Entry{}}
	if entryHead != "" {
		e.m[12] = state.Entry{Repository: repo, Number: 12, HeadSHA: entryHead}
	}
	return &github{pr: pr}, e
}

func bridge(g *github, e *entries, h holds, method config.MergeMethod) *mergequeue.Bridge {
	cfg := &config.Config{GitHub: config.GitHub{Repositories: []config.Repository{{
		Name: repo, MergeQueue: &config.MergeQueue{Require: []string{"lgtm", "approved"}, Block: []string{"do-not-merge/*", "needs-rebase"}, Method: method},
	}}}}
	return &mergequeue.Bridge{Config: cfg, GitHub: g, Entries: e, Holds: h, Now: func() time.Time { return time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC) }}
}

// TestSync: Tide's rule on GitHub's queue. Each case starts from a PR's
// state and tekbot's entries, syncs twice (a second event, a redelivery),
// and checks GitHub's calls and the entries left.
func TestSync(t *testing.T) {
	t.Parallel()
	ready := []string{"lgtm", "approved"}
	tests := []struct {
		name       string
		pr         mergequeue.PullRequest
		ours       bool // tekbot made the entry of a PR in the queue
		held       bool
		method     config.MergeMethod
		enqueueErr error
		want       []string
		entry      bool
	}{
		{"ready, queue on the branch: one enqueue pinned to the head", mergequeue.PullRequest{Labels: ready, QueueEnabled: true}, false, false, "", nil,
			[]string{"enqueue " + id + " " + head}, true},
		{"ready, no queue on the branch: one REST merge pinned to the head", mergequeue.PullRequest{Labels: ready}, false, false, config.MergeSquash, nil,
			[]string{"merge " + repo + "#12 " + head + " squash"}, false},
		{"ready, default method", mergequeue.PullRequest{Labels: ready}, false, false, "", nil,
			[]string{"merge " + repo + "#12 " + head + " merge"}, false},
		{"not approved", mergequeue.PullRequest{Labels: []string{"lgtm"}, QueueEnabled: true}, false, false, "", nil, nil, false},
		{"blocked by a glob", mergequeue.PullRequest{Labels: append(ready, "do-not-merge/work-in-progress"), QueueEnabled: true}, false, false, "", nil, nil, false},
		{"held in tekbot's record, label removed by hand", mergequeue.PullRequest{Labels: ready, QueueEnabled: true}, false, true, "", nil, nil, false},
		{"tekbot's entry, then held: one dequeue", mergequeue.PullRequest{Labels: ready, QueueEnabled: true, InQueue: true}, true, true, "", nil,
			[]string{"dequeue " + id}, false},
		{"tekbot's entry, label removed: one dequeue", mergequeue.PullRequest{Labels: []string{"lgtm"}, QueueEnabled: true, InQueue: true}, true, false, "", nil,
			[]string{"dequeue " + id}, false},
		{"a person's entry, held: no dequeue", mergequeue.PullRequest{Labels: ready, QueueEnabled: true, InQueue: true}, false, true, "", nil, nil, false},
		{"a person's entry, ready: nothing", mergequeue.PullRequest{Labels: ready, QueueEnabled: true, InQueue: true}, false, false, "", nil, nil, false},
		{"enqueue refused: no entry left to stop the next try", mergequeue.PullRequest{Labels: ready, QueueEnabled: true}, false, false, "", errors.New("head moved"),
			[]string{"enqueue " + id + " " + head, "enqueue " + id + " " + head}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, e := start(tt.pr, head, map[bool]string{true: head}[tt.ours])
			g.enqueueErr = tt.enqueueErr
			h := holds{}
			if tt.held {
				h[12] = &state.Hold{Login: "vdemeest"}
			}
			b := bridge(g, e, h, tt.method)
			for range 2 {
				if _, err := b.Sync(context.Background(), repo, 12); (err != nil) != (tt.enqueueErr != nil) {
					t.Fatalf("Sync: %v", err)
				}
			}
			if !slices.Equal(g.calls, tt.want) {
				t.Errorf("GitHub calls %q, want %q", g.calls, tt.want)
			}
			if _, ok := e.m[12]; ok != tt.entry {
				t.Errorf("entry recorded: %v, want %v", ok, tt.entry)
			}
		})
	}
}

// TestSyncForgetsEntriesGitHubDropped: after a push, or a failed merge
// group, GitHub takes the PR out of the queue; tekbot forgets its entry and
// enqueues the head if the PR still meets the rule. An entry at the PR's
// head made moments ago is another replica's enqueue under way: left be.
func TestSyncForgetsEntriesGitHubDropped(t *testing.T) {
	t.Parallel()
	const pushed = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
	now := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC) // bridge's clock
	tests := []struct {
		name      string
		entryHead string
		entryAge  time.Duration
		want      mergequeue.Action
		calls     []string
	}{
		{"an older head", head, 0, mergequeue.Enqueued, []string{"enqueue " + id + " " + pushed}},
		{"this head, long ago", pushed, 10 * time.Minute, mergequeue.Enqueued, []string{"enqueue " + id + " " + pushed}},
		{"this head, moments ago", pushed, 10 * time.Second, mergequeue.Nothing, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, e := start(mergequeue.PullRequest{Labels: []string{"lgtm", "approved"}, QueueEnabled: true}, pushed, tt.entryHead)
			entry := e.m[12]
			entry.At = now.Add(-tt.entryAge)
			e.m[12] = entry
			a, err := bridge(g, e, holds{}, "").Sync(context.Background(), repo, 12)
			if err != nil || a != tt.want || !slices.Equal(g.calls, tt.calls) || e.m[12].HeadSHA != pushed {
				t.Errorf("Sync = %q %v; calls %q; entry %+v", a, err, g.calls, e.m[12])
			}
		})
	}
}

// TestResyncCatchesAMissedEvent: a PR that became ready while no event
// reached tekbot is enqueued by the periodic resync.
func TestResyncCatchesAMissedEvent(t *testing.T) {
	t.Parallel()
	g := &github{pr: mergequeue.PullRequest{ID: id, HeadSHA: head, Open: true, Labels: []string{"lgtm", "approved"}, QueueEnabled: true}}
	e := &entries{m: map[int]state.Entry{}}
	bridge(g, e, holds{}, "").Resync(context.Background())
	if !slices.Equal(g.calls, []string{"enqueue " + id + " " + head}) {
		t.Errorf("calls %q", g.calls)
	}
}

// TestSyncConcurrentKeepsTheEntry: a second Sync that runs while the first
// is between recording its entry and enqueueing leaves both alone; and an
// enqueue whose answer is lost keeps the entry once the PR is in the
// queue. Either way a later hold finds tekbot's entry and dequeues.
func TestSyncConcurrentKeepsTheEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		race bool
		lost bool
	}{
		{"another replica syncs mid-enqueue", true, false},
		{"the enqueue's answer is lost", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g := &github{pr: mergequeue.PullRequest{ID: id, HeadSHA: head, Open: true, Labels: []string{"lgtm", "approved"}, QueueEnabled: true}, enqueueLost: tt.lost}
			e := &entries{m: map[int]state.Entry{}}
			h := holds{}
			b := bridge(g, e, h, "")
			var second mergequeue.Action
			var secondErr error
			if tt.race {
				g.beforeEnqueue = func() { second, secondErr = b.Sync(context.Background(), repo, 12) }
			}
			if _, err := b.Sync(context.Background(), repo, 12); err != nil && !tt.race {
				t.Fatalf("Sync: %v", err)
			}
			if second != mergequeue.Nothing || secondErr != nil {
				t.Errorf("the second Sync = %q %v, want nothing", second, secondErr)
			}
			if _, ok := e.m[12]; !ok || !g.pr.InQueue {
				t.Fatalf("in the queue %v, entry %v: want both", g.pr.InQueue, e.m)
			}
			h[12] = &state.Hold{Login: "vdemeest"}
			if a, err := b.Sync(context.Background(), repo, 12); a != mergequeue.Dequeued || err != nil || g.pr.InQueue {
				t.Errorf("after a hold Sync = %q %v, in the queue %v; want dequeued", a, err, g.pr.InQueue)
			}
		})
	}
}

// TestPushedNeverEnqueuesOrMerges: after a push a PR whose labels admit it
// is neither enqueued nor merged; tekbot's entry of the old head is
// dequeued; and a PR GitHub does not call clean is not merged, without an
// error to retry.
func TestPushedNeverEnqueuesOrMerges(t *testing.T) {
	t.Parallel()
	const pushed = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
	ready := []string{"lgtm", "approved"}
	tests := []struct {
		name     string
		pr       mergequeue.PullRequest
		oldEntry bool
		notClean bool
		pushed   bool // the Sync a push causes
		want     []string
	}{
		{"queue on the branch", mergequeue.PullRequest{Labels: ready, QueueEnabled: true}, false, false, true, nil},
		{"no queue on the branch", mergequeue.PullRequest{Labels: ready}, false, false, true, nil},
		{"tekbot's entry of the old head, still queued", mergequeue.PullRequest{Labels: ready, QueueEnabled: true, InQueue: true}, true, false, true, []string{"dequeue " + id}},
		{"labels, not clean", mergequeue.PullRequest{Labels: ready}, false, true, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			g, e := start(tt.pr, pushed, map[bool]string{true: head}[tt.oldEntry])
			g.notClean = tt.notClean
			b := bridge(g, e, holds{}, "")
			sync := b.Sync
			if tt.pushed {
				sync = b.Pushed
			}
			if _, err := sync(context.Background(), repo, 12); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(g.calls, tt.want) {
				t.Errorf("GitHub calls %q, want %q", g.calls, tt.want)
			}
		})
	}
}
