package tekton

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
	"unique"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/watchlist"
	"knative.dev/pkg/apis"
)

// A /retest must find a PR's runs without a consistent read: that read
// waits for the apiserver's watch cache to catch up with etcd, tens of
// milliseconds on a quiet cluster, and filters every run of the namespace.
// So tekbot keeps, per watched namespace, a slim copy of each PipelineRun:
// its labels, state and times, never its spec (a namespace may hold a
// hundred thousand runs). The one run to copy is read when it is rerun.
// The copy may be a moment stale; that is safe because reruns are keyed to
// the run they retry (RerunName), not to what was listed.

// slimRun is what the index keeps of a PipelineRun: what the PR commands
// decide on. A namespace of 100,000 runs must fit in tens of megabytes
// (make bench, figure 4), so the record is 64 bytes and pointers to what
// runs share: no ObjectMeta (its empty fields alone cost 250 bytes a
// run), labels as a slice of shared pairs rather than a map, and what few
// runs have (tekbot's annotations, a Secret workspace) behind one pointer.
// The informer keys it by GetObjectMeta.
type slimRun struct {
	name   string
	labels runLabels
	// created is the creation time in Unix nanoseconds, 0 for none.
	created int64
	shared  unique.Handle[runShared]
	more    *slimMore
}

// runShared is what many runs have in common: their namespace, pipeline
// and outcome. Interned whole, it costs a run 8 bytes.
type runShared struct {
	namespace, generateName string
	specStatus              pipelinev1.PipelineRunSpecStatus
	// pipelineRef is spec.pipelineRef's name.
	pipelineRef string
	// The Succeeded condition's status ("" without one) and reason.
	status corev1.ConditionStatus
	reason string
}

// slimMore is what few runs have.
type slimMore struct {
	// annotations are tekbot's own (tekbot.dev/…), on the reruns it made.
	annotations map[string]string
	// secrets are the workspaces bound to a Secret (name and secret
	// only): what tells a deploy run, which /retest must not repeat.
	secrets []pipelinev1.WorkspaceBinding
}

// tekbotAnnotations prefixes the annotations tekbot writes and the index
// keeps: who asked for a rerun and for which request, read off listed runs.
const tekbotAnnotations = "tekbot.dev/"

// label is one label, shared by the runs that have it (labelPool).
type label struct{ key, value string }

// runLabels are a run's labels in key order. They are labels.Labels, so a
// selector matches them without a map.
type runLabels []*label

// Lookup is labels.Labels' Lookup.
func (ls runLabels) Lookup(key string) (string, bool) {
	for _, l := range ls {
		if l.key == key {
			return l.value, true
		}
	}
	return "", false
}

// Has is labels.Labels' Has.
func (ls runLabels) Has(key string) bool {
	_, ok := ls.Lookup(key)
	return ok
}

// Get is labels.Labels' Get.
func (ls runLabels) Get(key string) string {
	v, _ := ls.Lookup(key)
	return v
}

// GetObjectMeta gives the informer the run's key (namespace and name).
func (s *slimRun) GetObjectMeta() metav1.Object {
	return &metav1.ObjectMeta{Name: s.name, Namespace: s.shared.Value().namespace}
}

// labelPool shares the label pairs of one namespace's runs: the runs of a
// PR share their repository, PR and SHA pairs, the runs of a pipeline its
// name. It is a map rather than unique.Make, whose weak hash-trie costs
// some 300 bytes a pair (170 a run in make bench); sweep drops the pairs
// no run has any more.
type labelPool struct {
	mu    sync.Mutex
	pairs map[label]*label
	// live is how many pairs were in use at the last sweep.
	live int
	// finished is the cluster's OnFinished hook, nil for none.
	finished func(*pipelinev1.PipelineRun)
}

func (p *labelPool) get(key, value string) *label {
	p.mu.Lock()
	defer p.mu.Unlock()
	if l := p.pairs[label{key, value}]; l != nil {
		return l
	}
	if p.pairs == nil {
		p.pairs = map[label]*label{}
	}
	l := &label{unique.Make(key).Value(), value} // keys repeat across pairs
	p.pairs[*l] = l
	return l
}

// sweep keeps only the pairs of the runs in store, once the pool has
// doubled since the last sweep: sweeps scan every run, so they are rare.
// A run on its way to the store keeps its pairs; only later runs with the
// same pair no longer share them.
func (p *labelPool) sweep(store cache.Store) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.pairs) < 2*p.live+1024 {
		return
	}
	pairs := make(map[label]*label, p.live)
	for _, o := range store.List() {
		if s, ok := o.(*slimRun); ok {
			for _, l := range s.labels {
				pairs[*l] = l
			}
		}
	}
	p.pairs, p.live = pairs, len(pairs)
}

