package tekton

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"knative.dev/pkg/apis"
)

// Labels and annotations tekbot writes on the PipelineRuns it creates.
const (
	// LabelRerunOf names a rerun's root: the run first retried.
	LabelRerunOf = "tekbot.dev/rerun-of"
	// LabelAttempt numbers the reruns of one root: 1, 2, …
	LabelAttempt        = "tekbot.dev/attempt"
	AnnotationRequester = "tekbot.dev/requested-by"
	AnnotationRequestID = "tekbot.dev/request-id"
	// AnnotationRequestKey names what the request acted on (the comment),
	// the same for every delivery of it: see Requester.Made.
	AnnotationRequestKey = "tekbot.dev/request-key"
)

// State is where a PipelineRun is in its life.
type State string

// PipelineRun states, from its spec.status and Succeeded condition.
const (
	StatePending   State = "pending"
	StateRunning   State = "running"
	StateSucceeded State = "succeeded"
	StateFailed    State = "failed"
	StateTimedOut  State = "timed out"
	StateCancelled State = "cancelled"
)

// StateOf reads a PipelineRun's state as the Tekton controller reports it.
func StateOf(pr *pipelinev1.PipelineRun) State {
	if pr.Spec.Status == pipelinev1.PipelineRunSpecStatusPending {
		return StatePending
	}
	cond := pr.Status.GetCondition(apis.ConditionSucceeded)
	switch {
	case cond == nil || cond.Status == corev1.ConditionUnknown:
		return StateRunning
	case cond.Status == corev1.ConditionTrue:
		return StateSucceeded
	case cond.Reason == pipelinev1.PipelineRunReasonTimedOut.String():
		return StateTimedOut
	case cond.Reason == pipelinev1.PipelineRunReasonCancelled.String() || pr.IsCancelled():
		return StateCancelled
	default:
		return StateFailed
	}
}

// Retryable reports whether /retest reruns a run in this state.
func (s State) Retryable() bool {
	return s == StateFailed || s == StateTimedOut || s == StateCancelled
}

// Done reports whether the run has finished.
func (s State) Done() bool { return s != StatePending && s != StateRunning }

// List returns the PipelineRuns matching a label selector, filtered by the
// apiserver: a namespace may hold tens of thousands of runs.
func (c *Cluster) List(ctx context.Context, namespace, selector string) ([]pipelinev1.PipelineRun, error) {
	list, err := c.Tekton.TektonV1().PipelineRuns(namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing PipelineRuns in %s/%s: %w", c.Name, namespace, err)
	}
	return list.Items, nil
}

// Get returns one PipelineRun.
func (c *Cluster) Get(ctx context.Context, namespace, name string) (*pipelinev1.PipelineRun, error) {
	pr, err := c.Tekton.TektonV1().PipelineRuns(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("getting PipelineRun %s/%s/%s: %w", c.Name, namespace, name, err)
	}
	return pr, nil
}

// Pipeline names the pipeline a run belongs to: the value of label if the
// run has it (Pipelines-as-Code's original-prname), else its pipelineRef,
// else the name it was generated from, else the run's name.
func Pipeline(pr *pipelinev1.PipelineRun, label string) string {
	if v := pr.Labels[label]; v != "" {
		return v
	}
	if pr.Spec.PipelineRef != nil && pr.Spec.PipelineRef.Name != "" {
		return pr.Spec.PipelineRef.Name
	}
	// Runs with an embedded spec are told apart by what they were named
	// after, not by their random suffix: 2,000 runs of one pipeline are
	// one pipeline.
	if base := strings.TrimRight(pr.GenerateName, "-"); base != "" {
		return base
	}
	return pr.Name
}

// Newer orders runs by creation time, then attempt, then name: timestamps
// have whole seconds, and a rerun made in the same second as what it
// reruns has the higher attempt.
func Newer(a, b *pipelinev1.PipelineRun) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
	}
	if x, y := Attempt(a), Attempt(b); x != y {
		return x > y
	}
	return a.Name > b.Name
}

// NewestByPipeline keeps the newest run of each pipeline as runs are
// added, so a namespace can be scanned a page at a time.
type NewestByPipeline struct {
	label  string
	newest map[string]*pipelinev1.PipelineRun
}

// NewNewestByPipeline groups runs by Pipeline(pr, label).
func NewNewestByPipeline(label string) *NewestByPipeline {
	return &NewestByPipeline{label: label, newest: map[string]*pipelinev1.PipelineRun{}}
}

// Add considers one run. It keeps a copy, not pr, so the page pr came
// from can be freed.
func (n *NewestByPipeline) Add(pr *pipelinev1.PipelineRun) {
	p := Pipeline(pr, n.label)
	if cur := n.newest[p]; cur == nil || Newer(pr, cur) {
		kept := *pr
		n.newest[p] = &kept
	}
}

