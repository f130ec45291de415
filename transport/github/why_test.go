package github_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/flakes"
	"tekbot/handlers"
	"tekbot/state"
	"tekbot/test/kube"
	"tekbot/test/poll"
	"tekbot/test/testenv"
)

// history feeds the outcome history from the cluster's run index, as
// serve does, and returns a reader of it that reads afresh every time.
func (e *env) history() *flakes.Reader {
	e.t.Helper()
	store := &state.Shards{ConfigMaps: state.ConfigMapsIn(e.cluster.Kube, e.ns), Set: "flakes"}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	rec := &flakes.Recorder{Store: store, Log: quiet, Every: 20 * time.Millisecond}
	c := e.clusters.Get("dogfooding")
	c.OnFinished(func(pr *pipelinev1.PipelineRun) {
		if o, ok := flakes.OutcomeOf(c.Name, pr, e.cfg.GitHub.Repositories[0].PipelineLabel); ok {
			rec.Observe(o)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { c.WatchRuns(ctx, e.ns); done <- struct{}{} }()
	go func() { rec.Run(ctx); done <- struct{}{} }()
	e.t.Cleanup(func() { cancel(); <-done; <-done })
	return &flakes.Reader{Store: store, Fresh: time.Nanosecond, Log: quiet}
}

// seedPush creates a run of a push to the base branch, as
// Pipelines-as-Code labels it: no PR, event type push.
func (e *env) seedPush(sha, pipeline string, st kube.RunState) {
	e.t.Helper()
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "pipeline-push-" + pipeline + "-", Labels: map[string]string{
			flakes.LabelRepository: repoName, flakes.LabelSHA: sha, flakes.LabelEvent: "push",
			"pipelinesascode.tekton.dev/original-prname": pipeline,
		}},
		Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: pipeline}},
	}
	created, err := e.cluster.Tekton.TektonV1().PipelineRuns(e.ns).Create(context.Background(), pr, metav1.CreateOptions{})
	if err == nil {
		_, err = kube.SetState(context.Background(), e.cluster, e.ns, created.Name, st)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// The verdicts of /why and /retest come from the outcome history, which
// outlives the runs: unit-tests failed and passed on one commit (flaky),
// e2e-tests failed on two commits of main (broken); every run is then
// deleted, both fail on the PR, and a maintainer asks /why, then /retest.
func TestWhyAndRetestJudgeFromHistoryThatOutlivesTheRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader := e.history()
	const earlier = "0000000000000000000000000000000000000abc"
	e.seedAt(earlier, "unit-tests", kube.Failed, false)
	e.seedAt(earlier, "unit-tests", kube.Succeeded, false)
	e.seedPush("1111111111111111111111111111111111111111", "e2e-tests", kube.Failed)
	e.seedPush("2222222222222222222222222222222222222222", "e2e-tests", kube.Failed)
	judge := func(pipeline string) string {
		v, err := reader.Judge(context.Background(), repoName, pipeline, "")
		if err != nil {
			t.Fatal(err)
		}
		return v.String()
	}
	poll.Until(t, "the history judges unit-tests flaky and e2e-tests broken", 30*time.Second, func() bool {
		return strings.HasPrefix(judge("unit-tests"), "flaky") && strings.HasPrefix(judge("e2e-tests"), "broken")
	})

	runs := e.cluster.Tekton.TektonV1().PipelineRuns(e.ns)
	if err := runs.DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	poll.Until(t, "every run deleted", 30*time.Second, func() bool { return len(e.runs()) == 0 })
	e.seed("unit-tests", kube.Failed, false)
	e.seed("e2e-tests", kube.Failed, false)
	e.seed("build", kube.Succeeded, false)

	o := e.options()
	o.Deps = func(d *handlers.Deps) { d.Verdicts = reader }
	r := testenv.NewReplica(t, o)
	poll.Until(t, "the index has the new runs", 30*time.Second, func() bool {
		return e.clusters.Get("dogfooding").Indexed(e.ns) && len(e.runs()) == 3
	})
	if code, msg := r.Deliver(t, "issue_comment", "why-1", e.comment(maintainer, "/why", 3001)); code != http.StatusAccepted {
		t.Fatalf("/why: %d %s", code, msg)
	}
	r.Drain(t)
	comments := e.gh.Comments(owner, repoName, prNumber)
	if len(comments) != 1 {
		t.Fatalf("want one reply to /why, got %+v", comments)
	}
	lines := replyLines(comments[0].Body)
	if l := lines["unit-tests"]; !strings.Contains(l, "flaky (once in 14 days)") || !strings.Contains(l, "/retest") {
		t.Errorf("/why on unit-tests: %q, want flaky once with a /retest hint", l)
	}
	if l := lines["e2e-tests"]; !strings.Contains(l, "broken (failed on every attempt on the last 2 commits of the base branch)") || strings.Contains(l, "/retest") {
		t.Errorf("/why on e2e-tests: %q, want broken without a /retest hint", l)
	}
	if _, ok := lines["build"]; ok {
		t.Errorf("/why explained a run that passed: %q", comments[0].Body)
	}

	r = testenv.NewReplica(t, o) // a drained replica takes no more
	if code, msg := r.Deliver(t, "issue_comment", "retest-1", e.comment(maintainer, "/retest", 3002)); code != http.StatusAccepted {
		t.Fatalf("/retest: %d %s", code, msg)
	}
	r.Drain(t)
	comments = e.gh.Comments(owner, repoName, prNumber)
	if len(comments) != 2 {
		t.Fatalf("want a reply to /retest, got %+v", comments)
	}
	if n := len(reruns(e.runs())); n != 2 {
		t.Errorf("/retest made %d reruns, want 2: the verdict only informs", n)
	}
	body := comments[1].Body
	if !strings.Contains(body, "unit-tests: flaky (once in 14 days)") || !strings.Contains(body, "e2e-tests: broken") {
		t.Errorf("/retest reply without the verdicts:\n%s", body)
	}
}

// replyLines maps each reply line's code-quoted pipeline to the line.
func replyLines(body string) map[string]string {
	out := map[string]string{}
	for l := range strings.SplitSeq(body, "\n") {
		if _, rest, ok := strings.Cut(l, "- `"); ok {
			name, _, _ := strings.Cut(rest, "`")
			out[name] = l
		}
	}
	return out
}
