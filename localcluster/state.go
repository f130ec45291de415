package localcluster

import (
	"context"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

// RunState is a PipelineRun state the stand-in controller can write.
type RunState string

// The states of a PipelineRun, as the Tekton controller reports them in its
// Succeeded condition.
const (
	Running   RunState = "Running"
	Succeeded RunState = "Succeeded"
	Failed    RunState = "Failed"
	TimedOut  RunState = "PipelineRunTimeout"
	Cancelled RunState = "Cancelled"
)

// SetState plays the Tekton controller, which does not run here (there is
// no kubelet): it writes the PipelineRun's Succeeded condition, start and
// completion times through the status subresource, as the controller does.
func SetState(ctx context.Context, c *Cluster, namespace, name string, state RunState) (*pipelinev1.PipelineRun, error) {
	runs := c.Tekton.TektonV1().PipelineRuns(namespace)
	pr, err := runs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	if err := MarkState(pr, state, time.Now()); err != nil {
		return nil, err
	}
	return runs.UpdateStatus(ctx, pr, metav1.UpdateOptions{})
}

// MarkState writes state into pr's status as the Tekton controller would at
// now: SetState's change, for stores that are not an apiserver (test/fake).
func MarkState(pr *pipelinev1.PipelineRun, state RunState, at time.Time) error {
	now := metav1.NewTime(at)
	cond := apis.Condition{Type: apis.ConditionSucceeded, Reason: string(state), LastTransitionTime: apis.VolatileTime{Inner: now}}
	switch state {
	case Running:
		cond.Status = corev1.ConditionUnknown
		cond.Message = "Tasks Completed: 0 (Failed: 0, Cancelled 0), Incomplete: 1, Skipped: 0"
	case Succeeded:
		cond.Status = corev1.ConditionTrue
		cond.Message = "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0"
	case Failed, TimedOut, Cancelled:
		cond.Status = corev1.ConditionFalse
		cond.Message = fmt.Sprintf("PipelineRun %q ended: %s", pr.Name, state)
	default:
		return fmt.Errorf("unknown state %q", state)
	}
	if pr.Status.StartTime == nil {
		pr.Status.StartTime = &now
	}
	if cond.Status != corev1.ConditionUnknown {
		pr.Status.CompletionTime = &now
	}
	pr.Status.SetCondition(&cond)
	return nil
}
