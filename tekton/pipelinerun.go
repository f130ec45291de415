package tekton

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
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
	LabelRerunOf        = "tekbot.dev/rerun-of"
	AnnotationRequester = "tekbot.dev/requested-by"
	AnnotationRequestID = "tekbot.dev/request-id"
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
// else the run's name.
func Pipeline(pr *pipelinev1.PipelineRun, label string) string {
	if v := pr.Labels[label]; v != "" {
		return v
	}
	if pr.Spec.PipelineRef != nil && pr.Spec.PipelineRef.Name != "" {
		return pr.Spec.PipelineRef.Name
	}
	return pr.Name
}

// Newer orders runs by creation time, then name: timestamps have whole
// seconds, and a rerun's name extends its original's.
func Newer(a, b *pipelinev1.PipelineRun) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return b.CreationTimestamp.Before(&a.CreationTimestamp)
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
}

// RerunName derives the rerun's name from the request and the root run
// (the original, or what a rerun reruns), so a redelivered request (or
// another replica handling the same one) gets AlreadyExists instead of
// creating a duplicate: even when the first attempt's rerun already exists
// and is now the pipeline's latest run, the root and so the name stay the
// same. It fits a DNS label, as Tekton needs for the labels it derives from
// the name.
func RerunName(requestID, original string, rerunOf string) string {
	base := original
	if rerunOf != "" {
		base = rerunOf
	}
	sum := sha256.Sum256([]byte(requestID + "\x00" + base))
	suffix := hex.EncodeToString(sum[:])[:10]
	if len(base) > 63-len(suffix)-1 {
		base = strings.TrimRight(base[:63-len(suffix)-1], "-.")
	}
	return base + "-" + suffix
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

// RerunOf builds a new PipelineRun that repeats orig: the same spec and user
// metadata, without status, controller state or spec.status, plus labels
// and annotations recording what it reruns and who asked.
func RerunOf(orig *pipelinev1.PipelineRun, by Requester) *pipelinev1.PipelineRun {
	root := orig.Labels[LabelRerunOf]
	if root == "" {
		root = orig.Name
	}
	spec := orig.Spec.DeepCopy()
	spec.Status = "" // a cancelled or pending original must not pass that on
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:        RerunName(by.RequestID, orig.Name, orig.Labels[LabelRerunOf]),
			Namespace:   orig.Namespace,
			Labels:      userMetadata(orig.Labels),
			Annotations: userMetadata(orig.Annotations),
		},
		Spec: *spec,
	}
	pr.Labels[LabelRerunOf] = root
	pr.Annotations[AnnotationRequester] = by.Name
	pr.Annotations[AnnotationRequestID] = by.RequestID
	return pr
}

// Rerun creates the rerun of orig. created is false when this request had
// already created it (a redelivery): the existing run is returned.
func (c *Cluster) Rerun(ctx context.Context, orig *pipelinev1.PipelineRun, by Requester) (pr *pipelinev1.PipelineRun, created bool, err error) {
	want := RerunOf(orig, by)
	runs := c.Tekton.TektonV1().PipelineRuns(orig.Namespace)
	pr, err = runs.Create(ctx, want, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		existing, getErr := runs.Get(ctx, want.Name, metav1.GetOptions{})
		if getErr != nil {
			return nil, false, fmt.Errorf("rerun %s exists but cannot be read: %w", want.Name, getErr)
		}
		return existing, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("creating rerun of %s/%s/%s: %w", c.Name, orig.Namespace, orig.Name, err)
	}
	return pr, true, nil
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
