// Package lifecycle runs tekbot's lifetimes the way controller-runtime's
// manager runs its Runnables: each subsystem adds the work it needs for as
// long as the process lives (watches, Socket Mode, the audit ring) or for as
// long as this replica leads (the handoff cron, escalations, alerts), and
// says which; the group starts them all, campaigns for the leader Lease
// only if something needs it, and waits for every one at shutdown.
package lifecycle

import (
	"context"
	"log/slog"
	"sync"
)

// Runnable is one lifetime: Run works until its context ends.
type Runnable struct {
	// Name is what logs call it.
	Name string
	// Leader runnables run only on the replica holding the leader Lease,
	// and stop when it loses the Lease.
	Leader bool
	Run    func(ctx context.Context)
}

// Campaign runs lead while this replica holds the leader Lease, until ctx
// ends (state.Leader.Run).
type Campaign func(ctx context.Context, lead func(ctx context.Context))

// Group holds the runnables of one process.
type Group struct {
	Log  *slog.Logger
	list []Runnable
	wg   sync.WaitGroup
}

// Add registers runnables; Start runs them.
func (g *Group) Add(rs ...Runnable) { g.list = append(g.list, rs...) }

// NeedsLeader reports whether any runnable runs on the leader alone.
func (g *Group) NeedsLeader() bool {
	for _, r := range g.list {
		if r.Leader {
			return true
		}
	}
	return false
}

// Start starts every runnable until ctx ends: the others at once, the
// leader's under campaign, which is only called when one needs it.
func (g *Group) Start(ctx context.Context, campaign Campaign) {
	var leading []Runnable
	for _, r := range g.list {
		if r.Leader {
			leading = append(leading, r)
			continue
		}
		g.wg.Go(func() { g.run(ctx, r) })
	}
	if len(leading) == 0 {
		return
	}
	g.wg.Go(func() {
		campaign(ctx, func(ctx context.Context) {
			var wg sync.WaitGroup
			for _, r := range leading {
				wg.Go(func() { g.run(ctx, r) })
			}
			wg.Wait()
		})
	})
}

func (g *Group) run(ctx context.Context, r Runnable) {
	if g.Log != nil {
		g.Log.Debug("starting", "runnable", r.Name, "leader", r.Leader)
		defer g.Log.Debug("stopped", "runnable", r.Name)
	}
	r.Run(ctx)
}

// Wait waits for every runnable to return, after Start's ctx ended.
func (g *Group) Wait() { g.wg.Wait() }
