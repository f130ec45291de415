package lifecycle_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"tekbot/lifecycle"
)

// recorder notes which runnables ran, and lets each wait for its context.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) runnable(name string, leader bool, started *sync.WaitGroup) lifecycle.Runnable {
	started.Add(1)
	return lifecycle.Runnable{Name: name, Leader: leader, Run: func(ctx context.Context) {
		r.mu.Lock()
		r.ran = append(r.ran, name)
		r.mu.Unlock()
		started.Done()
		<-ctx.Done()
	}}
}

func TestGroup(t *testing.T) {
	t.Parallel()
	t.Run("leader runnables run under the campaign, the rest at once", func(t *testing.T) {
		t.Parallel()
		var g lifecycle.Group
		var rec recorder
		var started sync.WaitGroup
		g.Add(rec.runnable("watch", false, &started), rec.runnable("handoff", true, &started), rec.runnable("escalation", true, &started))
		ctx, cancel := context.WithCancel(context.Background())
		campaigns := 0
		g.Start(ctx, func(ctx context.Context, lead func(context.Context)) { campaigns++; lead(ctx) })
		started.Wait()
		cancel()
		g.Wait()
		slices.Sort(rec.ran)
		if campaigns != 1 || !slices.Equal(rec.ran, []string{"escalation", "handoff", "watch"}) {
			t.Fatalf("campaigns %d, ran %v", campaigns, rec.ran)
		}
	})
	t.Run("no campaign when nothing needs the leader", func(t *testing.T) {
		t.Parallel()
		var g lifecycle.Group
		var rec recorder
		var started sync.WaitGroup
		g.Add(rec.runnable("socket mode", false, &started))
		if g.NeedsLeader() {
			t.Fatal("NeedsLeader with no leader runnable")
		}
		ctx, cancel := context.WithCancel(context.Background())
		g.Start(ctx, func(context.Context, func(context.Context)) { t.Error("campaigned for the Lease") })
		started.Wait()
		cancel()
		g.Wait()
	})
	t.Run("a replica that never leads runs none of the leader's work", func(t *testing.T) {
		t.Parallel()
		var g lifecycle.Group
		var rec recorder
		var started sync.WaitGroup
		g.Add(rec.runnable("watch", false, &started))
		g.Add(lifecycle.Runnable{Name: "handoff", Leader: true, Run: func(context.Context) { t.Error("the handoff ran without the Lease") }})
		ctx, cancel := context.WithCancel(context.Background())
		g.Start(ctx, func(ctx context.Context, _ func(context.Context)) { <-ctx.Done() })
		started.Wait()
		cancel()
		g.Wait()
	})
}
