package main

import (
	"context"
	"errors"
	"fmt"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
	"tekbot/handlers"
	"tekbot/mergequeue"
	"tekbot/state"
	"tekbot/transport/github"
)

// githubAPI is GitHub's API for the commands (PR look-ups, gitops
// promotions, holds, the merge queue bridge); nil when GitHub is off or
// the sandbox stands in for it.
func (a *app) githubAPI(deps *handlers.Deps, opts appOptions) (*github.API, error) {
	holds := &state.Holds{ConfigMaps: state.ConfigMapsIn(a.state.Kube, a.cfg.State.Namespace)}
	if hold, ok := opts.pullRequests.(handlers.HoldGitHub); ok { // the sandbox
		deps.Holds, deps.HoldGitHub = holds, hold
	}
	if !a.cfg.GitHubEnabled() || opts.pullRequests != nil {
		return nil, nil
	}
	api, err := github.NewAPI(a.cfg.GitHub)
	if err != nil {
		return nil, err
	}
	api.Metrics = a.metrics
	deps.PullRequests, deps.GitOps = api, api
	deps.Holds, deps.HoldGitHub = holds, api
	a.mergeQueue = &mergequeue.Bridge{
		Config: a.cfg, GitHub: api, Entries: &state.Enqueued{ConfigMaps: state.ConfigMapsIn(a.state.Kube, a.cfg.State.Namespace)}, Holds: holds,
		Log: a.log.With("subsystem", "merge queue"),
	}
	deps.MergeQueue = a.mergeQueue
	return api, nil
}

// mountGitHub serves GitHub's webhooks at /github/webhook, once the
// commands and the bot exist.
func (a *app) mountGitHub(api *github.API, deps *handlers.Deps) error {
	if api == nil {
		return nil
	}
	cfg := a.cfg
	secret, err := cfg.GitHub.WebhookSecret.Value()
	if err != nil {
		return fmt.Errorf("github.webhookSecret: %w", err)
	}
	// Role events reach one replica; every replica forgets what they change.
	roles := &state.RoleChanges{ConfigMaps: state.WatchedConfigMapsIn(a.state.Kube, cfg.State.Namespace), Keep: github.RolesCachedFor}
	a.runnables.Add(everywhere("github role changes", func(ctx context.Context) { roles.Follow(ctx, api.Forget, a.log) }))
	a.mux.Handle("/github/webhook", a.bodies.Wrap(&github.Receiver{
		Secret: []byte(secret), MaxBody: cfg.Server.MaxBodyBytes, Config: cfg,
		Registry: a.registry, Bot: a.bot, API: api, Intake: a.intake, Denials: a.claims, RoleChanges: roles,
		Approvals: a.approvals,
		Closed:    deps,
		Pushes:    deps,
		Queue:     a.mergeQueue,
		Groups:    a.mergeGroups(api),
		Commits:   []github.CommitPulls{deps, api},
		Metrics:   a.metrics,
		Log:       a.log.With("transport", "github"),
	}))
	return nil
}

// mergeGroups runs the merge-group pipelines of merge_group events and
// reports each finished run on its group's head: the run watch hands the
// run to the intake, whose claim makes one replica report it once.
func (a *app) mergeGroups(api *github.API) *mergequeue.Groups {
	log := a.log.With("subsystem", "merge groups")
	groups := &mergequeue.Groups{
		Config: a.cfg, Runs: a.clusters, Checks: api, Audit: a.bot.Audit, Log: log,
	}
	for _, c := range a.clusters.All() {
		c.OnFinished(func(pr *pipelinev1.PipelineRun) {
			if pr.Labels[mergequeue.LabelGroup] == "" {
				return
			}
			run := pr.DeepCopy()
			key := fmt.Sprintf("merge-group-finished/%s/%s/%s/%s", c.Name, run.Namespace, run.Name, run.UID)
			err := a.intake.Take(key, nil, func(ctx context.Context) bool {
				if err := groups.Finished(ctx, c.Name, run); err != nil {
					log.Error("reporting a merge group run failed", "run", run.Name, "err", err)
					return true
				}
				return false
			})
			if err != nil && !errors.Is(err, bot.ErrTaken) {
				log.Warn("merge group run not reported", "run", run.Name, "err", err)
			}
		})
	}
	return groups
}
