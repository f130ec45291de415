package fake

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/watch"

	"tekbot/localcluster"
	"tekbot/tekton"
)

// Clusters are named clusters of PipelineRuns in memory, with the verbs of
// tekton.Clusters (what handlers.Runs declares) and the controller's side
// that tests play: SetState, UpdateStatus, Update and Watch.
type Clusters struct {
	// URLFor links a run to a dashboard; nil links nothing.
	URLFor func(cluster, namespace, name string) string
	// Now stamps creation times; nil means time.Now.
	Now func() time.Time

	mu       sync.Mutex
	clusters map[string]*cluster
}

// cluster is one apiserver's PipelineRuns: one resourceVersion sequence,
// as one etcd has.
type cluster struct {
	rv       int64
	runs     map[types.NamespacedName]*pipelinev1.PipelineRun
	taskRuns map[types.NamespacedName]*pipelinev1.TaskRun
	watchers []*watcher
}

// NewClusters makes empty clusters with these names; any other name is an
// error, as it is for tekton.Clusters.
func NewClusters(names ...string) *Clusters {
	f := &Clusters{clusters: map[string]*cluster{}}
	for _, n := range names {
		f.clusters[n] = &cluster{runs: map[types.NamespacedName]*pipelinev1.PipelineRun{}, taskRuns: map[types.NamespacedName]*pipelinev1.TaskRun{}}
	}
	return f
}

var pipelineRuns = pipelinev1.Resource("pipelineruns")

// lock takes the lock and finds the named cluster.
func (f *Clusters) lock(name string) (*cluster, error) {
	f.mu.Lock()
	if c := f.clusters[name]; c != nil {
		return c, nil
	}
	f.mu.Unlock()
	return nil, fmt.Errorf("no connection to a cluster named %q", name)
}

func (f *Clusters) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// Run reads one PipelineRun.
func (f *Clusters) Run(_ context.Context, clusterName, namespace, name string) (*pipelinev1.PipelineRun, error) {
	c, err := f.lock(clusterName)
	if err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	pr := c.runs[types.NamespacedName{Namespace: namespace, Name: name}]
	if pr == nil {
		return nil, apierrors.NewNotFound(pipelineRuns, name)
	}
	return pr.DeepCopy(), nil
}

// Matching lists the runs in namespace a label selector matches, by name
// as the apiserver lists them.
func (f *Clusters) Matching(_ context.Context, clusterName, namespace, selector string) ([]pipelinev1.PipelineRun, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w", selector, err)
	}
	c, err := f.lock(clusterName)
	if err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	var out []pipelinev1.PipelineRun
	for _, pr := range c.sorted(namespace) {
		if sel.Matches(labels.Set(pr.Labels)) {
			out = append(out, *pr.DeepCopy())
		}
	}
	return out, nil
}

// EachRun calls fn for every run in namespace, by name. fn runs without
// the lock held, on copies, as it would on a page of a list.
func (f *Clusters) EachRun(ctx context.Context, clusterName, namespace string, fn func(*pipelinev1.PipelineRun)) error {
	runs, err := f.Matching(ctx, clusterName, namespace, "")
	if err != nil {
		return err
	}
	for i := range runs {
		fn(&runs[i])
	}
	return nil
}