// Sorted returns the newest runs, by pipeline name.
func (n *NewestByPipeline) Sorted() []*pipelinev1.PipelineRun {
	out := make([]*pipelinev1.PipelineRun, 0, len(n.newest))
	for _, p := range slices.Sorted(maps.Keys(n.newest)) {
		out = append(out, n.newest[p])
	}
	return out
}

// Latest keeps the newest run of each pipeline, sorted by pipeline name:
// reruns supersede what they rerun.
func Latest(runs []pipelinev1.PipelineRun, label string) []*pipelinev1.PipelineRun {
	n := NewNewestByPipeline(label)
	for i := range runs {
		n.Add(&runs[i])
	}
	return n.Sorted()
}

// Requester says who asked for an action and in which request.
type Requester struct {
	Name      string
	RequestID string
	// Key names what the request acts on, the same across its deliveries
	// (bot.Request.Key); empty when the transport has none.
	Key string
}

// Made reports whether pr was made for this request, by this delivery or
// another of the same request (a second replica handling a second
// delivery at the same moment). Such a run is the request's result, never
// something for the same request to retry once more.
func (by Requester) Made(pr *pipelinev1.PipelineRun) bool {
	return by.RequestID != "" && pr.Annotations[AnnotationRequestID] == by.RequestID ||
		by.Key != "" && pr.Annotations[AnnotationRequestKey] == by.Key
}

// Attempt is which retry of its root a run is: 0 for a run tekbot did not
// make, n for the nth rerun. Reruns made before attempts were numbered
// count as the first.
func Attempt(pr *pipelinev1.PipelineRun) int {
	if pr.Labels[LabelRerunOf] == "" {
		return 0
	}
	n, err := strconv.Atoi(pr.Labels[LabelAttempt])
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// RerunName names attempt n of root (the run first retried). The name is
// keyed to what is retried, not to who asks: two requests to retry the
// same failure (two deliveries, a /retest and a Slack rerun, two
// replicas) name the same run, and the apiserver creates it once, however
// stale the list each request decided on. It fits a DNS label, as Tekton
// needs for the labels it derives from the name; a long root is cut and
// keeps a hash of its full name so that two roots never share a name.
func RerunName(root string, attempt int) string {
	suffix := "-retry-" + strconv.Itoa(attempt)
	if len(root)+len(suffix) <= 63 {
		return root + suffix
	}
	sum := sha256.Sum256([]byte(root))
	hash := "-" + hex.EncodeToString(sum[:])[:8]
	base := strings.TrimRight(root[:63-len(suffix)-len(hash)], "-.")
	return base + hash + suffix
}

// managedPrefixes are label and annotation keys written by controllers,
// not users: a rerun must not inherit them (e.g. PaC's "state: completed").
var managedPrefixes = []string{
	"tekton.dev/", "triggers.tekton.dev/", "kubectl.kubernetes.io/",
	"pipelinesascode.tekton.dev/state", "pipelinesascode.tekton.dev/log-url",
	"pipelinesascode.tekton.dev/check-run-id", "results.tekton.dev/", "chains.tekton.dev/",
	"tekbot.dev/",
}

func userMetadata(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if !slices.ContainsFunc(managedPrefixes, func(p string) bool { return strings.HasPrefix(k, p) }) {
			out[k] = v
		}
	}
	return out
}

// RerunOf builds the next attempt at orig's root: the same spec and user
// metadata as orig, without status, controller state or spec.status, plus
// labels and annotations recording its root, its attempt and who asked.
func RerunOf(orig *pipelinev1.PipelineRun, by Requester) *pipelinev1.PipelineRun {
	root := orig.Labels[LabelRerunOf]
	if root == "" {
		root = orig.Name
	}
	attempt := Attempt(orig) + 1
	spec := orig.Spec.DeepCopy()
	spec.Status = "" // a cancelled or pending original must not pass that on
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:        RerunName(root, attempt),
			Namespace:   orig.Namespace,
			Labels:      userMetadata(orig.Labels),
			Annotations: userMetadata(orig.Annotations),
		},
		Spec: *spec,
	}
	pr.Labels[LabelRerunOf] = root
	pr.Labels[LabelAttempt] = strconv.Itoa(attempt)
	pr.Annotations[AnnotationRequester] = by.Name
	pr.Annotations[AnnotationRequestID] = by.RequestID
	if by.Key != "" {
		pr.Annotations[AnnotationRequestKey] = by.Key
	}
	return pr
}

// Rerun creates the next attempt at orig's root. created is false when it
// exists already: made by this request (a redelivery; then orig may be that
// rerun itself), or by another asking to retry the same run. The existing
// run is returned; its annotations say who asked. orig may be a slim copy
// from Runs: the full run is read before it is copied.
func (c *Cluster) Rerun(ctx context.Context, orig *pipelinev1.PipelineRun, by Requester) (pr *pipelinev1.PipelineRun, created bool, err error) {
	return c.RerunEdited(ctx, orig, by, nil)
}

