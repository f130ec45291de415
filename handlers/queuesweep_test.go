package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/fake"
)

// closedPRs is GitHub for the sweep: each PR's state now, the reads made,
// and the comments posted.
type closedPRs struct {
	mu       sync.Mutex
	prs      map[string]*bot.PullRequest
	failing  bool
	reads    map[string]int
	comments map[string][]string
}

func newClosedPRs(prs ...*bot.PullRequest) *closedPRs {
	g := &closedPRs{prs: map[string]*bot.PullRequest{}, reads: map[string]int{}, comments: map[string][]string{}}
	for _, pr := range prs {
		g.prs[fmt.Sprintf("%s#%d", pr.Repository, pr.Number)] = pr
	}
	return g
}

func (g *closedPRs) Get(_ context.Context, repo string, number int) (*bot.PullRequest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := fmt.Sprintf("%s#%d", repo, number)
	g.reads[key]++
	if g.failing {
		return nil, errors.New("GET https://api.github.com/repos/" + repo + ": 502")
	}
	pr := *g.prs[key]
	return &pr, nil
}

func (g *closedPRs) Comment(_ context.Context, repo string, number int, body string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := fmt.Sprintf("%s#%d", repo, number)
	g.comments[key] = append(g.comments[key], body)
	return nil
}

var cherryPick = config.Command{
	Verb: "cherry-pick", Help: "cherry-pick", On: config.OnGitHub, When: config.WhenMerged,
	Args:    []config.CommandArg{{Name: "release-branch", Pattern: `release-v\d+\.\d+\.x`}},
	Cluster: "nightly", PipelineRef: "cherry-pick",
	Params: map[string]string{"commit": "{{.MergeCommit}}", "targetBranch": "{{.Args.release_branch}}"},
	Allow:  []string{"maintainers"},
}

// TestSweepQueuedActsOnPRsWhoseCloseWasLost: a command queued more than a
// week ago has its PR read once per sweep; closed without merging, it is
// dropped, audited and the PR told; open, it keeps waiting; younger ones
// are left alone without a read; a failed read keeps the record and is
// reported, until the longest wait, when it is dropped and audited.
func TestSweepQueuedActsOnPRsWhoseCloseWasLost(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 4, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		age       time.Duration
		pr        bot.PullRequest
		failing   bool
		wantReads int
		wantKept  int
		wantErr   bool
		// wantComment is in the one comment posted, "" for none.
		wantComment string
	}{
		{"closed unmerged a week on: dropped", handlers.QueuedCheckAfter + time.Minute, bot.PullRequest{Open: false},
			false, 1, 0, false, "closed without merging: the queued `/cherry-pick release-v1.2.x` (asked by vincent) was dropped"},
		{"still open a week on: kept", 30 * 24 * time.Hour, bot.PullRequest{Open: true},
			false, 1, 2, false, ""},
		{"still open after the longest wait: kept", handlers.QueuedKeptAtMost + time.Hour, bot.PullRequest{Open: true},
			false, 1, 2, false, ""},
		{"closed but queued under a week ago: not read", handlers.QueuedCheckAfter - time.Minute, bot.PullRequest{Open: false},
			false, 0, 2, false, ""},
		{"GitHub fails: kept, reported", handlers.QueuedKeptAtMost - time.Minute, bot.PullRequest{Open: false},
			true, 1, 2, true, ""},
		{"GitHub fails after the longest wait: dropped, audited", handlers.QueuedKeptAtMost, bot.PullRequest{Open: false},
			true, 1, 0, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			queue := &state.Queue{ConfigMaps: fake.NewConfigMaps("tekbot")}
			pr := tt.pr
			pr.Repository, pr.Number, pr.HeadSHA = "tektoncd/pipeline", 42, "4f2b9c1e"
			github := newClosedPRs(&pr)
			github.failing = tt.failing
			// Two commands queued on the PR: one read for both.
			for i, branch := range []string{"release-v1.2.x", "release-v1.1.x"} {
				q := state.Queued{Repository: "tektoncd/pipeline", Number: 42, Verb: "cherry-pick", Args: []string{branch},
					Login: "vdemeest", Person: "vincent", RequestID: "ask-" + branch, At: now.Add(-tt.age - time.Duration(i)*time.Second)}
				if _, _, err := queue.Add(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			audit := &records{}
			cfg := &config.Config{People: people, Commands: []config.Command{cherryPick}}
			deps := &handlers.Deps{Config: cfg, Queue: queue, Audit: audit}

			err := deps.SweepQueued(ctx, github, now)
			if (err != nil) != tt.wantErr {
				t.Fatalf("SweepQueued: %v, want error %v", err, tt.wantErr)
			}
			if got := github.reads["tektoncd/pipeline#42"]; got != tt.wantReads {
				t.Errorf("%d reads of the PR, want %d", got, tt.wantReads)
			}
			left, err := queue.All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != tt.wantKept {
				t.Errorf("%d commands still queued, want %d", len(left), tt.wantKept)
			}
			comments := github.comments["tektoncd/pipeline#42"]
			if tt.wantComment == "" && len(comments) != 0 {
				t.Errorf("comments %q, want none", comments)
			}
			if tt.wantComment != "" && (len(comments) != 1 || !strings.Contains(comments[0], tt.wantComment) || !strings.Contains(comments[0], "release-v1.1.x")) {
				t.Errorf("comments %q, want one saying %q for both commands", comments, tt.wantComment)
			}
			if tt.wantKept != 0 {
				if len(audit.list) != 0 {
					t.Errorf("nothing was dropped, but audited: %+v", audit.list)
				}
				return
			}
			if len(audit.list) != 2 {
				t.Fatalf("audit records %+v, want one per dropped command", audit.list)
			}
			for _, r := range audit.list {
				if r.Verb != "cherry-pick" || r.CallerID != "vdemeest" || r.Outcome != bot.Refused {
					t.Errorf("audit record %+v, want vdemeest's cherry-pick, refused", r)
				}
			}
			// The next sweep finds nothing left to do.
			if err := deps.SweepQueued(ctx, github, now.Add(time.Hour)); err != nil || github.reads["tektoncd/pipeline#42"] != tt.wantReads {
				t.Errorf("second sweep: %v, %d reads", err, github.reads["tektoncd/pipeline#42"])
			}
		})
	}
}