func (c *cluster) sorted(namespace string) []*pipelinev1.PipelineRun {
	var out []*pipelinev1.PipelineRun
	for key, pr := range c.runs {
		if key.Namespace == namespace {
			out = append(out, pr)
		}
	}
	slices.SortFunc(out, func(a, b *pipelinev1.PipelineRun) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

// create stores a copy of pr as the apiserver does: a generated name
// filled in, status dropped (the status subresource's rule), identity,
// generation, creation time and resourceVersion set.
func (f *Clusters) create(c *cluster, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, error) {
	if pr.ResourceVersion != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	stored := pr.DeepCopy()
	if stored.Name == "" && stored.GenerateName != "" {
		stored.Name = stored.GenerateName + rand.String(5)
	}
	if stored.Name == "" {
		return nil, apierrors.NewInvalid(pipelinev1.Kind("PipelineRun"), "", nil)
	}
	key := types.NamespacedName{Namespace: stored.Namespace, Name: stored.Name}
	if c.runs[key] != nil {
		return nil, apierrors.NewAlreadyExists(pipelineRuns, stored.Name)
	}
	stored.Status = pipelinev1.PipelineRunStatus{}
	stored.UID = types.UID(rand.String(16))
	stored.Generation = 1
	stored.CreationTimestamp = metav1.NewTime(f.now().Truncate(time.Second))
	c.put(key, stored, watch.Added)
	return stored.DeepCopy(), nil
}

// put stores pr at the next resourceVersion and tells the watchers.
func (c *cluster) put(key types.NamespacedName, pr *pipelinev1.PipelineRun, event watch.EventType) {
	c.rv++
	pr.ResourceVersion = strconv.FormatInt(c.rv, 10)
	c.runs[key] = pr
	for _, w := range c.watchers {
		w.offer(event, pr)
	}
}

// CreateOnce creates pr; when its name is taken it returns the run holding
// it and created false, as tekton.Cluster.CreateOnce does.
func (f *Clusters) CreateOnce(_ context.Context, clusterName string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, bool, error) {
	c, err := f.lock(clusterName)
	if err != nil {
		return nil, false, err
	}
	defer f.mu.Unlock()
	made, err := f.create(c, pr)
	if apierrors.IsAlreadyExists(err) {
		return c.runs[types.NamespacedName{Namespace: pr.Namespace, Name: pr.Name}].DeepCopy(), false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("creating PipelineRun %s/%s/%s: %w", clusterName, pr.Namespace, pr.Name, err)
	}
	return made, true, nil
}

// Rerun makes the next attempt at orig's root the way tekton.Clusters
// does (tekton.RerunFrom), reading orig whole first as it does for a slim
// copy.
func (f *Clusters) Rerun(ctx context.Context, clusterName string, orig *pipelinev1.PipelineRun, by tekton.Requester, params map[string]string) (*pipelinev1.PipelineRun, bool, error) {
	full, err := f.Run(ctx, clusterName, orig.Namespace, orig.Name)
	if err != nil {
		return nil, false, err
	}
	create := func(ctx context.Context, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, bool, error) {
		return f.CreateOnce(ctx, clusterName, pr)
	}
	return tekton.RerunFrom(ctx, full, by, func(pr *pipelinev1.PipelineRun) { tekton.OverrideParams(pr, params) }, create)
}

// Cancel sets spec.status to Cancelled, as tekton.Cluster.Cancel's patch.
func (f *Clusters) Cancel(_ context.Context, clusterName string, pr *pipelinev1.PipelineRun) error {
	return f.patchSpecStatus(clusterName, pr, pipelinev1.PipelineRunSpecStatusCancelled)
}

// Start clears spec.status, as tekton.Cluster.Start's patch.
func (f *Clusters) Start(_ context.Context, clusterName string, pr *pipelinev1.PipelineRun) error {
	return f.patchSpecStatus(clusterName, pr, "")
}

// patchSpecStatus is a merge patch: no resourceVersion precondition, and
// a patch that changes nothing writes nothing.
func (f *Clusters) patchSpecStatus(clusterName string, pr *pipelinev1.PipelineRun, status pipelinev1.PipelineRunSpecStatus) error {
	c, err := f.lock(clusterName)
	if err != nil {
		return err
	}
	defer f.mu.Unlock()
	key := types.NamespacedName{Namespace: pr.Namespace, Name: pr.Name}
	cur := c.runs[key]
	if cur == nil {
		return fmt.Errorf("patching %s/%s/%s: %w", clusterName, pr.Namespace, pr.Name, apierrors.NewNotFound(pipelineRuns, pr.Name))
	}
	if cur.Spec.Status == status {
		return nil
	}
	next := cur.DeepCopy()
	next.Spec.Status = status
	next.Generation++
	c.put(key, next, watch.Modified)
	return nil
}

// PutTaskRun stores a TaskRun as the Tekton controller would make it
// for a PipelineRun, status included.
func (f *Clusters) PutTaskRun(clusterName string, tr *pipelinev1.TaskRun) error {
	c, err := f.lock(clusterName)
	if err != nil {
		return err
	}
	defer f.mu.Unlock()
	c.taskRuns[types.NamespacedName{Namespace: tr.Namespace, Name: tr.Name}] = tr.DeepCopy()
	return nil
}

// FailedTasks names a run's failed pipeline tasks, as tekton.Clusters
// does (tekton.FailedTasksOf).
func (f *Clusters) FailedTasks(ctx context.Context, clusterName, namespace string, children []pipelinev1.ChildStatusReference) ([]string, error) {
	return tekton.FailedTasksOf(ctx, namespace, children, func(_ context.Context, name string) (*pipelinev1.TaskRun, error) {
		c, err := f.lock(clusterName)
		if err != nil {
			return nil, err
		}
		defer f.mu.Unlock()
		tr := c.taskRuns[types.NamespacedName{Namespace: namespace, Name: name}]
		if tr == nil {
			return nil, apierrors.NewNotFound(pipelinev1.Resource("taskruns"), name)
		}
		return tr.DeepCopy(), nil
	})
}

// URL is URLFor's link, or "".
func (f *Clusters) URL(clusterName, namespace, name string) string {
	if f.URLFor == nil {
		return ""
	}
	return f.URLFor(clusterName, namespace, name)
}

// update writes pr's spec and metadata (main) or its status, when pr's
// resourceVersion is the stored one: an update from a stale read is a
// Conflict, and one without a resourceVersion is refused as custom
// resources' are.
func (f *Clusters) update(clusterName string, pr *pipelinev1.PipelineRun, status bool) (*pipelinev1.PipelineRun, error) {
	c, err := f.lock(clusterName)
	if err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	key := types.NamespacedName{Namespace: pr.Namespace, Name: pr.Name}
	cur := c.runs[key]
	switch {
	case cur == nil:
		return nil, apierrors.NewNotFound(pipelineRuns, pr.Name)
	case pr.ResourceVersion == "":
		return nil, apierrors.NewBadRequest("metadata.resourceVersion: must be specified for an update")
	case pr.ResourceVersion != cur.ResourceVersion:
		return nil, apierrors.NewConflict(pipelineRuns, pr.Name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	next := cur.DeepCopy()
	if status {
		next.Status = *pr.Status.DeepCopy()
	} else {
		meta := pr.ObjectMeta.DeepCopy()
		meta.UID, meta.CreationTimestamp, meta.Generation, meta.ResourceVersion = cur.UID, cur.CreationTimestamp, cur.Generation, cur.ResourceVersion
		next.ObjectMeta = *meta
		next.Spec = *pr.Spec.DeepCopy()
		if !equality.Semantic.DeepEqual(cur.Spec, next.Spec) {
			next.Generation++
		}
	}
	c.put(key, next, watch.Modified)
	return next.DeepCopy(), nil
}

// Update writes pr's metadata and spec; its status is ignored.
func (f *Clusters) Update(_ context.Context, clusterName string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, error) {
	return f.update(clusterName, pr, false)
}

// UpdateStatus writes pr's status, as the Tekton controller does; its
// metadata and spec are ignored.
func (f *Clusters) UpdateStatus(_ context.Context, clusterName string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, error) {
	return f.update(clusterName, pr, true)
}

// SetState plays the Tekton controller for one run, as kube.SetState does
// on a real apiserver.
func (f *Clusters) SetState(ctx context.Context, clusterName, namespace, name string, state localcluster.RunState) (*pipelinev1.PipelineRun, error) {
	pr, err := f.Run(ctx, clusterName, namespace, name)
	if err != nil {
		return nil, err
	}
	if err := localcluster.MarkState(pr, state, f.now()); err != nil {
		return nil, err
	}
	return f.UpdateStatus(ctx, clusterName, pr)
}

// Watch follows the runs in namespace that opts' label and field
// (metadata.name) selectors match, as the clientset's Watch does: from
// opts.ResourceVersion when set, else starting with an Added event for
// each run there now; then every change, in resourceVersion order.
func (f *Clusters) Watch(ctx context.Context, clusterName, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	lsel, err := labels.Parse(opts.LabelSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	fsel, err := fields.ParseSelector(opts.FieldSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	var from int64
	if opts.ResourceVersion != "" && opts.ResourceVersion != "0" {
		if from, err = strconv.ParseInt(opts.ResourceVersion, 10, 64); err != nil {
			return nil, apierrors.NewBadRequest("resourceVersion " + opts.ResourceVersion + " is not one")
		}
	}
	c, err := f.lock(clusterName)
	if err != nil {
		return nil, err
	}
	defer f.mu.Unlock()
	w := newWatcher(from, func(pr *pipelinev1.PipelineRun) bool {
		return pr.Namespace == namespace && lsel.Matches(labels.Set(pr.Labels)) &&
			fsel.Matches(fields.Set{"metadata.name": pr.Name, "metadata.namespace": pr.Namespace})
	})
	if from > c.rv {
		w.Stop()
		return nil, apierrors.NewTimeoutError("too large resource version", 1)
	}
	if from == 0 {
		for _, pr := range c.sorted(namespace) {
			w.offer(watch.Added, pr)
		}
	}
	c.watchers = append(c.watchers, w)
	go func() {
		select {
		case <-ctx.Done():
		case <-w.stopped:
		}
		f.mu.Lock()
		c.watchers = slices.DeleteFunc(c.watchers, func(x *watcher) bool { return x == w })
		f.mu.Unlock()
		w.Stop()
	}()
	return w, nil
}

// watcher queues the events its filter passes, without bound, and hands
// them to ResultChan in order: a slow reader never blocks a writer.
type watcher struct {
	match   func(*pipelinev1.PipelineRun) bool
	after   int64
	mu      sync.Mutex
	queue   []watch.Event
	wake    chan struct{}
	result  chan watch.Event
	stopped chan struct{}
	once    sync.Once
}

func newWatcher(after int64, match func(*pipelinev1.PipelineRun) bool) *watcher {
	w := &watcher{match: match, after: after, wake: make(chan struct{}, 1), result: make(chan watch.Event), stopped: make(chan struct{})}
	go w.pump()
	return w
}

func (w *watcher) offer(event watch.EventType, pr *pipelinev1.PipelineRun) {
	if !w.match(pr) {
		return
	}
	if rv, _ := strconv.ParseInt(pr.ResourceVersion, 10, 64); rv <= w.after {
		return
	}
	w.mu.Lock()
	w.queue = append(w.queue, watch.Event{Type: event, Object: pr.DeepCopy()})
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watcher) pump() {
	defer close(w.result)
	for {
		w.mu.Lock()
		var next *watch.Event
		if len(w.queue) > 0 {
			next = &w.queue[0]
			w.queue = w.queue[1:]
		}
		w.mu.Unlock()
		if next == nil {
			select {
			case <-w.wake:
				continue
			case <-w.stopped:
				return
			}
		}
		select {
		case w.result <- *next:
		case <-w.stopped:
			return
		}
	}
}

// ResultChan delivers the events; it closes when the watch stops.
func (w *watcher) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch.
func (w *watcher) Stop() { w.once.Do(func() { close(w.stopped) }) }
