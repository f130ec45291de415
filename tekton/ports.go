package tekton

import (
	"context"
	"fmt"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// The methods below serve the middle layer's ports (handlers.Runs): the
// same verbs as Cluster's, on the configured cluster each call names, so
// one value stands for every cluster and a fake can stand in for it.

func (cs *Clusters) cluster(name string) (*Cluster, error) {
	if c := cs.Get(name); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("no connection to a cluster named %q", name)
}

// Run reads one PipelineRun.
func (cs *Clusters) Run(ctx context.Context, cluster, namespace, name string) (*pipelinev1.PipelineRun, error) {
	c, err := cs.cluster(cluster)
	if err != nil {
		return nil, err
	}
	return c.Get(ctx, namespace, name)
}

// Matching lists the runs a label selector matches: see Cluster.Runs.
func (cs *Clusters) Matching(ctx context.Context, cluster, namespace, selector string) ([]pipelinev1.PipelineRun, error) {
	c, err := cs.cluster(cluster)
	if err != nil {
		return nil, err
	}
	return c.Runs(ctx, namespace, selector)
}

// EachRun calls fn for every run in namespace: see Cluster.Each.
func (cs *Clusters) EachRun(ctx context.Context, cluster, namespace string, fn func(*pipelinev1.PipelineRun)) error {
	c, err := cs.cluster(cluster)
	if err != nil {
		return err
	}
	return c.Each(ctx, namespace, fn)
}

// CreateOnce creates pr once: see Cluster.CreateOnce.
func (cs *Clusters) CreateOnce(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, bool, error) {
	c, err := cs.cluster(cluster)
	if err != nil {
		return nil, false, err
	}
	return c.CreateOnce(ctx, pr)
}

// Rerun creates the next attempt at orig's root with params overridden:
// see Cluster.RerunWithParams.
func (cs *Clusters) Rerun(ctx context.Context, cluster string, orig *pipelinev1.PipelineRun, by Requester, params map[string]string) (*pipelinev1.PipelineRun, bool, error) {
	c, err := cs.cluster(cluster)
	if err != nil {
		return nil, false, err
	}
	return c.RerunWithParams(ctx, orig, by, params)
}

// Cancel asks Tekton to cancel a run.
func (cs *Clusters) Cancel(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) error {
	c, err := cs.cluster(cluster)
	if err != nil {
		return err
	}
	return c.Cancel(ctx, pr)
}

// Start releases a run held pending.
func (cs *Clusters) Start(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) error {
	c, err := cs.cluster(cluster)
	if err != nil {
		return err
	}
	return c.Start(ctx, pr)
}

// FailedTasks names a run's failed pipeline tasks: see Cluster.FailedTasks.
func (cs *Clusters) FailedTasks(ctx context.Context, cluster, namespace string, children []pipelinev1.ChildStatusReference) ([]string, error) {
	c, err := cs.cluster(cluster)
	if err != nil {
		return nil, err
	}
	return c.FailedTasks(ctx, namespace, children)
}

// URL links to a run in the cluster's dashboard, or is "".
func (cs *Clusters) URL(cluster, namespace, name string) string {
	if c := cs.Get(cluster); c != nil {
		return c.URL(namespace, name)
	}
	return ""
}
