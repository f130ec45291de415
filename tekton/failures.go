package tekton

import (
	"context"
	"errors"
	"slices"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// Failure is a PipelineRun that failed, for the captain's handoff.
type Failure struct {
	Cluster  string
	Pipeline string
	Name     string
	URL      string
	State    State
	Finished time.Time
}

// FailedSince lists the runs on every cluster's default namespace that
// ended in failure after since, newest first. A cluster that cannot be read
// is reported in the error; the others are still listed.
func (cs *Clusters) FailedSince(ctx context.Context, since time.Time) ([]Failure, error) {
	var out []Failure
	var errs []error
	for _, c := range cs.list {
		err := c.Each(ctx, c.Namespace, func(pr *pipelinev1.PipelineRun) {
			st := StateOf(pr)
			if !st.Retryable() || pr.Status.CompletionTime == nil || pr.Status.CompletionTime.Time.Before(since) {
				return
			}
			out = append(out, Failure{
				Cluster: c.Name, Pipeline: Pipeline(pr, ""), Name: pr.Name,
				URL: c.URL(pr.Namespace, pr.Name), State: st, Finished: pr.Status.CompletionTime.Time,
			})
		})
		errs = append(errs, err)
	}
	slices.SortFunc(out, func(a, b Failure) int { return b.Finished.Compare(a.Finished) })
	return out, errors.Join(errs...)
}
