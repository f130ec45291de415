package main

import (
	"context"
	"fmt"
	"log/slog"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/config"
	"tekbot/flakes"
	"tekbot/state"
	"tekbot/tekton"
)

// outcomeHistory keeps the 14-day record of how the watched runs ended
// (package flakes), fed by the repositories' run indexes, and returns
// what judges failures from it. Call it before the indexes start. Every
// replica records what its own indexes see: the record is idempotent by
// run, so two replicas write each run once, and none is lost while
// leadership moves.
func (a *app) outcomeHistory(cfg *config.Config, log *slog.Logger) {
	store := &state.Shards{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace), Set: "flakes"}
	a.outcomes = &flakes.Recorder{
		Store: store, Log: log.With("component", "outcome history"),
		Tasks: func(ctx context.Context, cluster, namespace string, children []pipelinev1.ChildStatusReference) ([]string, error) {
			c := a.clusters.Get(cluster)
			if c == nil {
				return nil, fmt.Errorf("unknown cluster %q", cluster)
			}
			return c.FailedTasks(ctx, namespace, children)
		},
	}
	a.verdicts = &flakes.Reader{Store: store, Log: log.With("component", "outcome history")}
	// The pipeline label of each watched namespace, by cluster.
	labels := map[string]map[string]string{}
	for _, r := range cfg.GitHub.Repositories {
		if labels[r.Cluster] == nil {
			labels[r.Cluster] = map[string]string{}
		}
		labels[r.Cluster][r.Namespace] = r.PipelineLabel
	}
	for name, byNS := range labels {
		c := a.clusters.Get(name)
		if c == nil {
			continue
		}
		c.OnFinished(func(pr *pipelinev1.PipelineRun) {
			if o, ok := flakes.OutcomeOf(c.Name, pr, byNS[pr.Namespace]); ok {
				a.outcomes.Observe(o)
			}
		})
	}
	a.runnables.Add(everywhere("outcome history", a.outcomes.Run))
}

// alertOutcomes feeds the outcome history from the captain's alert watch
// too: the nightlies and canaries it watches are often in no repository's
// namespace.
func (a *app) alertOutcomes(c *tekton.Cluster, pr *pipelinev1.PipelineRun) {
	if o, ok := flakes.OutcomeOf(c.Name, pr, a.alertLabel(c.Name, pr.Namespace)); ok {
		a.outcomes.Observe(o)
	}
}

// alertLabel is the pipeline label of the alert watch on cluster and
// namespace, as the alerts name pipelines.
func (a *app) alertLabel(cluster, namespace string) string {
	for _, w := range a.cfg.Alerts.Watch {
		if w.Cluster == cluster && w.Namespace == namespace {
			return w.PipelineLabel
		}
	}
	return ""
}
