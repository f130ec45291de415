package tekton

import (
	"crypto/sha256"
	"encoding/hex"
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
		root    string
		attempt int
		want    string
	}{
		{"unit-tests-x7k2p", 1, "unit-tests-x7k2p-retry-1"},
		{"unit-tests-x7k2p", 12, "unit-tests-x7k2p-retry-12"},
		{strings.Repeat("b", 55), 1, strings.Repeat("b", 55) + "-retry-1"},
		{long, 1, strings.Repeat("a", 46) + "-" + hash8(long) + "-retry-1"},
		{"a-" + strings.Repeat("b", 44) + "-cdefghijklmnopqr", 3, "a-" + strings.Repeat("b", 44) + "-" + hash8("a-"+strings.Repeat("b", 44)+"-cdefghijklmnopqr") + "-retry-3"},
	}
	for _, tt := range tests {
		got := RerunName(tt.root, tt.attempt)
		if errs := validation.IsDNS1123Label(got); len(errs) > 0 {
			t.Errorf("RerunName(%q, %d) = %q: not a DNS label: %v", tt.root, tt.attempt, got, errs)
		}
		if got != tt.want {
			t.Errorf("RerunName(%q, %d) = %q, want %q", tt.root, tt.attempt, got, tt.want)
		}
	}
	// Two long roots that differ only past the cut keep apart.
	if RerunName(long+"x", 1) == RerunName(long+"y", 1) {
		t.Error("two roots share a name")
	}
}

func hash8(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:8]
}

func TestRerunOfNumbersAttempts(t *testing.T) {
	t.Parallel()
	orig := run("unit-x", corev1.ConditionFalse, "Failed", time.Unix(0, 0))
	first := RerunOf(&orig, Requester{Name: "andrea", RequestID: "d-1"})
	second := RerunOf(first, Requester{Name: "vincent", RequestID: "slack-2"})
	legacy := run("unit-x-0123456789", corev1.ConditionFalse, "Failed", time.Unix(0, 0))
	legacy.Labels = map[string]string{LabelRerunOf: "unit-x"} // made before attempts were numbered
	tests := []struct {
		name        string
		got         *pipelinev1.PipelineRun
		wantName    string
		wantAttempt string
	}{
		{"the original's rerun", first, "unit-x-retry-1", "1"},
		{"a rerun's rerun", second, "unit-x-retry-2", "2"},
		{"an unnumbered rerun's rerun", RerunOf(&legacy, Requester{RequestID: "d-3"}), "unit-x-retry-2", "2"},
		// Who asks does not change the name: the apiserver keeps one.
		{"another request for the original", RerunOf(&orig, Requester{Name: "sam", RequestID: "d-9"}), "unit-x-retry-1", "1"},
	}
	for _, tt := range tests {
		if tt.got.Name != tt.wantName || tt.got.Labels[LabelAttempt] != tt.wantAttempt || tt.got.Labels[LabelRerunOf] != "unit-x" {
			t.Errorf("%s: %s attempt %q of %q, want %s attempt %s of unit-x", tt.name, tt.got.Name, tt.got.Labels[LabelAttempt], tt.got.Labels[LabelRerunOf], tt.wantName, tt.wantAttempt)
		}
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
	wantLabels := map[string]string{"team": "ci", "pipelinesascode.tekton.dev/sha": "abc", LabelRerunOf: "unit-x", LabelAttempt: "1"}
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
