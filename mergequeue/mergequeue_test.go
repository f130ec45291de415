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
	defer g.mu.Unlock()
	g.calls = append(g.calls, "enqueue "+id+" "+head)
	if g.enqueueErr != nil {
		return g.enqueueErr
	}
	g.pr.InQueue = true
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
			pr := tt.pr
			pr.ID, pr.HeadSHA, pr.Open = id, head, true
			g := &github{pr: pr, enqueueErr: tt.enqueueErr}
			e := &entries{m: map[int]state.Entry{}}
			if tt.ours {
				e.m[12] = state.Entry{Repository: repo, Number: 12, HeadSHA: head}
			}
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

// TestSyncForgetsEntriesGitHubDropped: after a push GitHub takes the PR out
// of the queue; tekbot forgets its entry and enqueues the new head if the
// PR still meets the rule.
func TestSyncForgetsEntriesGitHubDropped(t *testing.T) {
	t.Parallel()
	const pushed = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
	g := &github{pr: mergequeue.PullRequest{ID: id, HeadSHA: pushed, Open: true, Labels: []string{"lgtm", "approved"}, QueueEnabled: true}}
	e := &entries{m: map[int]state.Entry{12: {Repository: repo, Number: 12, HeadSHA: head}}}
	a, err := bridge(g, e, holds{}, "").Sync(context.Background(), repo, 12)
	if err != nil || a != mergequeue.Enqueued || !slices.Equal(g.calls, []string{"enqueue " + id + " " + pushed}) || e.m[12].HeadSHA != pushed {
		t.Errorf("Sync = %q %v; calls %q; entry %+v", a, err, g.calls, e.m[12])
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
