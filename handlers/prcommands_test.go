package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/tekton"
	"tekbot/test/kube"
)

// writesRepo vouches for GitHub's repo-writers, as the GitHub transport does
// for someone with write access.
type writesRepo struct{}

func (writesRepo) HasRole(_ context.Context, role string) (bool, error) {
	return role == config.RoleRepoWriters, nil
}

// approvals records /ok-to-test approvals and the label, as state.Approvals
// and GitHub would.
type approvals struct{ approved, labels []string }

func (a *approvals) Approve(_ context.Context, repo string, number int, sha, by string) error {
	a.approved = append(a.approved, fmt.Sprintf("%s#%d@%s by %s", repo, number, sha, by))
	return nil
}

func (a *approvals) Get(context.Context, string, int) (*bot.PullRequest, error) { return nil, nil }

func (a *approvals) AddLabel(_ context.Context, _ string, _ int, label string) error {
	a.labels = append(a.labels, label)
	return nil
}

// TestPRCommandsOnTheirRuns: the GitHub verbs act on the PR head's runs,
// which the repository's selector finds: /retest reruns what failed, /test
// what it names with the params the repository allows, /cancel stops what
// runs, /ok-to-test approves the head and starts what waits for it.
func TestPRCommandsOnTheirRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday)
	const sha = "0123456789abcdef0123456789abcdef01234567"
	w.cfg.GitHub.Repositories = []config.Repository{{
		Name: "tektoncd/pipeline", Cluster: "nightly", Namespace: w.nightlyNS,
		Selector: config.DefaultSelector, PipelineLabel: config.DefaultPipelineLabel,
		Params: map[string]string{"goVersion": `1\.\d+`},
	}}
	store := &approvals{}
	w.build(func(d *handlers.Deps) { d.Approvals, d.PullRequests = store, store })
	pr := &bot.PullRequest{Repository: "tektoncd/pipeline", Number: 42, HeadSHA: sha, Author: "contributor", Open: true}
	seed := func(pipeline string, st kube.RunState, pending bool) {
		run := &pipelinev1.PipelineRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: w.nightlyNS, Name: pipeline + "-run", Labels: map[string]string{
				"pipelinesascode.tekton.dev/repository": "pipeline", "pipelinesascode.tekton.dev/pull-request": "42",
				"pipelinesascode.tekton.dev/sha": sha, config.DefaultPipelineLabel: pipeline,
			}},
			Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: pipeline}},
		}
		if pending {
			run.Spec.Status = pipelinev1.PipelineRunSpecStatusPending
		}
		w.create("nightly", run, st)
	}
	seed("unit", kube.Failed, false)
	seed("lint", kube.Running, false)
	seed("e2e", kube.Succeeded, false)
	seed("integration", kube.Running, true)
	// Another PR's failure is not this PR's to rerun.
	w.create("nightly", &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: w.nightlyNS, Name: "other-pr-unit", Labels: map[string]string{
		"pipelinesascode.tekton.dev/repository": "pipeline", "pipelinesascode.tekton.dev/pull-request": "43",
		"pipelinesascode.tekton.dev/sha": sha, config.DefaultPipelineLabel: "unit",
	}}}, kube.Failed)

	link := func(run string) string {
		return "[" + run + "](https://dash.example/#/namespaces/ci/pipelineruns/" + run + ")"
	}
	steps := []struct {
		text     string
		outcome  bot.Outcome
		contains string
		created  int
	}{
		{"retest", bot.Done, "unit: " + link("unit-run-retry-1") + " (was failed)", 1},
		// The rerun is now unit's latest, and it runs.
		{"retest", bot.Noop, "Nothing to rerun", 0},
		{"test e2e goVersion=1.26", bot.Done, "With goVersion=1.26.\nRerunning for 0123456:\n- e2e: " + link("e2e-run-retry-1"), 1},
		{"test e2e goVersion=2;x", bot.Refused, "the value of goVersion must match", 0},
		{"test nosuch", bot.Refused, "nosuch: no such pipeline for this commit", 0},
		{"cancel lint", bot.Done, "lint: cancelled " + link("lint-run"), 0},
		{"cancel lint", bot.Noop, "Nothing to cancel", 0},
		{"ok-to-test", bot.Done, "integration: started " + link("integration-run"), 0},
	}
	for i, st := range steps {
		before := w.count("nightly", w.nightlyNS)
		cmds, _ := w.bot.Registry.ParseComment("/" + st.text)
		if len(cmds) != 1 {
			t.Fatalf("%q parses to %v", st.text, cmds)
		}
		r := w.bot.Run(context.Background(), &bot.Request{
			ID: fmt.Sprintf("delivery-%d", i), Command: cmds[0], PullRequest: pr,
			Caller: bot.Caller{Transport: bot.GitHub, ID: "a-writer", Vouch: writesRepo{}},
		})
		created := w.count("nightly", w.nightlyNS) - before
		if r.Outcome != st.outcome || !strings.Contains(r.Text, st.contains) || created != st.created {
			t.Errorf("/%s: %s %q, %d created; want %s containing %q, %d created", st.text, r.Outcome, r.Text, created, st.outcome, st.contains, st.created)
		}
	}
	for _, check := range []struct {
		run  string
		want func(*pipelinev1.PipelineRun) bool
		says string
	}{
		{"lint-run", (*pipelinev1.PipelineRun).IsCancelled, "cancelled"},
		{"integration-run", func(pr *pipelinev1.PipelineRun) bool { return tekton.StateOf(pr) == tekton.StateRunning }, "started"},
		{"e2e-run-retry-1", func(pr *pipelinev1.PipelineRun) bool {
			return len(pr.Spec.Params) == 1 && pr.Spec.Params[0].Value.StringVal == "1.26"
		}, "run with goVersion=1.26"},
		{"other-pr-unit", func(pr *pipelinev1.PipelineRun) bool { return tekton.StateOf(pr) == tekton.StateFailed }, "left alone"},
	} {
		got, err := w.fake.Run(context.Background(), "nightly", w.nightlyNS, check.run)
		switch {
		case err != nil:
			t.Errorf("%s: %v", check.run, err)
		case !check.want(got):
			t.Errorf("%s is not %s: spec.status %q, %s, params %v", check.run, check.says, got.Spec.Status, tekton.StateOf(got), got.Spec.Params)
		}
	}
	if len(store.approved) != 1 || store.approved[0] != "tektoncd/pipeline#42@"+sha+" by github:a-writer" || len(store.labels) != 1 {
		t.Errorf("approvals %v, labels %v; want the head approved and labelled once", store.approved, store.labels)
	}
}
