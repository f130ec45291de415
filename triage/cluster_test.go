package triage

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"

	"tekbot/config"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/kubelet"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// step is a failed TaskRun of the run under test: with a log, its step
// "run" exited 1 having printed it, in a pod whose step reads Secret
// "creds"; without, no step ran and the TaskRun timed out.
type step struct {
	task string
	log  string
}

const (
	stepSecret      = "s3cr3t-step-token/+=value"
	workspaceSecret = "workspace-deploy-key-0123456789"
)

// TestExcerptOnTheAPIServer reads failed runs written as Tekton writes
// them, with logs through pods/log from a stand-in kubelet, and Secrets
// through the API, with tekbot's own adapters.
func TestExcerptOnTheAPIServer(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "triage")
	ns := c.Namespace(t)
	ctx := context.Background()
	k := kubelet.ForTest(t, c.Kube.CoreV1(), "node-"+ns)
	for name, value := range map[string]string{"creds": stepSecret, "deploy-key": workspaceSecret} {
		if _, err := c.Kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string][]byte{"value": []byte(value)},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cl, err := tekton.NewCluster(config.Cluster{Name: "nightly", Namespace: ns}, nil, c.REST)
	if err != nil {
		t.Fatal(err)
	}
	leaks := []string{
		stepSecret, base64.StdEncoding.EncodeToString([]byte(stepSecret)), url.QueryEscape(stepSecret),
		workspaceSecret, base64.RawURLEncoding.EncodeToString([]byte(workspaceSecret)),
	}
	for _, tc := range []struct {
		name  string
		steps []step
		// want must each be in the Markdown and the mrkdwn.
		want []string
	}{
		{name: "error at line 20 of 220",
			steps: []step{{task: "unit", log: numbered(220, map[int]string{20: "pkg/x_test.go:20: error: want 1, got 2"})}},
			want:  []string{"pkg/x_test.go:20: error: want 1, got 2", "`unit`", "step `run` exited 1"}},
		{name: "a Secret printed plain, base64 and URL-encoded",
			steps: []step{{task: "push", log: numbered(30, map[int]string{
				10: "Error: plain " + stepSecret,
				11: "Error: base64 " + base64.StdEncoding.EncodeToString([]byte(stepSecret)),
				12: "Error: url https://h/?t=" + url.QueryEscape(stepSecret),
				13: "Error: workspace " + base64.RawURLEncoding.EncodeToString([]byte(workspaceSecret)),
			})}},
			want: []string{"Error: plain " + Redacted, "Error: workspace " + Redacted}},
		{name: "two failed tasks",
			steps: []step{{task: "unit", log: "--- FAIL: TestUnit\n"}, {task: "e2e", log: "panic: e2e broke\n"}},
			want:  []string{"`unit`", "--- FAIL: TestUnit", "`e2e`", "panic: e2e broke"}},
		{name: "a timeout with no step",
			steps: []step{{task: "slow"}},
			want:  []string{"`slow`", "failed to finish within"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run := failedRun(ctx, t, c, k, ns, tc.steps)
			ex, err := NewReader(tekton.LogsOf(cl), tekton.SecretsOf(cl)).Read(ctx, ns, run)
			if err != nil {
				t.Fatal(err)
			}
			if len(ex.Tasks) != len(tc.steps) {
				t.Errorf("excerpt has %d tasks, want %d: %+v", len(ex.Tasks), len(tc.steps), ex)
			}
			for _, out := range []string{ex.Markdown(GitHubLimit), ex.Mrkdwn(SlackBlockLimit)} {
				for _, w := range tc.want {
					if !strings.Contains(out, w) {
						t.Errorf("excerpt does not hold %q:\n%s", w, out)
					}
				}
				for _, l := range leaks {
					if strings.Contains(out, l) {
						t.Errorf("excerpt shows a Secret (%q):\n%s", l, out)
					}
				}
			}
		})
	}
}

// failedRun writes, as Tekton's controller would, a failed PipelineRun
// that binds Secret deploy-key in a workspace, with one TaskRun, pod and
// log per step. It returns the run's name.
func failedRun(ctx context.Context, t *testing.T, c *kube.Cluster, k *kubelet.Kubelet, ns string, steps []step) string {
	t.Helper()
	prs := c.Tekton.TektonV1().PipelineRuns(ns)
	pr, err := prs.Create(ctx, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "ci-"},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: "ci"},
			Workspaces:  []pipelinev1.WorkspaceBinding{{Name: "key", Secret: &corev1.SecretVolumeSource{SecretName: "deploy-key"}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range steps {
		tr, err := c.Tekton.TektonV1().TaskRuns(ns).Create(ctx, &pipelinev1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Name: pr.Name + "-" + s.task, OwnerReferences: []metav1.OwnerReference{
				*metav1.NewControllerRef(pr, pipelinev1.SchemeGroupVersion.WithKind("PipelineRun"))}},
			Spec: pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: s.task}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cond := apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "TaskRunTimeout",
			Message: fmt.Sprintf("TaskRun %q failed to finish within \"1m0s\"", tr.Name)}
		if s.log != "" {
			pod, err := c.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: tr.Name + "-pod", OwnerReferences: []metav1.OwnerReference{
					*metav1.NewControllerRef(tr, pipelinev1.SchemeGroupVersion.WithKind("TaskRun"))}},
				Spec: corev1.PodSpec{NodeName: k.Node, Containers: []corev1.Container{{Name: "step-run", Image: "busybox",
					Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "value"}}}}}}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			k.SetLog(ns, pod.Name, "step-run", s.log)
			tr.Status.PodName = pod.Name
			tr.Status.Steps = []pipelinev1.StepState{{Name: "run", Container: "step-run",
				ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
			cond.Reason, cond.Message = "Failed", `"step-run" exited with code 1`
		}
		tr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{cond}}
		if _, err := c.Tekton.TektonV1().TaskRuns(ns).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pr.Status.ChildReferences = append(pr.Status.ChildReferences, pipelinev1.ChildStatusReference{
			TypeMeta: runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}, Name: tr.Name, PipelineTaskName: s.task,
		})
	}
	pr.Status.Status = duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse,
		Reason: "Failed", Message: fmt.Sprintf("Tasks Completed: %d (Failed: %d)", len(steps), len(steps))}}}
	if _, err := prs.UpdateStatus(ctx, pr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	return pr.Name
}
