package tekton

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unique"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
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
// decide on.
type slimRun struct {
	// Name, generateName, namespace, labels, creation time, and tekbot's annotations on
	// the reruns it made. No resourceVersion: see run.
	metav1.ObjectMeta
	pipelineRef string
	specStatus  pipelinev1.PipelineRunSpecStatus
	// secrets are the workspaces bound to a Secret (name and secret
	// only): what tells a deploy run, which /retest must not repeat.
	secrets []pipelinev1.WorkspaceBinding
	// The Succeeded condition's status ("" without one) and reason.
	status corev1.ConditionStatus
	reason string
}

// intern shares one copy of strings that repeat across runs (label keys,
// repository names, SHAs, reasons).
func intern(s string) string { return unique.Make(s).Value() }

// slim is the informer's transform. It must be idempotent, and leaves
// anything that is not a PipelineRun (tombstones) as it is.
func slim(obj any) (any, error) {
	pr, ok := obj.(*pipelinev1.PipelineRun)
	if !ok {
		return obj, nil
	}
	s := &slimRun{ObjectMeta: metav1.ObjectMeta{
		Name: pr.Name, GenerateName: intern(pr.GenerateName), Namespace: intern(pr.Namespace),
		CreationTimestamp: pr.CreationTimestamp,
	}, specStatus: pipelinev1.PipelineRunSpecStatus(intern(string(pr.Spec.Status)))}
	if len(pr.Labels) > 0 {
		s.Labels = make(map[string]string, len(pr.Labels))
		for k, v := range pr.Labels {
			s.Labels[intern(k)] = intern(v)
		}
	}
	for _, k := range []string{AnnotationRequester, AnnotationRequestID} {
		if v, ok := pr.Annotations[k]; ok {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations[k] = v
		}
	}
	if pr.Spec.PipelineRef != nil {
		s.pipelineRef = intern(pr.Spec.PipelineRef.Name)
	}
	for _, ws := range pr.Spec.Workspaces {
		if ws.Secret != nil {
			s.secrets = append(s.secrets, pipelinev1.WorkspaceBinding{
				Name: intern(ws.Name), Secret: &corev1.SecretVolumeSource{SecretName: intern(ws.Secret.SecretName)},
			})
		}
	}
	if c := pr.Status.GetCondition(apis.ConditionSucceeded); c != nil {
		s.status, s.reason = corev1.ConditionStatus(intern(string(c.Status))), intern(c.Reason)
	}
	return s, nil
}

// run rebuilds a PipelineRun that StateOf, Pipeline, Newer and Attempt read
// as they read the original. It has no resourceVersion and no spec beyond
// spec.status, the pipelineRef's name and the Secret workspaces: Rerun
// reads the full run first.
func (s *slimRun) run() pipelinev1.PipelineRun {
	pr := pipelinev1.PipelineRun{ObjectMeta: *s.ObjectMeta.DeepCopy()}
	pr.Spec.Status = s.specStatus
	if s.pipelineRef != "" {
		pr.Spec.PipelineRef = &pipelinev1.PipelineRef{Name: s.pipelineRef}
	}
	for _, ws := range s.secrets {
		pr.Spec.Workspaces = append(pr.Spec.Workspaces, *ws.DeepCopy())
	}
	if s.status != "" {
		pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: s.status, Reason: s.reason})
	}
	return pr
}

// runIndex is the slim copy of one namespace's PipelineRuns.
type runIndex struct {
	informer cache.SharedIndexInformer
	mu       sync.Mutex
	// indexed names the label indexes added so far, one per selector
	// shape (its equality keys).
	indexed map[string]bool
}

// runIndexes are a cluster's indexes, by namespace.
type runIndexes struct {
	mu   sync.Mutex
	byNS map[string]*runIndex
}

// WatchRuns keeps a slim index of namespace's PipelineRuns until ctx ends,
// so that Runs answers from memory. It returns at once if the namespace is
// already watched. The initial sync streams the runs (a watch-list), so
// full runs are never all in memory at once.
func (c *Cluster) WatchRuns(ctx context.Context, namespace string) {
	c.runs.mu.Lock()
	if c.runs.byNS[namespace] != nil {
		c.runs.mu.Unlock()
		return
	}
	runs := c.Tekton.TektonV1().PipelineRuns(namespace)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return runs.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			return runs.Watch(ctx, o)
		},
	}
	ix := &runIndex{
		informer: cache.NewSharedIndexInformerWithOptions(lw, &pipelinev1.PipelineRun{}, cache.SharedIndexInformerOptions{
			ObjectDescription: "PipelineRuns of " + c.Name + "/" + namespace,
			Indexers:          cache.Indexers{}, // AddIndexers needs a map
		}),
		indexed: map[string]bool{},
	}
	if err := ix.informer.SetTransform(slim); err != nil {
		c.runs.mu.Unlock()
		panic(err) // only fails on a started informer; this one is new
	}
	if c.runs.byNS == nil {
		c.runs.byNS = map[string]*runIndex{}
	}
	c.runs.byNS[namespace] = ix
	c.runs.mu.Unlock()

	ix.informer.RunWithContext(ctx)

	c.runs.mu.Lock()
	delete(c.runs.byNS, namespace)
	c.runs.mu.Unlock()
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
		if objs, err = store.ByIndex(name, strings.Join(values, "\x00")); err != nil {
			objs = store.List() // cannot happen: indexOn added it
		}
	}
	var out []pipelinev1.PipelineRun
	for _, o := range objs {
		if s, ok := o.(*slimRun); ok && sel.Matches(labels.Set(s.Labels)) {
			out = append(out, s.run())
		}
	}
	slices.SortFunc(out, func(a, b pipelinev1.PipelineRun) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// indexOn returns the name of the index on the values of keys, adding it
// the first time. Label values cannot hold "\x00", so it separates them.
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
			v, ok := s.Labels[k]
			if !ok {
				return nil, nil
			}
			vals[i] = v
		}
		return []string{strings.Join(vals, "\x00")}, nil
	}})
	if err == nil {
		ix.indexed[name] = true
	}
	return name
}
