package main

import (
	"tekbot/audit"
	"tekbot/bot"
	"tekbot/handlers"
	"tekbot/state"
)

// handlerDeps are the commands' dependencies before the transports add
// theirs (GitHub, the releases channel, the pager).
func (a *app) handlerDeps(rotation *state.RotationState, opts appOptions) *handlers.Deps {
	cfg := a.cfg
	deps := &handlers.Deps{
		Config: cfg, Clusters: a.clusters, Policy: bot.PolicyFor(cfg), PullRequests: opts.pullRequests, Log: a.log,
		Rotation:  rotation,
		Approvals: a.approvals,
		Queue:     &state.Queue{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)},
		Verdicts:  a.verdicts,
		Excerpts:  a.excerpts,
		// A deploy's watch outlives the command that started it.
		Runner: &a.runnables,
	}
	if opts.releases != nil {
		deps.Notifier = opts.releases
	}
	return deps
}

// wireBot registers the commands and builds the bot that runs them, with
// its audit: Kubernetes Events, and the ring it returns, which keeps the
// last few thousand records beyond the Events' TTL for the status page and
// `tekbot audit`, written in the background by every replica.
func (a *app) wireBot(deps *handlers.Deps) *audit.Ring {
	cfg := a.cfg
	a.registry = handlers.NewRegistry(deps)
	ring := &audit.Ring{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace), Log: a.log.With("component", "audit")}
	auditor := &audit.EventAuditor{
		State: audit.EventsIn(a.state.Kube), Namespace: cfg.State.Namespace, Log: a.log, Ring: ring,
		Clusters: func(name string) audit.Events {
			if c := a.clusters.Get(name); c != nil {
				return audit.EventsIn(c.Kube)
			}
			return nil
		},
	}
	a.runnables.Add(
		everywhere("audit ring", ring.Run),
		everywhere("audit events", auditor.Run),
	)
	a.bot = &bot.Bot{Registry: a.registry, Policy: deps.Policy, Audit: auditor, Metrics: a.metrics, Log: a.log}
	deps.Audit = auditor // what tekbot does by itself is audited as commands are
	return ring
}
