package handlers

import (
	"context"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/tekton"
)

// Runs is what the commands do with PipelineRuns, on the configured
// cluster each call names: tekton.Clusters on real clusters, fake.Clusters
// in the short tier's tests. A cluster tekbot has no connection to is an
// error. Errors wrap the apiserver's, so apierrors.IsNotFound and the like
// see through them.
type Runs interface {
	// Run reads one PipelineRun.
	Run(ctx context.Context, cluster, namespace, name string) (*pipelinev1.PipelineRun, error)
	// Matching lists the runs a label selector matches, from the run index
	// when it keeps the namespace (then without spec: see Rerun).
	Matching(ctx context.Context, cluster, namespace, selector string) ([]pipelinev1.PipelineRun, error)
	// EachRun calls fn for every run in namespace, a page at a time.
	EachRun(ctx context.Context, cluster, namespace string, fn func(*pipelinev1.PipelineRun)) error
	// CreateOnce creates pr, named after what it acts on; created is false
	// when the name is taken, and the run holding it is returned.
	CreateOnce(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) (run *pipelinev1.PipelineRun, created bool, err error)
	// Rerun creates the next attempt at orig's root with params
	// overridden (tekton.Rerun); orig may come from Matching.
	Rerun(ctx context.Context, cluster string, orig *pipelinev1.PipelineRun, by tekton.Requester, params map[string]string) (run *pipelinev1.PipelineRun, created bool, err error)
	// Cancel asks Tekton to cancel a run; Start releases a pending one.
	Cancel(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) error
	Start(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) error
	// FailedTasks names the pipeline tasks of a run's TaskRuns (its
	// childReferences) that failed.
	FailedTasks(ctx context.Context, cluster, namespace string, children []pipelinev1.ChildStatusReference) ([]string, error)
	// URL links to a run in the cluster's dashboard, or is "".
	URL(cluster, namespace, name string) string
}
