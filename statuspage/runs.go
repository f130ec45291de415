package statuspage

import (
	"context"
	"slices"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/tekton"
)

// The runs part comes from a snapshot of each cluster's namespace: folding
// twenty thousand runs into the newest per pipeline takes seconds of paging
// through the apiserver, which only a background refresh may spend (see
// cached.go).

type runsSnapshot struct {
	At       time.Time
	Clusters []clusterRuns
}

type clusterRuns struct {
	Name, Role, Namespace string
	Err                   bool
	Runs                  []runRow
	Failing               int
}

type runRow struct {
	Pipeline, Name, URL, State string
	Failed                     bool
	Started                    time.Time
}

func (p *Page) runsMaxAge() time.Duration {
	if p.RunsMaxAge > 0 {
		return p.RunsMaxAge
	}
	return 30 * time.Second
}

// loadRuns reads every cluster's runs at once.
func (p *Page) loadRuns(ctx context.Context) *runsSnapshot {
	clusters := p.Clusters.All()
	snap := &runsSnapshot{At: p.now(), Clusters: make([]clusterRuns, len(clusters))}
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() { snap.Clusters[i] = p.clusterRuns(ctx, c) })
	}
	wg.Wait()
	return snap
}

// clusterRuns folds a cluster's namespace into the newest run of each
// pipeline, failures first: from the bot's slim index of the namespace when
// it keeps one (tekton.WatchRuns: a repository's namespace), which costs
// the apiserver nothing, else a page of runs at a time.
func (p *Page) clusterRuns(ctx context.Context, c *tekton.Cluster) clusterRuns {
	out := clusterRuns{Name: c.Name, Role: string(c.Role), Namespace: c.Namespace}
	newest := tekton.NewNewestByPipeline("")
	var err error
	if c.Indexed(c.Namespace) {
		var runs []pipelinev1.PipelineRun
		runs, err = c.Runs(ctx, c.Namespace, "")
		for i := range runs {
			newest.Add(&runs[i])
		}
	} else {
		err = c.Each(ctx, c.Namespace, newest.Add)
	}
	if p.failed("PipelineRuns of "+c.Name, err) {
		out.Err = true
		return out
	}
	for _, pr := range newest.Sorted() {
		st := tekton.StateOf(pr)
		out.Runs = append(out.Runs, runRow{
			Pipeline: tekton.Pipeline(pr, ""), Name: pr.Name, URL: c.URL(pr.Namespace, pr.Name),
			State: string(st), Failed: st.Retryable(), Started: started(pr),
		})
		if st.Retryable() {
			out.Failing++
		}
	}
	// Failures first: they are what the captain needs; the fold's order
	// (by pipeline) is kept within each group.
	slices.SortStableFunc(out.Runs, func(a, b runRow) int { return rank(b.Failed) - rank(a.Failed) })
	return out
}

func started(pr *pipelinev1.PipelineRun) time.Time {
	if pr.Status.StartTime != nil {
		return pr.Status.StartTime.Time
	}
	return pr.CreationTimestamp.Time
}

func rank(b bool) int {
	if b {
		return 1
	}
	return 0
}