// RerunEdited is Rerun with edit applied to the new run: see RerunFrom.
func (c *Cluster) RerunEdited(ctx context.Context, orig *pipelinev1.PipelineRun, by Requester, edit func(*pipelinev1.PipelineRun)) (pr *pipelinev1.PipelineRun, created bool, err error) {
	if orig.ResourceVersion == "" {
		// From the watch cache: the spec is what is copied, and it does
		// not change.
		full, err := c.Tekton.TektonV1().PipelineRuns(orig.Namespace).Get(ctx, orig.Name, metav1.GetOptions{ResourceVersion: "0"})
		if err != nil {
			return nil, false, fmt.Errorf("reading %s/%s/%s to rerun it: %w", c.Name, orig.Namespace, orig.Name, err)
		}
		orig = full
	}
	pr, created, err = RerunFrom(ctx, orig, by, edit, c.CreateOnce)
	if err != nil {
		return nil, false, fmt.Errorf("cluster %s: %w", c.Name, err)
	}
	return pr, created, nil
}

// CreateOnceFunc creates a run once (Cluster.CreateOnce, or a fake's).
type CreateOnceFunc func(ctx context.Context, pr *pipelinev1.PipelineRun) (run *pipelinev1.PipelineRun, created bool, err error)

// RerunFrom is a rerun of full, a run read whole, made by create: the next
// attempt at full's root, with edit, if not nil, applied before it is
// created (e.g. params overridden). The name stays the attempt's: one
// attempt per run retried, whatever the edits. When by made full itself (a
// redelivery), full is the result, not something to retry once more.
func RerunFrom(ctx context.Context, full *pipelinev1.PipelineRun, by Requester, edit func(*pipelinev1.PipelineRun), create CreateOnceFunc) (pr *pipelinev1.PipelineRun, created bool, err error) {
	if by.Made(full) {
		return full, false, nil
	}
	want := RerunOf(full, by)
	if edit != nil {
		edit(want)
	}
	pr, created, err = create(ctx, want)
	if err != nil {
		return nil, false, fmt.Errorf("rerun of %s/%s: %w", full.Namespace, full.Name, err)
	}
	if !created && (pr.Labels[LabelRerunOf] != want.Labels[LabelRerunOf] || pr.Labels[LabelAttempt] != want.Labels[LabelAttempt]) {
		return nil, false, fmt.Errorf("the name %s/%s is taken by a run that is not attempt %s at %s", want.Namespace, want.Name, want.Labels[LabelAttempt], want.Labels[LabelRerunOf])
	}
	return pr, created, nil
}

// CreateOnce creates pr, whose name is derived from the request that asks
// for it. created is false when that request had already created it (a
// redelivery, another replica): the existing run is returned.
func (c *Cluster) CreateOnce(ctx context.Context, pr *pipelinev1.PipelineRun) (run *pipelinev1.PipelineRun, created bool, err error) {
	runs := c.Tekton.TektonV1().PipelineRuns(pr.Namespace)
	run, err = runs.Create(ctx, pr, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := runs.Get(ctx, pr.Name, metav1.GetOptions{})
		if getErr != nil {
			return nil, false, fmt.Errorf("%s exists but cannot be read: %w", pr.Name, getErr)
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("creating PipelineRun %s/%s/%s: %w", c.Name, pr.Namespace, pr.Name, err)
	}
	return run, true, nil
}

// Cancel asks Tekton to cancel a run, as `tkn pipelinerun cancel` does.
func (c *Cluster) Cancel(ctx context.Context, pr *pipelinev1.PipelineRun) error {
	return c.patchSpecStatus(ctx, pr, `"`+pipelinev1.PipelineRunSpecStatusCancelled+`"`)
}

// Start releases a run held in spec.status PipelineRunPending.
func (c *Cluster) Start(ctx context.Context, pr *pipelinev1.PipelineRun) error {
	return c.patchSpecStatus(ctx, pr, "null")
}

func (c *Cluster) patchSpecStatus(ctx context.Context, pr *pipelinev1.PipelineRun, value string) error {
	patch := []byte(`{"spec":{"status":` + value + `}}`)
	_, err := c.Tekton.TektonV1().PipelineRuns(pr.Namespace).Patch(ctx, pr.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("patching %s/%s/%s: %w", c.Name, pr.Namespace, pr.Name, err)
	}
	return nil
}

// listPageSize bounds memory when scanning a namespace: runs are read a
// page at a time.
const listPageSize = 250

// Each calls fn for every PipelineRun in namespace, a page at a time, so a
// namespace with tens of thousands of runs never sits in memory at once.
func (c *Cluster) Each(ctx context.Context, namespace string, fn func(*pipelinev1.PipelineRun)) error {
	opts := metav1.ListOptions{Limit: listPageSize}
	for {
		page, err := c.Tekton.TektonV1().PipelineRuns(namespace).List(ctx, opts)
		if err != nil {
			return fmt.Errorf("listing PipelineRuns in %s/%s: %w", c.Name, namespace, err)
		}
		for i := range page.Items {
			fn(&page.Items[i])
		}
		if page.Continue == "" {
			return nil
		}
		opts.Continue = page.Continue
	}
}
