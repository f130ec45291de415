package triage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// fakeCluster is a LogSource and SecretSource over maps.
type fakeCluster struct {
	prs     map[string]*pipelinev1.PipelineRun
	trs     map[string]*pipelinev1.TaskRun
	pods    map[string]*corev1.Pod
	logs    map[string]string // pod/container
	secrets map[string]map[string][]byte
	refused map[string]bool // Secrets whose read fails
	cut     map[string]bool // pod/container: logs whose start was not read
}

var errNotFound = errors.New("not found")

func get[T any](m map[string]T, name string) (T, error) {
	v, ok := m[name]
	if !ok {
		var zero T
		return zero, errNotFound
	}
	return v, nil
}

func (f *fakeCluster) PipelineRun(_ context.Context, _, name string) (*pipelinev1.PipelineRun, error) {
	return get(f.prs, name)
}
func (f *fakeCluster) TaskRun(_ context.Context, _, name string) (*pipelinev1.TaskRun, error) {
	return get(f.trs, name)
}
func (f *fakeCluster) Pod(_ context.Context, _, name string) (*corev1.Pod, error) {
	return get(f.pods, name)
}
func (f *fakeCluster) Log(_ context.Context, _, pod, container string) (string, bool, error) {
	l, err := get(f.logs, pod+"/"+container)
	return l, f.cut[pod+"/"+container], err
}
func (f *fakeCluster) SecretData(_ context.Context, _, name string) (map[string][]byte, error) {
	if f.refused[name] {
		return nil, errors.New("forbidden")
	}
	return f.secrets[name], nil
}

func condition(status corev1.ConditionStatus, reason, msg string) duckv1.Status {
	return duckv1.Status{Conditions: duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: status, Reason: reason, Message: msg}}}
}

func owned(name, uid string, owner metav1.Object, kind string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "ci", UID: types.UID(uid), OwnerReferences: []metav1.OwnerReference{{
		APIVersion: "tekton.dev/v1", Kind: kind, Name: owner.GetName(), UID: owner.GetUID(), Controller: ptr.To(true),
	}}}
}

// world is a failed run "ci-1" whose tasks are given by the test; each
// task is "name:state" where state is pass, fail (step "test" exits 1,
// its log given) or timeout (no step ran).
type world struct {
	*fakeCluster
	pr *pipelinev1.PipelineRun
}

func newWorld() *world {
	pr := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "ci-1", Namespace: "ci", UID: "pr-uid"}}
	pr.Status.Status = condition(corev1.ConditionFalse, "Failed", "Tasks Completed: 3 (Failed: 2)")
	return &world{fakeCluster: &fakeCluster{
		prs: map[string]*pipelinev1.PipelineRun{"ci-1": pr}, trs: map[string]*pipelinev1.TaskRun{},
		pods: map[string]*corev1.Pod{}, logs: map[string]string{}, secrets: map[string]map[string][]byte{}, refused: map[string]bool{},
	}, pr: pr}
}

// task adds a TaskRun of the run. With a log, its step "test" exited 1
// with that log, in a pod whose step reads Secret "creds"; without, and
// failed, no step ran.
func (w *world) task(name string, failed bool, log string) *pipelinev1.TaskRun {
	tr := &pipelinev1.TaskRun{ObjectMeta: owned("ci-1-"+name, "uid-"+name, w.pr, "PipelineRun")}
	w.pr.Status.ChildReferences = append(w.pr.Status.ChildReferences, pipelinev1.ChildStatusReference{
		TypeMeta: runtimeTaskRun, Name: tr.Name, PipelineTaskName: name,
	})
	w.trs[tr.Name] = tr
	switch {
	case !failed:
		tr.Status.Status = condition(corev1.ConditionTrue, "Succeeded", "All Steps have completed executing")
	case log == "":
		tr.Status.Status = condition(corev1.ConditionFalse, "TaskRunTimeout", fmt.Sprintf("TaskRun %q failed to finish within \"1m0s\"", tr.Name))
		return tr
	default:
		tr.Status.Status = condition(corev1.ConditionFalse, "Failed", `"step-test" exited with code 1`)
	}
	tr.Status.PodName = tr.Name + "-pod"
	pod := &corev1.Pod{ObjectMeta: owned(tr.Status.PodName, "pod-"+name, tr, "TaskRun")}
	pod.Spec.Containers = []corev1.Container{{Name: "step-test", Env: []corev1.EnvVar{{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "token"}}}}}}
	w.pods[pod.Name] = pod
	exit := int32(0)
	if failed {
		exit = 1
	}
	tr.Status.Steps = []pipelinev1.StepState{
		{Name: "prepare", Container: "step-prepare", ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}},
		{Name: "test", Container: "step-test", ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: exit}}},
		{Name: "after", Container: "step-after", TerminationReason: "Skipped", ContainerState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}},
	}
	w.logs[pod.Name+"/step-test"] = log
	return tr
}

