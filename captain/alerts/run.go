package alerts

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unique"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"

	"tekbot/config"
	"tekbot/tekton"
)

// Run is all tekbot keeps of a watched PipelineRun: a namespace with
// 100,000 runs must fit in a small pod, so the informer's cache holds these
// (about 200 bytes each) instead of PipelineRuns with their specs, params
// and status, or even their ObjectMeta.
type Run struct {
	Name, Namespace string
	UID             uid
	Pipeline        string
	State           tekton.State
	Finished        time.Time
	// Failure is set for a failed run only.
	Failure *Failure
}

// Failure is what a failed run's status says: its TaskRuns, and the
// reason and message of its Succeeded condition.
type Failure struct {
	TaskRuns        []Child
	Reason, Message string
}

// Child is one of a failed run's TaskRuns.
type Child struct {
	Name, Task string
}

// uid is a Kubernetes UID (a UUID) in 16 bytes rather than a 36-character
// string.
type uid [16]byte

func parseUID(s types.UID) uid {
	var u uid
	_, _ = hex.Decode(u[:], []byte(strings.ReplaceAll(string(s), "-", "")))
	return u
}

func (u uid) String() string { return hex.EncodeToString(u[:]) }

// GetObjectMeta gives the informer's cache the name and namespace it keys
// runs by.
func (r *Run) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: r.Name, Namespace: r.Namespace}
}

// GetObjectKind and DeepCopyObject make Run a runtime.Object.
func (r *Run) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject copies the run; its Failure is never changed in place.
func (r *Run) DeepCopyObject() runtime.Object {
	c := *r
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
func slim(pipelineLabel string, seen func(*pipelinev1.PipelineRun)) cache.TransformFunc {
	return func(obj any) (any, error) {
		pr, ok := obj.(*pipelinev1.PipelineRun)
		if !ok {
			return obj, nil // a tombstone, or already slim
		}
		seen(pr)
		r := &Run{
			Name: pr.Name, Namespace: unique.Make(pr.Namespace).Value(), UID: parseUID(pr.UID),
			Pipeline: unique.Make(tekton.Pipeline(pr, pipelineLabel)).Value(),
			State:    tekton.StateOf(pr),
		}
		if pr.Status.CompletionTime != nil {
			r.Finished = pr.Status.CompletionTime.Time
		}
		if r.failed() {
			r.Failure = &Failure{}
			if cond := pr.Status.GetCondition(apis.ConditionSucceeded); cond != nil {
				r.Failure.Reason, r.Failure.Message = cond.Reason, cond.Message
			}
			for _, c := range pr.Status.ChildReferences {
				if c.Kind == "" || c.Kind == "TaskRun" {
					r.Failure.TaskRuns = append(r.Failure.TaskRuns, Child{Name: c.Name, Task: c.PipelineTaskName})
				}
			}
		}
		return r, nil
	}
}

// informer watches the runs one config entry selects on its cluster,
// caching slim Runs; seen gets each run whole as it arrives.
func informer(c *tekton.Cluster, w config.AlertWatch, resync time.Duration, seen func(*pipelinev1.PipelineRun)) (cache.SharedIndexInformer, error) {
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
	if err := inf.SetTransform(slim(w.PipelineLabel, seen)); err != nil {
		return nil, err
	}
	return inf, nil
}
