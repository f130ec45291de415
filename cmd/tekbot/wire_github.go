package main

import (
	"context"
	"fmt"

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
		Commits:   []github.CommitPulls{deps, api},
		Metrics:   a.metrics,
		Log:       a.log.With("transport", "github"),
	}))
	return nil
}
