package tekton

import (
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"knative.dev/pkg/apis"
)

func TestRerunName(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("a", 70)
	tests := []struct {
		id, orig, rerunOf string
		wantPrefix        string
	}{
		{"delivery-1", "unit-tests-x7k2p", "", "unit-tests-x7k2p-"},
		{"delivery-1", "unit-tests-x7k2p-0123456789", "unit-tests-x7k2p", "unit-tests-x7k2p-"},
		{"d", long, "", strings.Repeat("a", 52) + "-"},
		{"d", "a-" + strings.Repeat("b", 49) + "-c", "", "a-" + strings.Repeat("b", 49) + "-"},
	}
	for _, tt := range tests {
		got := RerunName(tt.id, tt.orig, tt.rerunOf)
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("RerunName(%q) = %q: not a DNS label: %v", tt.orig, got, errs)
		}
		if !strings.HasPrefix(got, tt.wantPrefix) {
			t.Errorf("RerunName(%q) = %q, want prefix %q", tt.orig, got, tt.wantPrefix)
		}
		if again := RerunName(tt.id, tt.orig, tt.rerunOf); again != got {
			t.Errorf("not deterministic: %q then %q", got, again)
		}
	}
	if RerunName("d1", "x", "") == RerunName("d2", "x", "") {
		t.Error("two requests must get two names")
	}
	if RerunName("d1", "x", "") == RerunName("d1", "y", "") {
		t.Error("two originals in one request must get two names")
	}
	// A redelivery after the first attempt's rerun became the latest run
	// reruns that rerun: it must land on the same name.
	first := RerunName("d1", "unit-x", "")
	if again := RerunName("d1", first, "unit-x"); again != first {
		t.Errorf("redelivery names %q, first attempt %q", again, first)
	}
	if RerunName("d2", first, "unit-x") == first {
		t.Error("a new request rerunning a rerun needs a new name")
	}
}

func run(name string, status corev1.ConditionStatus, reason string, created time.Time) pipelinev1.PipelineRun {
	pr := pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}}
	if status != "" {
		pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: status, Reason: reason})
	}
	return pr
}

func TestStateOf(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(0, 0)
	pending := run("p", "", "", t0)
	pending.Spec.Status = pipelinev1.PipelineRunSpecStatusPending
	tests := []struct {
		pr    pipelinev1.PipelineRun
		want  State
		retry bool
	}{
		{run("new", "", "", t0), StateRunning, false},
		{run("r", corev1.ConditionUnknown, "Running", t0), StateRunning, false},
		{run("ok", corev1.ConditionTrue, "Succeeded", t0), StateSucceeded, false},
		{run("ko", corev1.ConditionFalse, "Failed", t0), StateFailed, true},
		{run("to", corev1.ConditionFalse, "PipelineRunTimeout", t0), StateTimedOut, true},
		{run("cx", corev1.ConditionFalse, "Cancelled", t0), StateCancelled, true},
		{run("bad", corev1.ConditionFalse, "CouldntGetPipeline", t0), StateFailed, true},
		{pending, StatePending, false},
	}
	for _, tt := range tests {
		if got := StateOf(&tt.pr); got != tt.want || got.Retryable() != tt.retry {
			t.Errorf("%s: %s (retry %v), want %s (retry %v)", tt.pr.Name, got, got.Retryable(), tt.want, tt.retry)
		}
	}
}

func TestRerunOfCopiesSpecNotState(t *testing.T) {
	t.Parallel()
	orig := run("unit-x", corev1.ConditionFalse, "Cancelled", time.Unix(0, 0))
	orig.Namespace = "ci"
	orig.Spec.PipelineRef = &pipelinev1.PipelineRef{Name: "unit"}
	orig.Spec.Status = pipelinev1.PipelineRunSpecStatusCancelled
	orig.Labels = map[string]string{"team": "ci", "tekton.dev/pipeline": "unit", "pipelinesascode.tekton.dev/state": "completed", "pipelinesascode.tekton.dev/sha": "abc"}
	orig.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{}", "note": "keep"}
	orig.ResourceVersion, orig.UID = "42", "uid"
	got := RerunOf(&orig, Requester{Name: "andrea", RequestID: "d-1"})
	if got.Spec.Status != "" || got.Spec.PipelineRef.Name != "unit" || len(got.Status.Conditions) != 0 {
		t.Errorf("spec/status: %+v %+v", got.Spec, got.Status)
	}
	if got.ResourceVersion != "" || got.UID != "" || got.Namespace != "ci" {
		t.Errorf("metadata: %+v", got.ObjectMeta)
	}
	wantLabels := map[string]string{"team": "ci", "pipelinesascode.tekton.dev/sha": "abc", LabelRerunOf: "unit-x"}
	if len(got.Labels) != len(wantLabels) {
		t.Errorf("labels = %v, want %v", got.Labels, wantLabels)
	}
	for k, v := range wantLabels {
		if got.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, got.Labels[k], v)
		}
	}
	if got.Annotations["note"] != "keep" || got.Annotations[AnnotationRequester] != "andrea" || got.Annotations["kubectl.kubernetes.io/last-applied-configuration"] != "" {
		t.Errorf("annotations = %v", got.Annotations)
	}
	if orig.Spec.Status != pipelinev1.PipelineRunSpecStatusCancelled {
		t.Error("RerunOf changed the original")
	}
}

func TestLatestPrefersNewestThenName(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	a := run("unit-1", corev1.ConditionFalse, "Failed", t0)
	b := run("unit-1-0123456789", "", "", t0) // its rerun, same second
	c := run("e2e-1", corev1.ConditionTrue, "Succeeded", t0.Add(-time.Hour))
	d := run("e2e-2", corev1.ConditionFalse, "Failed", t0)
	for _, pr := range []*pipelinev1.PipelineRun{&a, &b} {
		pr.Labels = map[string]string{"p": "unit"}
	}
	for _, pr := range []*pipelinev1.PipelineRun{&c, &d} {
		pr.Labels = map[string]string{"p": "e2e"}
	}
	got := Latest([]pipelinev1.PipelineRun{a, b, c, d}, "p")
	if len(got) != 2 || got[0].Name != "e2e-2" || got[1].Name != "unit-1-0123456789" {
		var names []string
		for _, g := range got {
			names = append(names, g.Name)
		}
		t.Errorf("Latest = %v", names)
	}
}
