package localcluster_test

import (
	"context"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/config"
	"tekbot/localcluster"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/kubelet"
	"tekbot/triage"
)

// TestControllerServesFailedLogs: with a stand-in kubelet, a run the
// sandbox's controller fails has a failed TaskRun whose log reads through
// pods/log, so triage's excerpt of it holds the failing test's line.
func TestControllerServesFailedLogs(t *testing.T) {
	t.Parallel()
	// A cluster of its own: a Controller watches every namespace, and
	// this one fails every run.
	c := kube.Shared(t, "failing-controller")
	ns := c.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	failed := make(chan string, 1)
	ctl := &localcluster.Controller{
		Cluster: c.Cluster, RunTime: 50 * time.Millisecond,
		Kubelet: kubelet.ForTest(t, c.Kube.CoreV1(), "node-"+ns),
		Outcome: func(*pipelinev1.PipelineRun) localcluster.RunState { return localcluster.Failed },
		Changed: func(pr *pipelinev1.PipelineRun, state localcluster.RunState) {
			if pr.Namespace == ns && state == localcluster.Failed {
				failed <- pr.Name
			}
		},
		Errors: func(pr *pipelinev1.PipelineRun, err error) { t.Errorf("writing %s: %v", pr.Name, err) },
	}
	done := make(chan struct{})
	go func() { ctl.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	if _, err := c.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-1"},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "p"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var name string
	select {
	case name = <-failed:
	case <-time.After(30 * time.Second):
		t.Fatal("the run never failed")
	}
	cl, err := tekton.NewCluster(config.Cluster{Name: "sandbox", Namespace: ns}, nil, c.REST)
	if err != nil {
		t.Fatal(err)
	}
	ex, err := triage.NewReader(tekton.LogsOf(cl), tekton.SecretsOf(cl)).Read(ctx, ns, name)
	if err != nil {
		t.Fatal(err)
	}
	got := ex.Markdown(triage.GitHubLimit)
	for _, want := range []string{"`tests`", "step `go-test` exited 1", "promote_test.go:42: version = v0.62.1, want v0.63.0", "--- FAIL: TestPromoteNightly"} {
		if !strings.Contains(got, want) {
			t.Errorf("excerpt of the sandbox's failed run does not hold %q:\n%s", want, got)
		}
	}
}