// slim is the informer's transform. It must be idempotent, and leaves
// anything that is not a PipelineRun (tombstones) as it is.
func (p *labelPool) slim(obj any) (any, error) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return obj, nil
	}
	if p.finished != nil && StateOf(pr).Done() {
		p.finished(pr) // the last moment the run is whole
	}
	s := &slimRun{name: pr.Name}
	if !pr.CreationTimestamp.IsZero() {
		s.created = pr.CreationTimestamp.UnixNano()
	}
	if len(pr.Labels) > 0 {
		s.labels = make(runLabels, 0, len(pr.Labels))
		for _, k := range slices.Sorted(maps.Keys(pr.Labels)) {
			s.labels = append(s.labels, p.get(k, pr.Labels[k]))
		}
	}
	shared := runShared{namespace: pr.Namespace, generateName: pr.GenerateName, specStatus: pr.Spec.Status}
	if pr.Spec.PipelineRef != nil {
		shared.pipelineRef = pr.Spec.PipelineRef.Name
	}
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
		shared.status, shared.reason = c.Status, c.Reason
	}
	s.shared = unique.Make(shared)
	var more slimMore
	for k, v := range pr.Annotations {
		if strings.HasPrefix(k, tekbotAnnotations) {
			if more.annotations == nil {
				more.annotations = map[string]string{}
			}
			more.annotations[k] = v
		}
	}
	for _, ws := range pr.Spec.Workspaces {
		if ws.Secret != nil {
			more.secrets = append(more.secrets, pipelinev1.WorkspaceBinding{
				Name: ws.Name, Secret: &corev1.SecretVolumeSource{SecretName: ws.Secret.SecretName},
			})
		}
	}
	if more.annotations != nil || more.secrets != nil {
		s.more = &more
	}
	return s, nil
}

// run rebuilds a PipelineRun that StateOf, Pipeline, Newer, Attempt and
// the checks of tekbot's annotations read as they read the original. It has no resourceVersion
// and no spec beyond spec.status, the pipelineRef's name and the Secret
// workspaces: Rerun reads the full run first.
func (s *slimRun) run() pipelinev1.PipelineRun {
	sh := s.shared.Value()
	pr := pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: sh.namespace, GenerateName: sh.generateName}}
	if s.created != 0 {
		pr.CreationTimestamp = metav1.NewTime(time.Unix(0, s.created))
	}
	if len(s.labels) > 0 {
		pr.Labels = make(map[string]string, len(s.labels))
		for _, l := range s.labels {
			pr.Labels[l.key] = l.value
		}
	}
	pr.Spec.Status = sh.specStatus
	if sh.pipelineRef != "" {
		pr.Spec.PipelineRef = &pipelinev1.PipelineRef{Name: sh.pipelineRef}
	}
	if sh.status != "" {
		pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: sh.status, Reason: sh.reason})
	}
	if m := s.more; m != nil {
		if m.annotations != nil {
			pr.Annotations = maps.Clone(m.annotations)
		}
		for _, ws := range m.secrets {
			pr.Spec.Workspaces = append(pr.Spec.Workspaces, *ws.DeepCopy())
		}
	}
	return pr
}

// runIndex is the slim copy of one namespace's PipelineRuns.
type runIndex struct {
	informer cache.SharedIndexInformer
	labels   labelPool
	mu       sync.Mutex
	// indexed names the label indexes added so far, one per selector
	// shape (its equality keys).
	indexed map[string]bool
}

// sweepEvery is how often an index drops the label pairs of runs gone.
const sweepEvery = 5 * time.Minute

// runIndexes are a cluster's indexes, by namespace.
type runIndexes struct {
	mu   sync.Mutex
	byNS map[string]*runIndex
}

// WatchRuns keeps a slim index of namespace's PipelineRuns until ctx ends,
// so that Runs answers from memory. It returns at once if the namespace is
// already watched. The initial sync streams the runs (a watch-list, on by
// default in client-go since 1.35), and the reflector slims each as it
// arrives, so full runs are never all in memory at once; an apiserver
// that cannot stream is listed a page at a time (pagedSlim).
func (c *Cluster) WatchRuns(ctx context.Context, namespace string) {
	c.watchRuns(ctx, namespace, c.listWatch(namespace))
}

