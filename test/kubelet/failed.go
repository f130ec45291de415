package kubelet

import (
	"context"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"tekbot/test/kube"
)

// Fail gives run pr what Tekton's controller gives a run whose one task
// fails: a TaskRun "<run>-<task>" the run controls, whose pod (bound to
// k's Node on cluster c, its step reading key "value" of Secret secret as $TOKEN)
// printed log and exited 1, named in the run's status. The caller then
// ends the run (kube.SetState Failed), as the controller does once its
// TaskRuns have.
func Fail(tb testing.TB, c *kube.Cluster, k *Kubelet, pr *pipelinev1.PipelineRun, task, secret, log string) {
	tb.Helper()
	ctx, ns := context.Background(), pr.Namespace
	tr, err := c.Tekton.TektonV1().TaskRuns(ns).Create(ctx, &pipelinev1.TaskRun{
		ObjectMeta: metav1.ObjectMeta{Name: pr.Name + "-" + task, OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(pr, pipelinev1.SchemeGroupVersion.WithKind("PipelineRun"))}},
		Spec: pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: task}},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	pod, err := c.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: tr.Name + "-pod", OwnerReferences: []metav1.OwnerReference{
			*metav1.NewControllerRef(tr, pipelinev1.SchemeGroupVersion.WithKind("TaskRun"))}},
		Spec: corev1.PodSpec{NodeName: k.Node, Containers: []corev1.Container{{Name: "step-run", Image: "busybox",
			Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: "value"}}}}}}},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	k.SetLog(ns, pod.Name, "step-run", log)
	tr.Status.PodName = pod.Name
	tr.Status.Steps = []pipelinev1.StepState{{Name: "run", Container: "step-run",
		ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
	tr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse,
		Reason: "Failed", Message: `"step-run" exited with code 1`}}}
	if _, err := c.Tekton.TektonV1().TaskRuns(ns).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
		tb.Fatal(err)
	}
	cur, err := c.Tekton.TektonV1().PipelineRuns(ns).Get(ctx, pr.Name, metav1.GetOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	cur.Status.ChildReferences = append(cur.Status.ChildReferences, pipelinev1.ChildStatusReference{
		TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}, Name: tr.Name, PipelineTaskName: task,
	})
	if _, err := c.Tekton.TektonV1().PipelineRuns(ns).UpdateStatus(ctx, cur, metav1.UpdateOptions{}); err != nil {
		tb.Fatal(err)
	}
}
