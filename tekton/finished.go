package tekton

import (
	"context"
	"fmt"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

// OnFinished makes the run indexes started after it (WatchRuns) call fn
// with every finished PipelineRun they receive, whole, before it is
// slimmed: the outcome history (package flakes) is fed from the watch
// tekbot already keeps. fn runs on the watch's goroutine and must not
// block; it may see a run more than once.
func (c *Cluster) OnFinished(fn func(*pipelinev1.PipelineRun)) {
	c.finished = fn
}

// FailedTasks names the pipeline tasks of a run's TaskRuns (its
// childReferences) that failed, read from their Succeeded conditions.
func (c *Cluster) FailedTasks(ctx context.Context, namespace string, children []pipelinev1.ChildStatusReference) ([]string, error) {
	return FailedTasksOf(ctx, namespace, children, func(ctx context.Context, name string) (*pipelinev1.TaskRun, error) {
		return c.Tekton.TektonV1().TaskRuns(namespace).Get(ctx, name, metav1.GetOptions{})
	})
}

// FailedTasksOf is FailedTasks over any store of TaskRuns (a fake's too).
func FailedTasksOf(ctx context.Context, namespace string, children []pipelinev1.ChildStatusReference, get func(ctx context.Context, name string) (*pipelinev1.TaskRun, error)) ([]string, error) {
	var out []string
	for _, child := range children {
		if child.Kind != "" && child.Kind != "TaskRun" {
			continue
		}
		tr, err := get(ctx, child.Name)
		if err != nil {
			return out, fmt.Errorf("reading TaskRun %s/%s: %w", namespace, child.Name, err)
		}
		if cond := tr.Status.GetCondition(apis.ConditionSucceeded); cond != nil && cond.IsFalse() {
			task := child.PipelineTaskName
			if task == "" {
				task = child.Name
			}
			out = append(out, task)
		}
	}
	return out, nil
}
