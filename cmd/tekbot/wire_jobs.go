package main

import (
	"context"
	"log/slog"
	"time"

	"tekbot/handlers"
	"tekbot/lifecycle"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/transport/github"
)

// runIndex is one repository namespace's index of runs.
type runIndex struct {
	cluster   *tekton.Cluster
	namespace string
}

// watchRunIndexes keeps a slim index of each repository's namespace, so
// that PR commands find runs in memory rather than with a read that waits
// on the apiserver (tekton.WatchRuns); /readyz waits for them.
func (a *app) watchRunIndexes() {
	for _, r := range a.cfg.GitHub.Repositories {
		if c := a.clusters.Get(r.Cluster); c != nil {
			a.indexes = append(a.indexes, runIndex{c, r.Namespace})
			a.runnables.Add(everywhere("index of "+r.Cluster+"/"+r.Namespace, func(ctx context.Context) { c.WatchRuns(ctx, r.Namespace) }))
		}
	}
}

// mergeQueueResync is how often the leader looks at every open PR of the
// repositories with a mergeQueue, for the events GitHub did not deliver:
// a repository's resync is one GraphQL query and one per open PR.
const mergeQueueResync = 10 * time.Minute

// queuedSweep is how often the leader looks for commands queued on PRs
// whose close event was lost (handlers.Deps.SweepQueued): one GitHub read
// per PR with a command queued longer than a week.
const queuedSweep = 6 * time.Hour

// backgroundJobs are the jobs that belong to no transport: claims and
// holds expire, the merge queue is resynced and old queued commands are
// looked at on the leader; promotions are watched and proposed.
func (a *app) backgroundJobs(deps *handlers.Deps) {
	cfg, log := a.cfg, a.log
	a.runnables.Add(leader("claim expiry", func(ctx context.Context) {
		expireClaims(ctx, a.claims, func(key string) time.Duration { return github.ClaimRetention(key, cfg.GitHub) }, log)
	}))
	a.runnables.Add(leader("hold expiry", func(ctx context.Context) {
		every(ctx, time.Minute, func() { logErr(log, "expiring holds", deps.ExpireHolds(ctx, time.Now())) })
	}))
	a.runnables.Add(leader("queued command sweep", func(ctx context.Context) {
		every(ctx, queuedSweep, func() { logErr(log, "sweeping queued commands", deps.SweepQueued(ctx, deps.HoldGitHub, time.Now())) })
	}))
	if a.mergeQueue != nil {
		a.runnables.Add(leader("merge queue resync", func(ctx context.Context) {
			every(ctx, mergeQueueResync, func() { a.mergeQueue.Resync(ctx) })
		}))
	}
	if len(cfg.Promotion.Environments) == 0 {
		return
	}
	a.runnables.Add(
		// Deploys that were running when the last process stopped are
		// watched again, so their result is still reported; reading the
		// record is retried until the apiserver answers.
		lifecycle.Runnable{Name: "promotion watches", Everywhere: true, Restart: true, Run: func(ctx context.Context) error {
			return deps.Promotions().Resume(ctx)
		}},
		// The promotion train proposes nightlies on working days; its
		// posts are claimed per day, so a new leader does not repeat them.
		leader("promotion train", func(ctx context.Context) { deps.Promotions().RunTrain(ctx, a.claims) }),
	)
}

// everywhere is a runnable for every replica that cannot fail.
func everywhere(name string, run func(ctx context.Context)) lifecycle.Runnable {
	return lifecycle.Runnable{Name: name, Everywhere: true, Run: func(ctx context.Context) error { run(ctx); return nil }}
}

// leader is a runnable for the leader that cannot fail.
func leader(name string, run func(ctx context.Context)) lifecycle.Runnable {
	return lifecycle.Runnable{Name: name, Run: func(ctx context.Context) error { run(ctx); return nil }}
}

// expireClaims forgets each request claim after its retention: beyond
// the window in which a replay of what it guards would be acted on.
func expireClaims(ctx context.Context, claims *state.Claims, retention func(key string) time.Duration, log *slog.Logger) {
	every(ctx, time.Hour, func() {
		n, err := claims.Expire(ctx, retention, time.Now())
		logErr(log, "expiring claims", err)
		if n > 0 {
			log.Info("expired claims", "count", n)
		}
	})
}

// every runs fn now and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func logErr(log *slog.Logger, what string, err error) {
	if err != nil {
		log.Error(what+" failed", "err", err)
	}
}
