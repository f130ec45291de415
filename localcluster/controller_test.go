package localcluster_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/apis"

	"tekbot/localcluster"
	"tekbot/test/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// TestControllerRunsPipelineRuns: new runs start and end after RunTime as
// Outcome says; a pending run waits until released; a cancel ends a run.
// (Nothing else writes these runs, so every change is the controller's.)
func TestControllerRunsPipelineRuns(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "controller")
	ns := c.Namespace(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seen := make(chan string, 64)
	ctl := &localcluster.Controller{
		Cluster: c.Cluster, RunTime: 200 * time.Millisecond,
		Outcome: func(pr *pipelinev1.PipelineRun) localcluster.RunState {
			if strings.HasPrefix(pr.Name, "broken-") {
				return localcluster.Failed
			}
			return localcluster.Succeeded
		},
		Changed: func(pr *pipelinev1.PipelineRun, state localcluster.RunState) {
			if pr.Namespace == ns {
				seen <- pr.Name + " " + string(state)
			}
		},
		Errors: func(pr *pipelinev1.PipelineRun, err error) { t.Errorf("writing %s: %v", pr.Name, err) },
	}
	done := make(chan struct{})
	go func() { ctl.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	runs := c.Tekton.TektonV1().PipelineRuns(ns)
	create := func(name string, spec pipelinev1.PipelineRunSpecStatus) {
		t.Helper()
		pr := &pipelinev1.PipelineRun{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "p"}, Status: spec},
		}
		if _, err := runs.Create(ctx, pr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	expect := func(want ...string) {
		t.Helper()
		deadline := time.After(30 * time.Second)
		left := map[string]bool{}
		for _, w := range want {
			left[w] = true
		}
		for len(left) > 0 {
			select {
			case got := <-seen:
				if !left[got] {
					t.Fatalf("unexpected change %q while waiting for %v", got, want)
				}
				delete(left, got)
			case <-deadline:
				t.Fatalf("still waiting for %v", left)
			}
		}
	}

	create("fine", "")
	create("broken-build", "")
	create("released", pipelinev1.PipelineRunSpecStatusPending)
	create("withdrawn", pipelinev1.PipelineRunSpecStatusPending)
	expect("fine Running", "broken-build Running", "fine Succeeded", "broken-build Failed")

	// Released from pending, a run runs; cancelled, it ends at once.
	patch := func(name, status string) {
		t.Helper()
		body := `{"spec":{"status":` + status + `}}`
		if _, err := runs.Patch(ctx, name, types.MergePatchType, []byte(body), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	patch("released", "null")
	patch("withdrawn", `"Cancelled"`)
	expect("released Running", "released Succeeded", "withdrawn Cancelled")

	got, err := runs.Get(ctx, "fine", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cond := got.Status.GetCondition(apis.ConditionSucceeded)
	if cond == nil || cond.Status != corev1.ConditionTrue || got.Status.StartTime == nil || got.Status.CompletionTime == nil {
		t.Errorf("status of a finished run: %+v", got.Status)
	}
}
