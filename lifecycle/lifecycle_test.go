package lifecycle_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"tekbot/lifecycle"
)

// recorder notes which runnables are running.
type recorder struct {
	mu      sync.Mutex
	running []string
}

// runnable runs until its context ends; the zero Runnable leads.
func (r *recorder) runnable(name string, everywhere bool) lifecycle.Runnable {
	return lifecycle.Runnable{Name: name, Everywhere: everywhere, Run: func(ctx context.Context) error {
		r.mu.Lock()
		r.running = append(r.running, name)
		r.mu.Unlock()
		<-ctx.Done()
		r.mu.Lock()
		r.running = slices.DeleteFunc(r.running, func(s string) bool { return s == name })
		r.mu.Unlock()
		return nil
	}}
}

func (r *recorder) now() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := slices.Clone(r.running)
	slices.Sort(s)
	return s
}

// leads is a campaign that wins at once and leads until ctx ends.
func leads(ctx context.Context, lead func(context.Context)) { lead(ctx) }

// neverLeads is a campaign another replica always wins.
func neverLeads(ctx context.Context, _ func(context.Context)) { <-ctx.Done() }

// TestGroup: which runnables run where and when, including those added
// after the start. Every case runs in a synctest bubble: synctest.Wait is
// the point at which everything started has started.
func TestGroup(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		before   []string // added before Start; "+" prefix runs everywhere
		after    []string // added after Start
		campaign lifecycle.Campaign
		want     []string
		// campaigns is how often the campaign must have been called.
		campaigns int
	}{
		{name: "leader runnables run under the campaign, the rest at once", before: []string{"+watch", "handoff", "escalation"},
			campaign: leads, want: []string{"escalation", "handoff", "watch"}, campaigns: 1},
		{name: "no campaign when nothing needs the leader", before: []string{"+socket mode"},
			campaign: leads, want: []string{"socket mode"}, campaigns: 0},
		{name: "a replica that never leads runs none of the leader's work", before: []string{"+watch", "handoff"},
			campaign: neverLeads, want: []string{"watch"}, campaigns: 1},
		{name: "added after start: runs at once", before: []string{"+index"}, after: []string{"+deploy watch"},
			campaign: leads, want: []string{"deploy watch", "index"}, campaigns: 0},
		{name: "a leader runnable added after start joins the leadership", before: []string{"handoff"}, after: []string{"train"},
			campaign: leads, want: []string{"handoff", "train"}, campaigns: 1},
		{name: "the first leader runnable added after start starts the campaign", before: []string{"+index"}, after: []string{"train"},
			campaign: leads, want: []string{"index", "train"}, campaigns: 1},
		{name: "a leader runnable added after start waits for the Lease", before: []string{"+index"}, after: []string{"train"},
			campaign: neverLeads, want: []string{"index"}, campaigns: 1},
		{name: "a nil campaign never leads", before: []string{"+index", "handoff"},
			want: []string{"index"}, campaigns: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				var g lifecycle.Group
				var rec recorder
				add := func(names []string) {
					for _, n := range names {
						name, everywhere := n, false
						if n[0] == '+' {
							name, everywhere = n[1:], true
						}
						if err := g.Add(rec.runnable(name, everywhere)); err != nil {
							t.Fatalf("Add(%s): %v", name, err)
						}
					}
				}
				add(tc.before)
				ctx, cancel := context.WithCancel(t.Context())
				var campaigns atomic.Int32
				var campaign lifecycle.Campaign
				if tc.campaign != nil {
					campaign = func(ctx context.Context, lead func(context.Context)) { campaigns.Add(1); tc.campaign(ctx, lead) }
				}
				g.Start(ctx, campaign)
				synctest.Wait()
				add(tc.after)
				synctest.Wait()
				if got := rec.now(); !slices.Equal(got, tc.want) || int(campaigns.Load()) != tc.campaigns {
					t.Errorf("running %v after %d campaigns, want %v after %d", got, campaigns.Load(), tc.want, tc.campaigns)
				}
				cancel()
				if err := g.Wait(); err != nil {
					t.Errorf("Wait: %v", err)
				}
				if got := rec.now(); len(got) != 0 {
					t.Errorf("still running after Wait: %v", got)
				}
				if err := g.Add(rec.runnable("late", true)); !errors.Is(err, lifecycle.ErrStopped) {
					t.Errorf("Add after shutdown: %v, want ErrStopped", err)
				}
			})
		})
	}
}