// TestSweepQueuedRunsWhatAMergeLostItsEventFor: a PR found merged a week
// on runs its queued command on the merge commit, as its close event
// would have, once however often it is swept.
func TestSweepQueuedRunsWhatAMergeLostItsEventFor(t *testing.T) {
	t.Parallel()
	const mergeSHA = "3e26ec0de3a9f1b2c4d5e6f708192a3b4c5d6e7f"
	ctx := context.Background()
	w := newWorld(t, monday)
	queue := &state.Queue{ConfigMaps: fake.NewConfigMaps("tekbot")}
	var deps *handlers.Deps
	w.declareWith(func(d *handlers.Deps) { deps, d.Queue = d, queue }, cherryPick)
	github := newClosedPRs(&bot.PullRequest{Repository: "tektoncd/pipeline", Number: 42, HeadSHA: "4f2b9c1e", Merged: true, MergeCommitSHA: mergeSHA, BaseBranch: "main"})
	if _, _, err := queue.Add(ctx, state.Queued{Repository: "tektoncd/pipeline", Number: 42, Verb: "cherry-pick", Args: []string{"release-v1.2.x"},
		Login: "vdemeest", Person: "vincent", RequestID: "ask-pick", At: monday.Add(-handlers.QueuedCheckAfter - time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := deps.SweepQueued(ctx, github, monday); err != nil {
			t.Fatal(err)
		}
	}
	runs := w.list("nightly", w.nightlyNS, tekton.LabelCommand+"=cherry-pick")
	if len(runs) != 1 || runs[0].Spec.Params[0].Value.StringVal != mergeSHA {
		t.Fatalf("want one run picking %s, got %d: %+v", mergeSHA, len(runs), runs)
	}
	comments := github.comments["tektoncd/pipeline#42"]
	if len(comments) != 1 || !strings.Contains(comments[0], "This PR merged as `3e26ec0`: vincent started `/cherry-pick release-v1.2.x`") {
		t.Errorf("comments %q, want one saying what started", comments)
	}
	if left, err := queue.All(ctx); err != nil || len(left) != 0 {
		t.Errorf("still queued: %+v %v", left, err)
	}
}
