package localcluster

import (
	"context"
	"fmt"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// failedTest is the sandbox's failed step: a Go test run whose failure is
// at line 20 of 60, as a real log buries it.
var failedTest = func() string {
	var b strings.Builder
	for i := 1; i <= 60; i++ {
		switch i {
		case 18:
			b.WriteString("=== RUN   TestPromoteNightly\n")
		case 20:
			b.WriteString("    promote_test.go:42: version = v0.62.1, want v0.63.0\n")
		case 21:
			b.WriteString("--- FAIL: TestPromoteNightly (0.02s)\n")
		case 59:
			b.WriteString("FAIL\n")
		case 60:
			b.WriteString("FAIL\texample.com/release\t0.412s\n")
		default:
			fmt.Fprintf(&b, "=== RUN   TestStep%02d\n--- PASS: TestStep%02d (0.00s)\n", i, i)
		}
	}
	return b.String()
}()

// failTask gives a run about to fail what Tekton's would have: a failed
// TaskRun "<run>-tests" that the run controls, its pod bound to the
// stand-in kubelet's Node, the failed step's log served by the kubelet,
// and the run's child reference to it. Writing it again is harmless.
func (c *Controller) failTask(ctx context.Context, pr *pipelinev1.PipelineRun) error {
	trs := c.Cluster.Tekton.TektonV1().TaskRuns(pr.Namespace)
	tr, err := trs.Create(ctx, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: pr.Name + "-tests", OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(pr, pipelinev1.SchemeGroupVersion.WithKind("PipelineRun"))}},
		Spec: pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: "tests"}},
	}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pod, err := c.Cluster.Kube.CoreV1().Pods(pr.Namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: tr.Name + "-pod", OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(tr, pipelinev1.SchemeGroupVersion.WithKind("TaskRun"))}},
		Spec: corev1.PodSpec{NodeName: c.Kubelet.Node, Containers: []corev1.Container{{Name: "step-go-test", Image: "golang"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	c.Kubelet.SetLog(pr.Namespace, pod.Name, "step-go-test", failedTest)
	tr.Status.PodName = pod.Name
	tr.Status.Steps = []pipelinev1.StepState{{Name: "go-test", Container: "step-go-test",
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
	tr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse,
		Reason: "Failed", Message: `"step-go-test" exited with code 1`}}}
	if _, err := trs.UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
		return err
	}
	runs := c.Cluster.Tekton.TektonV1().PipelineRuns(pr.Namespace)
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := runs.Get(ctx, pr.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		cur.Status.ChildReferences = append(cur.Status.ChildReferences, pipelinev1.ChildStatusReference{
			TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}, Name: tr.Name, PipelineTaskName: "tests",
		})
		_, err = runs.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}
