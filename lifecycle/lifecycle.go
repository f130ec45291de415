// Package lifecycle runs tekbot's lifetimes the way controller-runtime's
// manager runs its Runnables: each subsystem adds the work it needs for as
// long as the process lives (watches, Socket Mode, the audit ring) or for as
// long as this replica leads (the handoff cron, escalations, alerts); the
// group starts them all, campaigns for the leader Lease only if something
// needs it, and waits for every one at shutdown. Work may be added after
// the start (a command's deploy watch): it starts at once.
//
// Errors: a runnable's error stops the whole group, and Err reports it, so
// that the process exits non-zero and Kubernetes restarts it rather than a
// replica living on without a part of itself. A runnable whose failures are
// weather (a connection dropped) says Restart: its error is logged and it
// runs again after a backoff.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Runnable is one lifetime: Run works until its context ends, or until
// its work is done (nil) or failed.
type Runnable struct {
	// Name is what logs and errors call it.
	Name string
	// Everywhere runnables run on every replica for the life of the
	// process. The others, the zero value, run only on the replica holding
	// the leader Lease and stop when it loses the Lease: work forgotten
	// here is done once, not by every replica.
	Everywhere bool
	// Restart runs Run again after a backoff when it fails, the error
	// logged, rather than stopping the group.
	Restart bool
	Run     func(ctx context.Context) error
}

// Campaign runs lead while this replica holds the leader Lease, until ctx
// ends (state.Leader.Run).
type Campaign func(ctx context.Context, lead func(ctx context.Context))

// ErrStopped refuses a runnable added once the group's shutdown began.
var ErrStopped = errors.New("lifecycle: shutting down")

// Restart backoff: doubling from the first, up to the cap.
const (
	firstBackoff = time.Second
	maxBackoff   = time.Minute
)

// Group holds the runnables of one process. Its zero value is ready.
type Group struct {
	Log *slog.Logger

	mu      sync.Mutex
	pending []Runnable // added before Start
	// ctx is nil before Start; it ends at shutdown or on the first error.
	ctx      context.Context
	cancel   context.CancelFunc
	err      error
	campaign Campaign
	// campaigning is set once the campaign runs: it starts with the first
	// leader runnable, so a process that needs none never takes the Lease.
	campaigning bool
	// leaders are the leader runnables, run again on each new leadership.
	leaders []Runnable
	// lead is the leadership's context while this replica leads, and
	// leadWG its runnables.
	lead   context.Context
	leadWG *sync.WaitGroup
	wg     sync.WaitGroup
}

// Add registers runnables; after Start it starts them at once (a leader
// runnable at once if this replica leads, else when it next does). Once
// shutdown began it refuses them with ErrStopped; before Start it never
// fails, so wiring need not look.
func (g *Group) Add(rs ...Runnable) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ctx == nil {
		g.pending = append(g.pending, rs...)
		return nil
	}
	if g.ctx.Err() != nil {
		return ErrStopped
	}
	for _, r := range rs {
		g.startLocked(r)
	}
	return nil
}

// Start starts every runnable until ctx ends: those that run everywhere at
// once, the leader's under campaign, which is called only when one needs
// it. A nil campaign never leads.
func (g *Group) Start(ctx context.Context, campaign Campaign) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ctx, g.cancel = context.WithCancel(ctx)
	g.campaign = campaign
	for _, r := range g.pending {
		g.startLocked(r)
	}
	g.pending = nil
}

func (g *Group) startLocked(r Runnable) {
	if r.Everywhere {
		g.wg.Go(func() { g.run(g.ctx, r) })
		return
	}
	g.leaders = append(g.leaders, r)
	switch {
	case g.lead != nil:
		g.leadWG.Go(func() { g.run(g.lead, r) })
	case !g.campaigning && g.campaign != nil:
		g.campaigning = true
		ctx := g.ctx
		g.wg.Go(func() { g.campaign(ctx, g.leading) })
	}
}

// leading runs the leader runnables, and those added meanwhile, for as
// long as this leadership lasts.
func (g *Group) leading(ctx context.Context) {
	var wg sync.WaitGroup
	g.mu.Lock()
	g.lead, g.leadWG = ctx, &wg
	for _, r := range g.leaders {
		wg.Go(func() { g.run(ctx, r) })
	}
	g.mu.Unlock()
	<-ctx.Done()
	g.mu.Lock()
	g.lead, g.leadWG = nil, nil
	g.mu.Unlock()
	wg.Wait()
}

func (g *Group) run(ctx context.Context, r Runnable) {
	log := g.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log.Debug("starting", "runnable", r.Name, "everywhere", r.Everywhere)
	defer log.Debug("stopped", "runnable", r.Name)
	backoff := firstBackoff
	for {
		err := r.Run(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		if !r.Restart {
			log.Error("stopping: a runnable failed", "runnable", r.Name, "err", err)
			g.fail(fmt.Errorf("%s: %w", r.Name, err))
			return
		}
		log.Error("restarting a runnable that failed", "runnable", r.Name, "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// fail stops the group on its first error.
func (g *Group) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.err = err
	}
	g.cancel()
}

// Done is closed when the group stops: Start's ctx ended, or a runnable
// failed. Before Start it is nil, which blocks.
func (g *Group) Done() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ctx == nil {
		return nil
	}
	return g.ctx.Done()
}

// Wait waits for every runnable to return, once the group stopped, and
// returns the error that stopped it, if one did.
func (g *Group) Wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
