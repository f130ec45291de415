package mergequeue_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/mergequeue"
	"tekbot/tekton"
)

// groupGitHub records the checks and comments Groups posts.
type groupGitHub struct {
	checks   []string
	comments []string
}

func (g *groupGitHub) StartCheck(_ context.Context, _, sha, name, _ string) error {
	g.checks = append(g.checks, name+"@"+sha+"=in_progress")
	return nil
}

func (g *groupGitHub) PostCheck(_ context.Context, _, sha string, c bot.Check) error {
	g.checks = append(g.checks, c.Name+"@"+sha+"="+c.Conclusion)
	return nil
}

func (g *groupGitHub) Comment(_ context.Context, _ string, number int, body string) error {
	g.comments = append(g.comments, fmt.Sprintf("#%d: %s", number, body))
	return nil
}

// urlOnly is a cluster that only links to runs: Finished reads nothing
// else of it.
type urlOnly struct{ mergequeue.GroupRuns }

func (urlOnly) URL(cluster, namespace, name string) string {
	return "https://dash/" + cluster + "/" + namespace + "/" + name
}

const (
	groupRepo = "tektoncd/pipeline"
	groupHead = "9c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d"
	groupRef  = "refs/heads/gh-readonly-queue/main/pr-104-380387fbc80638b734a49e1be1c4dfec1c01b33c"
)

// TestGroupFinished: a finished merge-group run completes its check with
// its outcome; a failure or timeout also comments once on the group's PR;
// a run tekbot did not start (wrong name, or not requested by the merge
// queue) is not reported, whatever labels it carries.
func TestGroupFinished(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{GitHub: config.GitHub{Repositories: []config.Repository{{
		Name: groupRepo, Cluster: "ci", Namespace: "ci",
		MergeQueue: &config.MergeQueue{Require: []string{"lgtm"}, Pipelines: []config.GroupPipeline{{Check: "unit-tests", PipelineRef: "unit"}}},
	}}}}
	ours := mergequeue.GroupRunName(groupRepo, groupHead, "unit-tests")
	for _, tc := range []struct {
		name         string
		runName      string
		requester    string
		ref          string
		reason       string // "" succeeded
		wantCheck    string // "" none
		wantComments int
	}{
		{"succeeded", ours, "merge queue", groupRef, "", "success", 0},
		{"failed", ours, "merge queue", groupRef, "Failed", "failure", 1},
		{"timed out", ours, "merge queue", groupRef, pipelinev1.PipelineRunReasonTimedOut.String(), "timed_out", 1},
		{"cancelled when the group went", ours, "merge queue", groupRef, pipelinev1.PipelineRunReasonCancelled.String(), "cancelled", 0},
		{"failed, ref names no PR", ours, "merge queue", "refs/heads/elsewhere", "Failed", "failure", 0},
		{"someone else's run with the label", "merge-group-look-alike", "merge queue", groupRef, "Failed", "", 0},
		{"our name, not the merge queue's request", ours, "vdemeest", groupRef, "Failed", "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			gh := &groupGitHub{}
			g := &mergequeue.Groups{
				Config: cfg, Runs: urlOnly{}, Checks: gh,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}
			run := &pipelinev1.PipelineRun{
				ObjectMeta: metav1.ObjectMeta{
					Name: tc.runName, Namespace: "ci", Labels: map[string]string{mergequeue.LabelGroup: groupHead},
					Annotations: map[string]string{tekton.AnnotationRequester: tc.requester, mergequeue.AnnotationGroupRef: tc.ref},
				},
				Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "unit"}},
			}
			cond := apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue}
			if tc.reason != "" {
				cond = apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: tc.reason}
			}
			run.Status.SetCondition(&cond)
			if err := g.Finished(context.Background(), "ci", run); err != nil {
				t.Fatal(err)
			}
			var want []string
			if tc.wantCheck != "" {
				want = []string{"unit-tests@" + groupHead + "=" + tc.wantCheck}
			}
			if fmt.Sprint(gh.checks) != fmt.Sprint(want) {
				t.Errorf("checks %v, want %v", gh.checks, want)
			}
			if len(gh.comments) != tc.wantComments {
				t.Fatalf("comments %v, want %d", gh.comments, tc.wantComments)
			}
			if tc.wantComments == 1 && (gh.comments[0][:5] != "#104:" || !strings.Contains(gh.comments[0], "unit-tests")) {
				t.Errorf("comment %q, want one on #104 naming unit-tests", gh.comments[0])
			}
		})
	}
}