var runtimeTaskRun = runtime.TypeMeta{APIVersion: "tekton.dev/v1", Kind: "TaskRun"}

const secretValue = "hunter2-very-secret-value"

func TestRead(t *testing.T) {
	t.Parallel()
	leaky := numbered(50, map[int]string{
		10: "Error: plain " + secretValue,
		11: "b64 " + base64.StdEncoding.EncodeToString([]byte(secretValue)),
		12: "url https://x/?t=" + url.QueryEscape(secretValue),
		13: "Error: push refused with token ghp_" + strings.Repeat("a1B2", 9),
	})
	for _, tc := range []struct {
		name      string
		setup     func(w *world)
		secrets   bool
		wantTasks []string // task: step or condition, then lines that must be there
		wantLines map[string][]string
		truncated bool
		absent    []string
	}{
		{name: "two failed tasks: both, in order, the passed one not",
			setup: func(w *world) {
				w.task("build", false, "")
				w.task("unit", true, numbered(220, map[int]string{20: "x_test.go:20: error: want 1, got 2"}))
				w.task("e2e", true, "--- FAIL: TestE2E\n")
			},
			secrets:   true,
			wantTasks: []string{"unit", "e2e"},
			wantLines: map[string][]string{"unit": {"x_test.go:20: error: want 1, got 2"}, "e2e": {"--- FAIL: TestE2E"}}},
		{name: "a timeout with no step: the condition",
			setup:     func(w *world) { w.task("slow", true, "") },
			secrets:   true,
			wantTasks: []string{"slow"}},
		{name: "no TaskRun at all: the run's condition",
			setup: func(w *world) {
				w.pr.Status.Status = condition(corev1.ConditionFalse, "CouldntGetPipeline", "pipeline not found")
			},
			secrets:   true,
			wantTasks: []string{""}},
		{name: "a Secret's value in every form, and a token shape, redacted",
			setup: func(w *world) {
				w.secrets["creds"] = map[string][]byte{"token": []byte(secretValue)}
				w.task("push", true, leaky)
			},
			secrets:   true,
			wantTasks: []string{"push"},
			wantLines: map[string][]string{"push": {"Error: plain " + Redacted, "Error: push refused with token " + Redacted}},
			absent:    []string{secretValue, base64.StdEncoding.EncodeToString([]byte(secretValue)), url.QueryEscape(secretValue), "ghp_"}},
		{name: "a docker config's password printed alone, redacted",
			setup: func(w *world) {
				w.secrets["creds"] = map[string][]byte{".dockerconfigjson": []byte(`{"auths":{"r.example.com":{"password":"` + secretValue + `"}}}`)}
				w.task("push", true, "Error: login with "+secretValue+" refused\n")
			},
			secrets:   true,
			wantTasks: []string{"push"},
			wantLines: map[string][]string{"push": {"Error: login with " + Redacted + " refused"}},
			absent:    []string{secretValue}},
		{name: "a Secret too large a document to look for: logs withheld",
			setup: func(w *world) {
				var doc strings.Builder
				for i := range maxNeedles {
					fmt.Fprintf(&doc, "key%d: value-number-%d\n", i, i)
				}
				w.secrets["creds"] = map[string][]byte{"values.yaml": []byte(doc.String())}
				w.task("push", true, "Error: x\n")
			},
			secrets:   true,
			wantTasks: []string{"push"},
			truncated: true,
			absent:    []string{"Error: x"}},
		{name: "a cut log starting with a value's end: redacted",
			setup: func(w *world) {
				w.secrets["creds"] = map[string][]byte{"token": []byte(secretValue)}
				tr := w.task("push", true, secretValue[10:]+" was the token\nError: x\n")
				w.cut = map[string]bool{tr.Status.PodName + "/step-test": true}
			},
			secrets:   true,
			wantTasks: []string{"push"},
			wantLines: map[string][]string{"push": {Redacted + " was the token", "Error: x"}},
			truncated: true,
			absent:    []string{secretValue[10:]}},
		{name: "a Secret tekbot may not read: logs withheld",
			setup: func(w *world) {
				w.refused["creds"] = true
				w.task("push", true, leaky)
			},
			secrets:   true,
			wantTasks: []string{"push"},
			truncated: true,
			absent:    []string{secretValue, "plain"}},
		{name: "shapes only (no Secret rights): logs shown, shapes redacted",
			setup:     func(w *world) { w.task("push", true, leaky) },
			wantTasks: []string{"push"},
			wantLines: map[string][]string{"push": {"Error: push refused with token " + Redacted}},
			absent:    []string{"ghp_"}},
		{name: "a TaskRun the run does not control is not its",
			setup: func(w *world) {
				tr := w.task("forged", true, "Error: look at me\n")
				tr.OwnerReferences = nil
				w.task("unit", true, "Error: real\n")
			},
			secrets:   true,
			wantTasks: []string{"unit"},
			truncated: true,
			absent:    []string{"Error: real", "look at me"}},
		{name: "another task's pod gone: logs withheld (its Secrets are unknown)",
			setup: func(w *world) {
				tr := w.task("build", false, "")
				delete(w.pods, tr.Status.PodName)
				w.task("unit", true, "Error: x\n")
			},
			secrets:   true,
			wantTasks: []string{"unit"},
			truncated: true,
			absent:    []string{"Error: x"}},
		{name: "another task's pod not its TaskRun's: logs withheld",
			setup: func(w *world) {
				tr := w.task("build", false, "")
				w.pods[tr.Status.PodName].OwnerReferences = nil
				w.task("unit", true, "Error: x\n")
			},
			secrets:   true,
			wantTasks: []string{"unit"},
			truncated: true,
			absent:    []string{"Error: x"}},
		{name: "another TaskRun not read: logs withheld",
			setup: func(w *world) {
				tr := w.task("build", false, "")
				delete(w.trs, tr.Name)
				w.task("unit", true, "Error: x\n")
			},
			secrets:   true,
			wantTasks: []string{"unit"},
			truncated: true,
			absent:    []string{"Error: x"}},
		{name: "a passed task that never had a pod: logs shown",
			setup: func(w *world) {
				tr := w.task("build", false, "")
				delete(w.pods, tr.Status.PodName)
				tr.Status.PodName = ""
				w.task("unit", true, "Error: x\n")
			},
			secrets:   true,
			wantTasks: []string{"unit"},
			wantLines: map[string][]string{"unit": {"Error: x"}}},
		{name: "too many TaskRuns: conditions only, logs withheld",
			setup: func(w *world) {
				w.task("unit", true, "Error: x\n")
				for i := range maxTaskRuns {
					w.task(fmt.Sprintf("ok-%d", i), false, "")
				}
			},
			secrets:   true,
			wantTasks: []string{"unit"},
			truncated: true,
			absent:    []string{"Error: x"}},
		{name: "a run that has not failed: nothing",
			setup: func(w *world) {
				w.pr.Status.Status = condition(corev1.ConditionTrue, "Succeeded", "")
				w.task("unit", true, "Error: x\n")
			},
			secrets: true},
		{name: "a pruned pod: the condition, no lines",
			setup: func(w *world) {
				tr := w.task("unit", true, "Error: x\n")
				delete(w.pods, tr.Status.PodName)
			},
			secrets:   true,
			wantTasks: []string{"unit"},
			truncated: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld()
			tc.setup(w)
			var secrets SecretSource
			if tc.secrets {
				secrets = w
			}
			ex, err := NewReader(w, secrets).Read(context.Background(), "ci", "ci-1")
			if err != nil {
				t.Fatal(err)
			}
			var tasks []string
			for _, task := range ex.Tasks {
				tasks = append(tasks, task.Task)
				if task.Step == "" && task.Condition == "" {
					t.Errorf("task %q: neither a step nor a condition", task.Task)
				}
				if task.Step != "" && (task.Step != "test" || task.ExitCode != 1) {
					t.Errorf("task %q: step %q exit %d, want test exit 1", task.Task, task.Step, task.ExitCode)
				}
				for _, l := range tc.wantLines[task.Task] {
					if !slices.Contains(task.Lines, l) {
						t.Errorf("task %q lines %q: want %q", task.Task, task.Lines, l)
					}
				}
			}
			if !slices.Equal(tasks, tc.wantTasks) {
				t.Errorf("tasks = %q, want %q", tasks, tc.wantTasks)
			}
			if ex.Truncated != tc.truncated {
				t.Errorf("Truncated = %v, want %v", ex.Truncated, tc.truncated)
			}
			for _, out := range []string{ex.Markdown(GitHubLimit), ex.Mrkdwn(SlackBlockLimit)} {
				for _, a := range tc.absent {
					if strings.Contains(out, a) {
						t.Errorf("output holds %q:\n%s", a, out)
					}
				}
			}
		})
	}
}

func TestReadConditions(t *testing.T) {
	t.Parallel()
	w := newWorld()
	w.task("slow", true, "")
	ex, err := NewReader(w, w).Read(context.Background(), "ci", "ci-1")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ex.Markdown(GitHubLimit), "failed to finish within"; !strings.Contains(got, want) {
		t.Errorf("Markdown = %q, want the condition %q", got, want)
	}
	if _, err := NewReader(w, w).Read(context.Background(), "ci", "gone"); err == nil {
		t.Error("Read of a missing run: no error")
	}
}