// listWatch lists and watches namespace's PipelineRuns.
func (c *Cluster) listWatch(namespace string) *cache.ListWatch {
	runs := c.Tekton.TektonV1().PipelineRuns(namespace)
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return runs.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return runs.Watch(ctx, o)
		},
	}
}

// watchRuns is WatchRuns from lw (tests, the benchmark's runs).
func (c *Cluster) watchRuns(ctx context.Context, namespace string, lw cache.ListerWatcher) {
	c.runs.mu.Lock()
	if c.runs.byNS[namespace] != nil {
		c.runs.mu.Unlock()
		return
	}
	ix := &runIndex{indexed: map[string]bool{}}
	ix.labels.finished = c.finished
	ix.informer = cache.NewSharedIndexInformerWithOptions(&pagedSlim{
		ListerWatcherWithContext: cache.ToListerWatcherWithContext(lw),
		streams:                  !watchlist.DoesClientNotSupportWatchListSemantics(lw),
		pool:                     &ix.labels, page: 500,
	}, &pipelinev1.PipelineRun{}, cache.SharedIndexInformerOptions{
		ObjectDescription: "PipelineRuns of " + c.Name + "/" + namespace,
		Indexers:          cache.Indexers{}, // AddIndexers needs a map
	})
	if err := ix.informer.SetTransform(ix.labels.slim); err != nil {
		c.runs.mu.Unlock()
		panic(err) // only fails on a started informer; this one is new
	}
	if c.runs.byNS == nil {
		c.runs.byNS = map[string]*runIndex{}
	}
	c.runs.byNS[namespace] = ix
	c.runs.mu.Unlock()

	var sweeps sync.WaitGroup
	sweeps.Go(func() {
		tick := time.NewTicker(sweepEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if ix.informer.HasSynced() { // before, the store is not all runs
					ix.labels.sweep(ix.informer.GetStore())
				}
			}
		}
	})
	ix.informer.RunWithContext(ctx)
	sweeps.Wait()

	c.runs.mu.Lock()
	delete(c.runs.byNS, namespace)
	c.runs.mu.Unlock()
}

// pagedSlim lists runs a page at a time, slimming each page before the
// next. The reflector lists when the apiserver cannot stream (no
// watch-list, or one that failed), and would otherwise hold every full run
// at once: some 750 MiB at 100,000 runs, 75 paged. The first list reads
// etcd rather than the watch cache, which may ignore a page size.
type pagedSlim struct {
	cache.ListerWatcherWithContext
	// streams is whether the client may use watch-lists.
	streams bool
	pool    *labelPool
	page    int64
}

