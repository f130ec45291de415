package statuspage

import (
	"context"
	"slices"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/tekton"
)

// The runs part is served from a snapshot. Folding a namespace of twenty
// thousand runs into the newest per pipeline takes seconds of paging
// through the apiserver; a page view must not. A request that finds the
// snapshot older than RunsMaxAge starts one refresh in the background and
// is answered from the snapshot it has (stale while revalidating); only the
// very first request waits for a snapshot, and then at most firstWait.
// Refreshes happen only while someone looks at the page.

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

const (
	firstWait      = 3 * time.Second
	refreshTimeout = 2 * time.Minute
)

func (p *Page) maxAge() time.Duration {
	if p.RunsMaxAge > 0 {
		return p.RunsMaxAge
	}
	return 30 * time.Second
}

// latestRuns returns the snapshot, starting a refresh if it is stale; nil
// until the first refresh ends.
func (p *Page) latestRuns(ctx context.Context) *runsSnapshot {
	p.runsMu.Lock()
	snap, done := p.runs, p.refreshing
	if done == nil && (snap == nil || p.now().Sub(snap.At) > p.maxAge()) {
		done = make(chan struct{})
		p.refreshing = done
		go p.refresh(done)
	}
	p.runsMu.Unlock()
	if snap != nil {
		return snap
	}
	wait := time.NewTimer(firstWait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
	case <-ctx.Done():
	}
	p.runsMu.Lock()
	defer p.runsMu.Unlock()
	return p.runs
}

// Refresh reads the runs now and waits for it; tekbot calls it at start so
// the first visitor does not wait, and tests to see what they seeded.
func (p *Page) Refresh() {
	p.runsMu.Lock()
	done := p.refreshing
	if done == nil {
		done = make(chan struct{})
		p.refreshing = done
		go p.refresh(done)
	}
	p.runsMu.Unlock()
	<-done
}

func (p *Page) refresh(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
	defer cancel()
	snap := &runsSnapshot{At: p.now()}
	clusters := p.Clusters.All()
	snap.Clusters = make([]clusterRuns, len(clusters))
	var wg sync.WaitGroup
	for i, c := range clusters {
		wg.Go(func() { snap.Clusters[i] = p.clusterRuns(ctx, c) })
	}
	wg.Wait()
	p.runsMu.Lock()
	p.runs, p.refreshing = snap, nil
	p.runsMu.Unlock()
	close(done)
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
