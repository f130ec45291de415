package alerts

import (
	"context"
	"fmt"
	"slices"
	"time"
	"unique"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"

	"tekbot/config"
	"tekbot/tekton"
)

// Run is all tekbot keeps of a watched PipelineRun: a namespace with
// 100,000 runs must fit in a small pod, so the informer's cache holds these
// instead of PipelineRuns with their specs, params and status.
type Run struct {
	metav1.TypeMeta
	// ObjectMeta has the name, namespace, UID and resourceVersion only.
	metav1.ObjectMeta
	Pipeline string
	State    tekton.State
	Finished time.Time
	// For a failed run: its TaskRuns, and the reason and message of its
	// Succeeded condition.
	TaskRuns []Child
	Reason   string
	Message  string
}

// Child is one of a failed run's TaskRuns.
type Child struct {
	Name, Task string
}

// DeepCopyObject makes Run a runtime.Object, as an informer's cache needs.
func (r *Run) DeepCopyObject() runtime.Object {
	c := *r
	r.ObjectMeta.DeepCopyInto(&c.ObjectMeta)
	c.TaskRuns = slices.Clone(r.TaskRuns)
	return &c
}

// failed reports whether the run ended in a failure worth an alert; a
// cancelled run was stopped by a person, who knows.
func (r *Run) failed() bool {
	return r.State == tekton.StateFailed || r.State == tekton.StateTimedOut
}

// slim turns a PipelineRun into a Run as the informer receives it, before
// it is cached. Pipeline and namespace names repeat across thousands of
// runs, so they are interned.
func slim(pipelineLabel string) cache.TransformFunc {
	return func(obj any) (any, error) {
		pr, ok := obj.(*pipelinev1.PipelineRun)
		if !ok {
			return obj, nil // a tombstone, or already slim
		}
		r := &Run{
			ObjectMeta: metav1.ObjectMeta{
				Name: pr.Name, Namespace: unique.Make(pr.Namespace).Value(),
				UID: pr.UID, ResourceVersion: pr.ResourceVersion,
			},
			Pipeline: unique.Make(tekton.Pipeline(pr, pipelineLabel)).Value(),
			State:    tekton.StateOf(pr),
		}
		if pr.Status.CompletionTime != nil {
			r.Finished = pr.Status.CompletionTime.Time
		}
		if r.failed() {
			if cond := pr.Status.GetCondition(apis.ConditionSucceeded); cond != nil {
				r.Reason, r.Message = cond.Reason, cond.Message
			}
			for _, c := range pr.Status.ChildReferences {
				if c.Kind == "" || c.Kind == "TaskRun" {
					r.TaskRuns = append(r.TaskRuns, Child{Name: c.Name, Task: c.PipelineTaskName})
				}
			}
		}
		return r, nil
	}
}

// informer watches the runs one config entry selects on its cluster,
// caching slim Runs.
func informer(c *tekton.Cluster, w config.AlertWatch, resync time.Duration) (cache.SharedIndexInformer, error) {
	if _, err := labels.Parse(w.Selector); err != nil {
		return nil, fmt.Errorf("alerts on %s: selector: %w", c.Name, err)
	}
	runs := c.Tekton.TektonV1().PipelineRuns(w.Namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector = w.Selector
			return runs.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector = w.Selector
			return runs.Watch(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(lw, &pipelinev1.PipelineRun{}, cache.SharedIndexInformerOptions{
		ResyncPeriod:      resync,
		ObjectDescription: "alerted PipelineRuns on " + c.Name,
	})
	if err := inf.SetTransform(slim(w.PipelineLabel)); err != nil {
		return nil, err
	}
	return inf, nil
}
