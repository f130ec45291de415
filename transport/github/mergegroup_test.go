package github_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/config"
	"tekbot/mergequeue"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
)

// groupSHA is the merge group's head: GitHub's test merge of the queued
// PRs on gh-readonly-queue/main/..., never a PR's head.
const groupSHA = "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d"

// withGroupPipelines declares two merge-group pipelines standing for the
// PR checks unit-tests and e2e-tests.
func withGroupPipelines(e *env) {
	e.cfg.GitHub.Repositories[0].MergeQueue = &config.MergeQueue{
		Require: []string{"lgtm", "approved"},
		Pipelines: []config.GroupPipeline{
			{Check: "unit-tests", PipelineRef: "unit", Params: map[string]string{"revision": "{{.HeadSHA}}", "ref": "{{.HeadRef}}"}},
			{Check: "e2e-tests", PipelineRef: "e2e", Params: map[string]string{"revision": "{{.HeadSHA}}"}},
		},
	}
}

// TestMergeGroupRunsCancelsAndRedelivers: a signed merge_group
// checks_requested (GitHub's recorded example) starts each declared
// pipeline once, pinned to the group's head_sha, with an in_progress check
// run under the PR check's name on that head (the stand-in checks each
// request against GitHub's OpenAPI description); redeliveries, also to
// another replica, create nothing more; destroyed cancels the runs still
// going and leaves a finished one alone.
func TestMergeGroupRunsCancelsAndRedelivers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	withGroupPipelines(e)
	requested := githubtest.MergeGroup(t, githubtest.MergeGroupOptions{HeadSHA: groupSHA, Owner: owner, Repo: repoName})

	for i, id := range []string{"group-1", "group-1", "group-1-redelivered"} {
		r := e.replica()
		code, msg := r.Deliver(t, "merge_group", id, requested)
		if code != http.StatusAccepted && !(i > 0 && code == http.StatusOK && strings.Contains(msg, "duplicate")) {
			t.Fatalf("checks_requested %s: %d %s", id, code, msg)
		}
		r.Drain(t)
	}

	runs := e.runs()
	if len(runs) != 2 {
		t.Fatalf("%d PipelineRuns after three deliveries, want 2: %v", len(runs), names(runs))
	}
	byName := map[string]pipelinev1.PipelineRun{}
	for _, r := range runs {
		byName[r.Name] = r
	}
	for _, c := range []struct{ check, pipeline string }{{"unit-tests", "unit"}, {"e2e-tests", "e2e"}} {
		run, ok := byName[mergequeue.GroupRunName(owner+"/"+repoName, groupSHA, c.check)]
		if !ok {
			t.Fatalf("no run for %s: %v", c.check, names(runs))
		}
		if run.Spec.PipelineRef.Name != c.pipeline || paramOf(run, "revision") != groupSHA || run.Labels[mergequeue.LabelGroup] != groupSHA {
			t.Errorf("%s run %s: pipeline %s, revision %q, label %q; want %s pinned to %s",
				c.check, run.Name, run.Spec.PipelineRef.Name, paramOf(run, "revision"), run.Labels[mergequeue.LabelGroup], c.pipeline, groupSHA)
		}
	}
	if ref := paramOf(byName[mergequeue.GroupRunName(owner+"/"+repoName, groupSHA, "unit-tests")], "ref"); !strings.HasPrefix(ref, "refs/heads/gh-readonly-queue/main/") {
		t.Errorf("ref param %q, want the group's head_ref", ref)
	}
	checks := e.gh.CheckRuns(owner, repoName, groupSHA)
	var checkNames []string
	for _, c := range checks {
		checkNames = append(checkNames, c.Name)
		if c.Status != "in_progress" || !strings.HasPrefix(c.DetailsURL, "https://dashboard.example/") {
			t.Errorf("check %s: status %s, details %q; want in_progress linking to its run", c.Name, c.Status, c.DetailsURL)
		}
	}
	if slices.Sort(checkNames); !slices.Equal(checkNames, []string{"e2e-tests", "unit-tests"}) {
		t.Fatalf("check runs on the group's head %v, want one each of e2e-tests, unit-tests", checkNames)
	}

	// unit-tests finished before the group was dequeued: only e2e-tests is
	// still going, and only it is cancelled.
	unit := mergequeue.GroupRunName(owner+"/"+repoName, groupSHA, "unit-tests")
	if _, err := kube.SetState(context.Background(), e.cluster, e.ns, unit, kube.Succeeded); err != nil {
		t.Fatal(err)
	}
	destroyed := githubtest.MergeGroup(t, githubtest.MergeGroupOptions{HeadSHA: groupSHA, Owner: owner, Repo: repoName, DestroyedReason: "dequeued"})
	for _, id := range []string{"destroyed-1", "destroyed-1-redelivered"} {
		r := e.replica()
		if code, msg := r.Deliver(t, "merge_group", id, destroyed); code != http.StatusAccepted && code != http.StatusOK {
			t.Fatalf("destroyed %s: %d %s", id, code, msg)
		}
		r.Drain(t)
	}
	for _, r := range e.runs() {
		want := pipelinev1.PipelineRunSpecStatus("")
		if r.Name != unit {
			want = pipelinev1.PipelineRunSpecStatusCancelled
		}
		if r.Spec.Status != want {
			t.Errorf("after destroyed, run %s has spec.status %q, want %q", r.Name, r.Spec.Status, want)
		}
	}
	if got := len(e.runs()); got != 2 {
		t.Errorf("%d runs after destroyed, want the same 2", got)
	}
	if got := len(e.gh.CheckRuns(owner, repoName, groupSHA)); got != 2 {
		t.Errorf("%d check runs after destroyed, want the same 2", got)
	}
}

