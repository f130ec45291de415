package alerts

import (
	"reflect"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"

	"tekbot/tekton"
)

// TestSlimKeepsWhatAlertsNeed: the informer's transform keeps a run's
// identity, pipeline, state, end and (for a failure) its TaskRuns and
// reason, and nothing of its spec, labels or annotations.
func TestSlimKeepsWhatAlertsNeed(t *testing.T) {
	t.Parallel()
	end := metav1.NewTime(time.Date(2026, 11, 24, 10, 5, 0, 0, time.UTC))
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: "release-1", Namespace: "ci", UID: "6b1f6c1e-2d4c-4f7a-9a0e-0123456789ab", ResourceVersion: "7",
			Labels:      map[string]string{"pipelinesascode.tekton.dev/original-prname": "release", "team": "ci"},
			Annotations: map[string]string{"big": string(make([]byte, 4096))},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: "release-pipeline"},
			Params:      pipelinev1.Params{{Name: "revision", Value: *pipelinev1.NewStructuredValues("abc")}},
		},
	}
	pr.Status.CompletionTime = &end
	pr.Status.ChildReferences = []pipelinev1.ChildStatusReference{{Name: "release-1-build", PipelineTaskName: "build"}}
	pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed", Message: "Tasks Completed: 1 (Failed: 1)"})

	tests := []struct {
		name, label, pipeline string
	}{
		{"pipelineRef", "", "release-pipeline"},
		{"label", "pipelinesascode.tekton.dev/original-prname", "release"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			obj, err := slim(tt.label, func(*pipelinev1.PipelineRun) {})(pr.DeepCopy())
			if err != nil {
				t.Fatal(err)
			}
			r := obj.(*Run)
			want := &Run{
				Name: "release-1", Namespace: "ci", UID: parseUID("6b1f6c1e-2d4c-4f7a-9a0e-0123456789ab"),
				Pipeline: tt.pipeline, State: tekton.StateFailed, Finished: end.Time,
				Failure: &Failure{TaskRuns: []Child{{Name: "release-1-build", Task: "build"}}, Reason: "Failed", Message: "Tasks Completed: 1 (Failed: 1)"},
			}
			if !reflect.DeepEqual(r, want) {
				t.Errorf("slim = %+v (%+v), want %+v (%+v)", r, r.Failure, want, want.Failure)
			}
			if key, err := cache.MetaNamespaceKeyFunc(r); key != "ci/release-1" || err != nil {
				t.Errorf("cache key = %q, %v", key, err)
			}
			if r.UID.String() != "6b1f6c1e2d4c4f7a9a0e0123456789ab" {
				t.Errorf("uid = %s", r.UID)
			}
		})
	}
	// A tombstone passes through untouched.
	if got, _ := slim("", func(*pipelinev1.PipelineRun) {})("not a run"); got != "not a run" {
		t.Errorf("tombstone = %v", got)
	}
}
