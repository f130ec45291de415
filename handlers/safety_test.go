package handlers_test

// Regression tests for issue 11 that go through the Slack side of the
// handlers, on real apiservers.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
	"tekbot/test/kube"
)

// TestStatusGroupsPipelinesAsCodeRuns: runs with an embedded spec, as
// Pipelines-as-Code makes them, are grouped by the repository's pipeline
// label (or what they were generated from), not listed one by one, and
// the reply stays short however many pipelines there are.
func TestStatusGroupsPipelinesAsCodeRuns(t *testing.T) {
	t.Parallel()
	w := newWorld(t, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	create := func(n int, generateName string, labels map[string]string) {
		for range n {
			w.create("nightly", &pipelinev1.PipelineRun{
				ObjectMeta: metav1.ObjectMeta{Namespace: w.nightlyNS, GenerateName: generateName, Labels: labels},
				Spec:       pipelinev1.PipelineRunSpec{PipelineSpec: &pipelinev1.PipelineSpec{}},
			}, kube.Running)
		}
	}
	// 120 runs of two PaC pipelines, by their label; 40 of one more,
	// unlabelled, told apart only by their generateName.
	create(60, "pipeline-pr-", map[string]string{config.DefaultPipelineLabel: "unit-tests"})
	create(60, "pipeline-pr-", map[string]string{config.DefaultPipelineLabel: "e2e-tests"})
	create(40, "nightly-canary-", nil)
	reply := w.slack("andrea", "status", false, "status-pac")
	if !strings.Contains(reply.Text, "3 pipelines") {
		t.Fatalf("want 3 pipelines on the nightly cluster, got:\n%s", reply.Text)
	}
	for _, p := range []string{"unit-tests", "e2e-tests", "nightly-canary"} {
		if !strings.Contains(reply.Text, "- "+p+":") {
			t.Errorf("pipeline %s missing from:\n%s", p, reply.Text)
		}
	}

	// Many distinct pipelines: the reply is bounded and says how many more.
	for i := range 60 {
		create(1, fmt.Sprintf("p%02d-", i), nil)
	}
	reply = w.slack("andrea", "status", false, "status-many")
	if !strings.Contains(reply.Text, "… and 33 more") || len(reply.Text) > 8000 {
		t.Fatalf("want a bounded reply naming how many more (63 pipelines, 30 shown), got %d bytes:\n%s", len(reply.Text), reply.Text)
	}
}

// TestDeploysAreNotRerunOutsidePromote: someone allowed to rerun but not
// to promote cannot repeat a deploy run with "/tekton rerun": not one a
// promotion created, nor one that runs the deploy pipeline or binds the
// target cluster's secret. The reply points to promote.
func TestDeploysAreNotRerunOutsidePromote(t *testing.T) {
	t.Parallel()
	w := newWorld(t, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC))
	// The deploy namespace is another: every run there is a deploy. These
	// are outside it, in a namespace production allows reruns in.
	w.cfg.Promotion.Environments = []config.Environment{{
		Name: "production", Cluster: "dogfooding", Strategy: config.StrategyPipelineRun, Namespace: "deploy",
		PipelineRef: "install-tekton-release", SecretWorkspaces: map[string]string{"targetCluster": "dogfooding-kubeconfig"},
	}}
	w.cfg.Clusters[1].Rerunnable = []config.Rerunnable{{Namespace: w.pNS}}
	w.cfg.Policy.Allow = map[string][]string{"rerun": {"maintainers"}, "promote": {"release-managers"}}
	deploys := []*pipelinev1.PipelineRun{
		{ObjectMeta: metav1.ObjectMeta{Name: "promoted-by-tekbot", Labels: map[string]string{"tekbot.dev/promote-environment": "production"}},
			Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "something-else"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "install-by-hand"},
			Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "install-tekton-release"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "mounts-the-secret"},
			Spec: pipelinev1.PipelineRunSpec{PipelineSpec: &pipelinev1.PipelineSpec{}, Workspaces: []pipelinev1.WorkspaceBinding{
				{Name: "kubeconfig", Secret: &corev1.SecretVolumeSource{SecretName: "dogfooding-kubeconfig"}},
			}}},
	}
	for _, d := range deploys {
		d.Namespace = w.pNS
		w.create("dogfooding", d, kube.Failed)
	}
	w.seed("dogfooding", w.pNS, "unit-tests-run", "unit-tests", kube.Failed)
	for _, d := range deploys {
		reply := w.slack("vincent", "rerun "+d.Name, true, "rerun-"+d.Name)
		if reply.Outcome != bot.Refused || !strings.Contains(reply.Text, "/tekton promote") {
			t.Errorf("rerun of deploy %s: %s %q, want refused pointing to promote", d.Name, reply.Outcome, reply.Text)
		}
	}
	if reruns := w.list("dogfooding", w.pNS, tekton.LabelRerunOf); len(reruns) != 0 {
		t.Fatalf("a deploy was rerun: %s", reruns[0].Name)
	}
	// An ordinary run on the same cluster still reruns.
	if reply := w.slack("vincent", "rerun unit-tests-run", true, "rerun-unit"); reply.Outcome != bot.Done {
		t.Fatalf("an ordinary production rerun: %s %q", reply.Outcome, reply.Text)
	}
}