// TestMergeGroupIgnoredOrRefused: what tekbot does not act on is answered
// and starts nothing.
func TestMergeGroupIgnoredOrRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		pipelines bool
		opts      githubtest.MergeGroupOptions
		code      int
		says      string
	}{
		{"no merge group pipelines", false, githubtest.MergeGroupOptions{HeadSHA: groupSHA, Owner: owner, Repo: repoName}, http.StatusOK, "no merge group pipelines"},
		{"repository not configured", true, githubtest.MergeGroupOptions{HeadSHA: groupSHA, Owner: owner, Repo: "other"}, http.StatusOK, "not configured"},
		{"head that is no SHA", true, githubtest.MergeGroupOptions{HeadSHA: "main; rm -rf", Owner: owner, Repo: repoName}, http.StatusBadRequest, "head SHA"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.pipelines {
				withGroupPipelines(e)
			}
			r := e.replica()
			code, msg := r.Deliver(t, "merge_group", "group-"+tc.name, githubtest.MergeGroup(t, tc.opts))
			r.Drain(t)
			if code != tc.code || !strings.Contains(msg, tc.says) {
				t.Errorf("got %d %q, want %d saying %q", code, msg, tc.code, tc.says)
			}
			if runs := e.runs(); len(runs) != 0 {
				t.Errorf("runs created: %v", names(runs))
			}
		})
	}
}

func paramOf(run pipelinev1.PipelineRun, name string) string {
	for _, p := range run.Spec.Params {
		if p.Name == name {
			return p.Value.StringVal
		}
	}
	return ""
}

func names(runs []pipelinev1.PipelineRun) []string {
	var out []string
	for _, r := range runs {
		out = append(out, r.Name)
	}
	return out
}

// TestMergeGroupFailureReported: once a group's run fails on the real
// apiserver, reporting it (as the run watch does) completes its check run
// on the group's head with failure and comments once on the PR the
// group's head ref names, both requests checked against GitHub's OpenAPI
// description.
func TestMergeGroupFailureReported(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	withGroupPipelines(e)
	const queued = 104 // the PR the recorded example's head ref names
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: queued, User: contributor, HeadSHA: headSHA})
	r := e.replica()
	if code, msg := r.Deliver(t, "merge_group", "group-fails", githubtest.MergeGroup(t, githubtest.MergeGroupOptions{HeadSHA: groupSHA, Owner: owner, Repo: repoName})); code != http.StatusAccepted {
		t.Fatalf("checks_requested: %d %s", code, msg)
	}
	r.Drain(t)
	e2e := mergequeue.GroupRunName(owner+"/"+repoName, groupSHA, "e2e-tests")
	failed, err := kube.SetState(context.Background(), e.cluster, e.ns, e2e, kube.Failed)
	if err != nil {
		t.Fatal(err)
	}
	groups := &mergequeue.Groups{Config: e.cfg, Runs: e.clusters, Checks: e.apiClient(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := groups.Finished(context.Background(), "dogfooding", failed); err != nil {
		t.Fatal(err)
	}
	if c, ok := e.gh.LatestCheck(owner, repoName, groupSHA, "e2e-tests"); !ok || c.Status != "completed" || c.Conclusion != "failure" {
		t.Errorf("e2e-tests check on the group's head: %+v, want completed with failure", c)
	}
	if c, _ := e.gh.LatestCheck(owner, repoName, groupSHA, "unit-tests"); c.Status != "in_progress" {
		t.Errorf("unit-tests check %+v, want still in_progress", c)
	}
	comments := e.gh.Comments(owner, repoName, queued)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "e2e-tests") || !strings.Contains(comments[0].Body, "merge queue") {
		t.Fatalf("comments on #%d: %+v, want one naming e2e-tests", queued, comments)
	}
}