// TestLeadershipLost: the leader's runnables stop when the Lease is lost
// and run again when it is won back; those that run everywhere go on.
func TestLeadershipLost(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var g lifecycle.Group
		var rec recorder
		_ = g.Add(rec.runnable("handoff", false), rec.runnable("index", true))
		// Each term of leadership is a context the test hands the campaign.
		terms := make(chan context.Context)
		ctx, cancel := context.WithCancel(t.Context())
		g.Start(ctx, func(ctx context.Context, lead func(context.Context)) {
			for {
				select {
				case term := <-terms:
					lead(term)
				case <-ctx.Done():
					return
				}
			}
		})
		expect := func(when string, want ...string) {
			t.Helper()
			synctest.Wait()
			if got := rec.now(); !slices.Equal(got, want) {
				t.Fatalf("%s: running %v, want %v", when, got, want)
			}
		}
		expect("before the Lease", "index")
		first, lose := context.WithCancel(ctx)
		terms <- first
		expect("leading", "handoff", "index")
		lose()
		expect("Lease lost", "index")
		second, lose := context.WithCancel(ctx)
		defer lose()
		terms <- second
		expect("leading again", "handoff", "index")
		cancel()
		if err := g.Wait(); err != nil {
			t.Errorf("Wait: %v", err)
		}
	})
}

// TestErrors: a runnable's error stops the group and is what Wait
// returns; one marked Restart runs again after a backoff instead.
func TestErrors(t *testing.T) {
	t.Parallel()
	broken := errors.New("invalid token")
	t.Run("an error stops the group", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			var g lifecycle.Group
			var rec recorder
			_ = g.Add(rec.runnable("index", true), rec.runnable("handoff", false),
				lifecycle.Runnable{Name: "socket mode", Everywhere: true, Run: func(context.Context) error { return broken }})
			g.Start(t.Context(), leads)
			<-g.Done() // without the test's context ending
			err := g.Wait()
			if !errors.Is(err, broken) || err.Error() != "socket mode: invalid token" {
				t.Fatalf("Wait: %v, want socket mode's error", err)
			}
			if got := rec.now(); len(got) != 0 {
				t.Errorf("still running after the error: %v", got)
			}
		})
	})
	t.Run("a restartable runnable runs again, later each time", func(t *testing.T) {
		t.Parallel()
		synctest.Test(t, func(t *testing.T) {
			var g lifecycle.Group
			var starts []time.Time
			running := make(chan struct{})
			_ = g.Add(lifecycle.Runnable{Name: "watch", Everywhere: true, Restart: true, Run: func(ctx context.Context) error {
				starts = append(starts, time.Now())
				if len(starts) < 4 {
					return broken
				}
				close(running)
				<-ctx.Done()
				return nil
			}})
			ctx, cancel := context.WithCancel(t.Context())
			g.Start(ctx, nil)
			<-running // the bubble's fake clock jumps through the backoffs
			select {
			case <-g.Done():
				t.Fatal("a restartable runnable's error stopped the group")
			default:
			}
			if len(starts) != 4 {
				t.Fatalf("ran %d times, want 4", len(starts))
			}
			for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
				if got := starts[i+1].Sub(starts[i]); got != want {
					t.Errorf("restart %d after %v, want %v", i+1, got, want)
				}
			}
			cancel()
			if err := g.Wait(); err != nil {
				t.Errorf("Wait: %v", err)
			}
		})
	})
}
