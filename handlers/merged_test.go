package handlers_test

import (
	"context"
	"strings"
	"testing"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/fake"
)

// mergingPR is GitHub for a PR that merges while /cherry-pick is being
// queued: the comment's handler read it open, and every later read finds
// it merged. merging runs at the first later read, before it answers: the
// merge event handled on another replica at that moment.
type mergingPR struct {
	merged  *bot.PullRequest
	merging func()
}

func (m *mergingPR) Get(context.Context, string, int) (*bot.PullRequest, error) {
	if m.merging != nil {
		m.merging()
		m.merging = nil
	}
	return m.merged, nil
}

func (m *mergingPR) AddLabel(context.Context, string, int, string) error { return nil }

// TestCherryPickQueuedAsThePRMergesRunsOnce: a request queued just as the
// PR merges is not left waiting for a merge that has already been
// handled, and runs once however the two meet.
func TestCherryPickQueuedAsThePRMergesRunsOnce(t *testing.T) {
	t.Parallel()
	const mergeSHA = "3e26ec0de3a9f1b2c4d5e6f708192a3b4c5d6e7f"
	tests := []struct {
		name string
		// during: the merge is handled while the request is queued, after
		// it was added; otherwise just before it is added.
		during bool
		want   string
	}{
		{"merge handled before the request is queued", false, "This PR merged as `3e26ec0`: vincent started `/cherry-pick release-v1.2.x`"},
		{"merge handled as the request is queued", true, "This PR merged as `3e26ec0`: Already started for this request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, monday)
			open := &bot.PullRequest{Repository: "tektoncd/pipeline", Number: 42, HeadSHA: "4f2b9c1e", Open: true, BaseBranch: "main", MergeCommitSHA: "7e57e57e"}
			merged := *open
			merged.Open, merged.Merged, merged.MergeCommitSHA = false, true, mergeSHA
			var deps *handlers.Deps
			github := &mergingPR{merged: &merged}
			mergeEvent := func() {
				for _, r := range deps.PullRequestClosed(context.Background(), "merge-delivery", &merged) {
					t.Logf("the merge's reply: %s", r.Text)
				}
			}
			w.declareWith(func(d *handlers.Deps) {
				deps = d
				d.Queue = &state.Queue{ConfigMaps: fake.NewConfigMaps("tekbot")}
				d.PullRequests = github
			}, config.Command{
				Verb: "cherry-pick", Help: "cherry-pick", On: config.OnGitHub, When: config.WhenMerged,
				Args:    []config.CommandArg{{Name: "release-branch", Pattern: `release-v\d+\.\d+\.x`}},
				Cluster: "nightly", PipelineRef: "cherry-pick",
				Params: map[string]string{"commit": "{{.MergeCommit}}", "targetBranch": "{{.Args.release_branch}}"},
				Allow:  []string{"maintainers"},
			})
			if tt.during {
				github.merging = mergeEvent
			} else {
				mergeEvent()
			}

			vincent := w.cfg.Person("vincent")
			reply := w.bot.Run(context.Background(), &bot.Request{
				ID: "comment-delivery", Command: bot.Command{Verb: "cherry-pick", Args: []string{"release-v1.2.x"}},
				Caller: bot.Caller{Transport: bot.GitHub, ID: "vdemeest", Person: vincent}, PullRequest: open,
			})
			if !strings.Contains(reply.Text, tt.want) {
				t.Errorf("reply %q, want %q", reply.Text, tt.want)
			}
			runs := w.list("nightly", w.nightlyNS, tekton.LabelCommand+"=cherry-pick")
			if len(runs) != 1 || runs[0].Spec.Params[0].Value.StringVal != mergeSHA {
				t.Fatalf("want one run picking %s, got %d: %+v", mergeSHA, len(runs), runs)
			}
			if left, err := deps.Queue.List(context.Background(), "tektoncd/pipeline", 42); err != nil || len(left) != 0 {
				t.Errorf("still queued: %+v %v", left, err)
			}
		})
	}
}