func (l *pagedSlim) ListWithContext(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	o.Limit, o.Continue = l.page, ""
	if o.ResourceVersion == "0" { // the watch cache's, whole
		o.ResourceVersion, o.ResourceVersionMatch = "", ""
	}
	out := &slimList{}
	for {
		page, err := l.ListerWatcherWithContext.ListWithContext(ctx, o)
		if err != nil {
			return nil, err
		}
		err = meta.EachListItem(page, func(obj runtime.Object) error {
			s, err := l.pool.slim(obj)
			if r, ok := s.(*slimRun); ok {
				out.Items = append(out.Items, r)
			} else if err == nil {
				err = fmt.Errorf("listing PipelineRuns: got a %T", obj)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		lm, err := meta.ListAccessor(page)
		if err != nil {
			return nil, err
		}
		if out.ResourceVersion == "" { // the first page's: the list's snapshot
			out.ResourceVersion = lm.GetResourceVersion()
		}
		if o.Continue = lm.GetContinue(); o.Continue == "" {
			return out, nil
		}
		o.ResourceVersion, o.ResourceVersionMatch = "", "" // the continue token holds it
	}
}

// List is ListWithContext, for cache.ListerWatcher.
func (l *pagedSlim) List(o metav1.ListOptions) (runtime.Object, error) {
	return l.ListWithContext(context.Background(), o)
}

// Watch is WatchWithContext, for cache.ListerWatcher.
func (l *pagedSlim) Watch(o metav1.ListOptions) (watch.Interface, error) {
	return l.WatchWithContext(context.Background(), o)
}

// IsWatchListSemanticsUnSupported tells the reflector whether it may
// stream, as the wrapped lister-watcher would.
func (l *pagedSlim) IsWatchListSemanticsUnSupported() bool { return !l.streams }

// slimList is a list of slimmed runs, which the reflector stores as they
// are (the transform leaves them as they are).
type slimList struct {
	metav1.TypeMeta
	metav1.ListMeta
	Items []*slimRun
}

// DeepCopyObject makes slimList a runtime.Object; records are never
// changed, so copies share them.
func (l *slimList) DeepCopyObject() runtime.Object {
	c := *l
	c.Items = slices.Clone(l.Items)
	return &c
}

// GetObjectKind makes slimRun a runtime.Object, which list items must be.
func (s *slimRun) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

// DeepCopyObject makes slimRun a runtime.Object. Records are never
// changed, so a copy shares its labels.
func (s *slimRun) DeepCopyObject() runtime.Object {
	c := *s
	return &c
}

// Indexed reports whether Runs answers for namespace from the index: it is
// watched and its initial sync is done.
func (c *Cluster) Indexed(namespace string) bool {
	return c.index(namespace) != nil
}

func (c *Cluster) index(namespace string) *runIndex {
	c.runs.mu.Lock()
	ix := c.runs.byNS[namespace]
	c.runs.mu.Unlock()
	if ix == nil || !ix.informer.HasSynced() {
		return nil
	}
	return ix
}

// Runs returns the PipelineRuns matching a label selector, for deciding
// what to do: from the index when the namespace is watched (copies with
// labels, state and times only, see slimRun.run), else listed from the
// apiserver's watch cache. Either may be a moment stale; never a
// consistent read, which would wait for the cache to catch up with etcd.
func (c *Cluster) Runs(ctx context.Context, namespace, selector string) ([]pipelinev1.PipelineRun, error) {
	sel, err := labels.Parse(selector)
	if err != nil {
		return nil, fmt.Errorf("label selector %q: %w", selector, err)
	}
	if ix := c.index(namespace); ix != nil {
		return ix.match(sel), nil
	}
	list, err := c.Tekton.TektonV1().PipelineRuns(namespace).List(ctx, metav1.ListOptions{LabelSelector: sel.String(), ResourceVersion: "0"})
	if err != nil {
		return nil, fmt.Errorf("listing PipelineRuns in %s/%s: %w", c.Name, namespace, err)
	}
	return list.Items, nil
}

// match finds the runs sel selects. Scanning a namespace of 100,000 runs
// would cost what the apiserver's filtering costs, so the selector's
// equality requirements (for a PR: repository, number, SHA) key an index,
// added on first use of that selector shape; the rest of the selector is
// checked on the few runs the index returns.
func (ix *runIndex) match(sel labels.Selector) []pipelinev1.PipelineRun {
	reqs, _ := sel.Requirements()
	var keys, values []string
	for _, r := range reqs {
		vals := r.Values()
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals, selection.In:
			if v, ok := vals.PopAny(); ok && vals.Len() == 0 {
				keys, values = append(keys, r.Key()), append(values, v)
			}
		}
	}
	store := ix.informer.GetIndexer()
	var objs []any
	if len(keys) == 0 {
		objs = store.List()
	} else {
		name := ix.indexOn(keys)
		var err error
		if objs, err = store.ByIndex(name, indexValue(values)); err != nil {
			objs = store.List() // cannot happen: indexOn added it
		}
	}
	var out []pipelinev1.PipelineRun
	for _, o := range objs {
		if s, ok := o.(*slimRun); ok && sel.Matches(s.labels) {
			out = append(out, s.run())
		}
	}
	slices.SortFunc(out, func(a, b pipelinev1.PipelineRun) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// indexSeed seeds indexValue.
var indexSeed = maphash.MakeSeed()

// indexValue is what an index keys a run by: a hash of its values of the
// index's labels, 8 bytes where the values take 60 (a repository, PR
// number and SHA). A collision only adds runs, which match drops. Label
// values cannot hold "\x00", so it separates them.
func indexValue(values []string) string {
	var h maphash.Hash
	h.SetSeed(indexSeed)
	for _, v := range values {
		h.WriteString(v)
		h.WriteByte(0)
	}
	return string(binary.LittleEndian.AppendUint64(nil, h.Sum64()))
}

// indexOn returns the name of the index on the values of keys, adding it
// the first time.
func (ix *runIndex) indexOn(keys []string) string {
	name := "labels:" + strings.Join(keys, ",")
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.indexed[name] {
		return name
	}
	keys = slices.Clone(keys)
	err := ix.informer.AddIndexers(cache.Indexers{name: func(obj any) ([]string, error) {
		s, ok := obj.(*slimRun)
		if !ok {
			return nil, nil
		}
		vals := make([]string, len(keys))
		for i, k := range keys {
			v, ok := s.labels.Lookup(k)
			if !ok {
				return nil, nil
			}
			vals[i] = v
		}
		return []string{indexValue(vals)}, nil
	}})
	if err == nil {
		ix.indexed[name] = true
	}
	return name
}
