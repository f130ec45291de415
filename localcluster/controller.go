package localcluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"knative.dev/pkg/apis"
)

// Controller stands in for Tekton's controller, which cannot run on a
// control plane without nodes: it starts each new PipelineRun at once and
// ends it RunTime after it started, writing the status through the status
// subresource as Tekton does. Pending runs wait (until someone clears
// spec.status); a run whose spec.status asks to cancel is cancelled at
// once. It is for the sandbox, where people watch runs finish; tests set
// the states they need with SetState.
type Controller struct {
	Cluster *Cluster
	// RunTime is how long a run runs.
	RunTime time.Duration
	// Outcome says how a run that ran for RunTime ends; nil means
	// Succeeded.
	Outcome func(*pipelinev1.PipelineRun) RunState
	// Changed, if set, is told each state the controller writes.
	Changed func(pr *pipelinev1.PipelineRun, state RunState)
	// Errors, if set, is told of writes that failed.
	Errors func(pr *pipelinev1.PipelineRun, err error)
	// Kubelet, if set, serves the logs of a failed run: the run gets a
	// failed TaskRun whose step's log it serves (failTask).
	Kubelet *Kubelet

	mu      sync.Mutex
	pending map[types.UID]bool // runs with a finish scheduled
}

// Run watches every namespace's PipelineRuns until ctx ends.
func (c *Controller) Run(ctx context.Context) {
	runs := c.Cluster.Tekton.TektonV1().PipelineRuns(metav1.NamespaceAll)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return runs.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return runs.Watch(ctx, o)
		},
	}
	c.pending = map[types.UID]bool{}
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw,
		ObjectType:    &pipelinev1.PipelineRun{},
		Handler: cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { c.see(ctx, obj) },
			UpdateFunc: func(_, obj any) { c.see(ctx, obj) },
		},
	})
	informer.RunWithContext(ctx)
}

// see moves a run on from what it is now.
func (c *Controller) see(ctx context.Context, obj any) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return
	}
	cond := pr.Status.GetCondition(apis.ConditionSucceeded)
	done := cond != nil && cond.Status != corev1.ConditionUnknown
	switch {
	case done:
	case pr.IsCancelled() || pr.IsGracefullyCancelled() || pr.IsGracefullyStopped():
		c.set(ctx, pr, Cancelled)
	case pr.IsPending():
	case cond == nil:
		c.set(ctx, pr, Running) // the update that follows schedules the end
	default:
		c.finishLater(ctx, pr)
	}
}

// finishLater ends a running run RunTime after it started, once.
func (c *Controller) finishLater(ctx context.Context, pr *pipelinev1.PipelineRun) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pending[pr.UID] {
		return
	}
	c.pending[pr.UID] = true
	left := c.RunTime
	if pr.Status.StartTime != nil {
		left = time.Until(pr.Status.StartTime.Add(c.RunTime))
	}
	key := types.NamespacedName{Namespace: pr.Namespace, Name: pr.Name}
	uid := pr.UID
	time.AfterFunc(max(left, 0), func() {
		defer func() {
			c.mu.Lock()
			delete(c.pending, uid)
			c.mu.Unlock()
		}()
		if ctx.Err() != nil {
			return
		}
		cur, err := c.Cluster.Tekton.TektonV1().PipelineRuns(key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
		if err != nil || cur.UID != uid || cur.IsCancelled() || cur.IsGracefullyCancelled() || cur.IsGracefullyStopped() {
			return // gone, replaced, or the informer cancels it
		}
		if cond := cur.Status.GetCondition(apis.ConditionSucceeded); cond == nil || cond.Status != corev1.ConditionUnknown {
			return
		}
		state := Succeeded
		if c.Outcome != nil {
			state = c.Outcome(cur)
		}
		c.set(ctx, cur, state)
	})
}

// set writes state, retrying on a conflict with another writer.
func (c *Controller) set(ctx context.Context, pr *pipelinev1.PipelineRun, state RunState) {
	if state == Failed && c.Kubelet != nil {
		if err := c.failTask(ctx, pr); err != nil && ctx.Err() == nil && c.Errors != nil {
			c.Errors(pr, fmt.Errorf("writing its failed TaskRun: %w", err))
		}
	}
	var got *pipelinev1.PipelineRun
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		got, err = SetState(ctx, c.Cluster, pr.Namespace, pr.Name, state)
		return err
	})
	switch {
	case err == nil && c.Changed != nil:
		c.Changed(got, state)
	case err != nil && !apierrors.IsNotFound(err) && ctx.Err() == nil && c.Errors != nil:
		c.Errors(pr, err)
	}
}
