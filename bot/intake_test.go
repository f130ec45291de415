package bot_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"tekbot/bot"
)

// claims is a Claimer in memory, shared by the "replicas" of a test, with
// switches for the apiserver's failures.
type claims struct {
	mu          sync.Mutex
	taken       map[string]bool
	failClaim   bool
	failRelease int // the next n releases fail
}

func (c *claims) Claim(_ context.Context, key string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failClaim {
		return false, errors.New("apiserver unreachable")
	}
	if c.taken[key] {
		return false, nil
	}
	c.taken[key] = true
	return true, nil
}

func (c *claims) Release(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failRelease > 0 {
		c.failRelease--
		return errors.New("apiserver unreachable")
	}
	delete(c.taken, key)
	return nil
}

func (c *claims) held(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.taken[key]
}

func newIntake(c bot.Claimer, workers, queue int) *bot.Intake {
	return &bot.Intake{Seen: bot.NewSeen(16), Claims: c, Pool: bot.NewPool(workers, queue), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func drain(t *testing.T, in *bot.Intake) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := in.Pool.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestIntake(t *testing.T) {
	t.Parallel()
	t.Run("a retry in the same process is taken once", func(t *testing.T) {
		t.Parallel()
		in := newIntake(&claims{taken: map[string]bool{}}, 2, 8)
		var runs atomic.Int32
		work := func(context.Context) bool { runs.Add(1); return false }
		if err := in.Take("comment/1", nil, work); err != nil {
			t.Fatal(err)
		}
		if err := in.Take("comment/1", nil, work); !errors.Is(err, bot.ErrTaken) {
			t.Fatalf("second take: %v, want ErrTaken", err)
		}
		drain(t, in)
		if runs.Load() != 1 {
			t.Fatalf("ran %d times", runs.Load())
		}
	})
	t.Run("two replicas: the claim decides", func(t *testing.T) {
		t.Parallel()
		c := &claims{taken: map[string]bool{}}
		a, b := newIntake(c, 2, 8), newIntake(c, 2, 8)
		var runs atomic.Int32
		work := func(context.Context) bool { runs.Add(1); return false }
		for _, in := range []*bot.Intake{a, b} {
			if err := in.Take("comment/2", nil, work); err != nil {
				t.Fatal(err)
			}
		}
		drain(t, a)
		drain(t, b)
		if runs.Load() != 1 {
			t.Fatalf("ran %d times across replicas", runs.Load())
		}
	})
	t.Run("work that failed on our side gives the claim back", func(t *testing.T) {
		t.Parallel()
		c := &claims{taken: map[string]bool{}, failRelease: 2}
		in := newIntake(c, 1, 8)
		var runs atomic.Int32
		if err := in.Take("comment/3", nil, func(context.Context) bool { runs.Add(1); return true }); err != nil {
			t.Fatal(err)
		}
		drain(t, in)
		if c.held("comment/3") {
			t.Fatal("the claim of failed work was kept: a retry would be lost")
		}
		in = newIntake(c, 1, 8) // the retry, on any replica
		if err := in.Take("comment/3", nil, func(context.Context) bool { runs.Add(1); return false }); err != nil {
			t.Fatal(err)
		}
		drain(t, in)
		if runs.Load() != 2 || !c.held("comment/3") {
			t.Fatalf("runs %d, held %v: want the retry run and kept", runs.Load(), c.held("comment/3"))
		}
	})
	t.Run("an unreachable claim store does not stop the work", func(t *testing.T) {
		t.Parallel()
		in := newIntake(&claims{taken: map[string]bool{}, failClaim: true}, 1, 8)
		var runs atomic.Int32
		if err := in.Take("comment/4", nil, func(context.Context) bool { runs.Add(1); return false }); err != nil {
			t.Fatal(err)
		}
		drain(t, in)
		if runs.Load() != 1 {
			t.Fatalf("ran %d times", runs.Load())
		}
	})
	t.Run("after the drain's deadline, work whose claim fails is not run unclaimed", func(t *testing.T) {
		t.Parallel()
		in := newIntake(&claims{taken: map[string]bool{}, failClaim: true}, 1, 8)
		started := make(chan struct{})
		if err := in.Take("", nil, func(ctx context.Context) bool { close(started); <-ctx.Done(); return false }); err != nil {
			t.Fatal(err)
		}
		<-started
		var unclaimed atomic.Int32
		if err := in.Take("comment/9", nil, func(context.Context) bool { unclaimed.Add(1); return false }); err != nil {
			t.Fatal(err)
		}
		if err := in.TakeBeside("comment/10", nil, func(_ context.Context, claim *bot.Claim) bool {
			if claim.Won() {
				unclaimed.Add(1) // what is not keyed (the reply)
			}
			return false
		}); err != nil {
			t.Fatal(err)
		}
		late, cancel := context.WithCancel(context.Background())
		cancel() // the drain's deadline has passed
		if err := in.Pool.Shutdown(late); !errors.Is(err, context.Canceled) {
			t.Fatalf("shutdown: %v, want the deadline's error", err)
		}
		if n := unclaimed.Load(); n != 0 {
			t.Fatalf("%d works ran unclaimed after the drain's deadline", n)
		}
	})
	t.Run("work waits for the acknowledgement", func(t *testing.T) {
		t.Parallel()
		in := newIntake(nil, 1, 8)
		answered, done := make(chan struct{}), make(chan struct{})
		var order []string
		var mu sync.Mutex
		note := func(s string) { mu.Lock(); order = append(order, s); mu.Unlock() }
		if err := in.Take("click/5", answered, func(context.Context) bool { note("work"); close(done); return false }); err != nil {
			t.Fatal(err)
		}
		note("ack")
		close(answered)
		<-done
		drain(t, in)
		if len(order) != 2 || order[0] != "ack" {
			t.Fatalf("order %v, want the acknowledgement first", order)
		}
	})
	t.Run("beside: the work runs before the claim is taken", func(t *testing.T) {
		t.Parallel()
		c := &claims{taken: map[string]bool{}}
		in := newIntake(c, 1, 8)
		var heldBefore, won bool
		if err := in.TakeBeside("comment/6", nil, func(_ context.Context, claim *bot.Claim) bool {
			heldBefore = c.held("comment/6")
			won = claim.Won()
			return false
		}); err != nil {
			t.Fatal(err)
		}
		drain(t, in)
		if heldBefore || !won || !c.held("comment/6") {
			t.Fatalf("claimed before the work: %v, won: %v, held after: %v; want false, true, true", heldBefore, won, c.held("comment/6"))
		}
	})
	t.Run("beside, two replicas: both work, one wins, the loser gives nothing back", func(t *testing.T) {
		t.Parallel()
		c := &claims{taken: map[string]bool{}}
		a, b := newIntake(c, 1, 8), newIntake(c, 1, 8)
		var runs, wins atomic.Int32
		work := func(_ context.Context, claim *bot.Claim) bool {
			runs.Add(1)
			if claim.Won() {
				wins.Add(1)
				return false
			}
			return true // the loser failed: its claim is not its to release
		}
		for _, in := range []*bot.Intake{a, b} {
			if err := in.TakeBeside("comment/7", nil, work); err != nil {
				t.Fatal(err)
			}
		}
		drain(t, a)
		drain(t, b)
		if runs.Load() != 2 || wins.Load() != 1 || !c.held("comment/7") {
			t.Fatalf("runs %d, wins %d, held %v: want 2, 1, true", runs.Load(), wins.Load(), c.held("comment/7"))
		}
	})
	t.Run("beside: failed work gives a won claim back", func(t *testing.T) {
		t.Parallel()
		c := &claims{taken: map[string]bool{}}
		in := newIntake(c, 1, 8)
		if err := in.TakeBeside("comment/8", nil, func(context.Context, *bot.Claim) bool { return true }); err != nil {
			t.Fatal(err)
		}
		drain(t, in)
		if c.held("comment/8") {
			t.Fatal("the claim of failed work was kept: a retry would be lost")
		}
	})
	t.Run("a full queue keeps nothing, so a retry is taken", func(t *testing.T) {
		t.Parallel()
		in := newIntake(nil, 1, 1)
		block, started := make(chan struct{}), make(chan struct{})
		if err := in.Take("busy/1", nil, func(context.Context) bool { close(started); <-block; return false }); err != nil {
			t.Fatal(err)
		}
		<-started
		if err := in.Take("busy/2", nil, func(context.Context) bool { return false }); err != nil {
			t.Fatal(err)
		}
		if err := in.Take("busy/3", nil, func(context.Context) bool { return false }); !errors.Is(err, bot.ErrPoolFull) {
			t.Fatalf("third take: %v, want ErrPoolFull", err)
		}
		close(block)
		drain(t, in)
		in2 := &bot.Intake{Seen: in.Seen, Pool: bot.NewPool(1, 1), Log: in.Log}
		if err := in2.Take("busy/3", nil, func(context.Context) bool { return false }); err != nil {
			t.Fatalf("the refused request was remembered: %v", err)
		}
		drain(t, in2)
	})
}

// madeClaims is claims that notes, at each claim, how many works had made
// their effect by then.
type madeClaims struct {
	claims
	made *atomic.Int32
	seen []int32
}

func (c *madeClaims) Claim(ctx context.Context, key string) (bool, error) {
	c.mu.Lock()
	c.seen = append(c.seen, c.made.Load())
	c.mu.Unlock()
	return c.claims.Claim(ctx, key)
}

func (c *madeClaims) madeAtClaims() []int32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.seen)
}

// TestClaimsYieldToTheWorkBesideThem: work taken beside its claim makes
// its effect (a burst's reruns) before any of the burst's claims is
// written, but a claim waits for the others at most ClaimYield.
func TestClaimsYieldToTheWorkBesideThem(t *testing.T) {
	t.Parallel()
	// start takes n works of a burst, each made once its gate opens, and
	// returns the gates once all have started (work not yet started is not
	// waited for).
	start := func(in *bot.Intake, made *atomic.Int32, burst string, n int) []chan struct{} {
		gates := make([]chan struct{}, n)
		for i := range gates {
			gates[i] = make(chan struct{})
			if err := in.TakeBeside(fmt.Sprintf("%s/%d", burst, i), nil, func(_ context.Context, claim *bot.Claim) bool {
				<-gates[i]
				made.Add(1)
				claim.Won()
				return false
			}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		return gates
	}
	t.Run("a burst's claims follow all its effects, at once", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			made := &atomic.Int32{}
			c := &madeClaims{claims: claims{taken: map[string]bool{}}, made: made}
			in := newIntake(c, 4, 8)
			begun := time.Now() // the bubble's clock: it moves only when all wait
			gates := start(in, made, "comment", 3)
			close(gates[0])
			synctest.Wait()
			if got := c.madeAtClaims(); len(got) != 0 {
				t.Fatalf("claims taken with %v works made, while two were still short of theirs", got)
			}
			close(gates[1])
			close(gates[2])
			synctest.Wait()
			if got := c.madeAtClaims(); !slices.Equal(got, []int32{3, 3, 3}) {
				t.Fatalf("works made at each claim: %v, want [3 3 3]", got)
			}
			if waited := time.Since(begun); waited != 0 {
				t.Fatalf("the claims waited %v after the last work arrived", waited)
			}
			// The next burst, and a lone request, go the same way.
			for _, n := range []int{2, 1} {
				made.Store(0)
				c.mu.Lock()
				c.seen, c.taken = nil, map[string]bool{}
				c.mu.Unlock()
				for _, g := range start(in, made, fmt.Sprintf("burst-of-%d", n), n) {
					close(g)
				}
				synctest.Wait()
				if got, want := c.madeAtClaims(), slices.Repeat([]int32{int32(n)}, n); !slices.Equal(got, want) || time.Since(begun) != 0 {
					t.Fatalf("a burst of %d: works made at each claim %v, want %v, after %v", n, got, want, time.Since(begun))
				}
			}
			drain(t, in)
		})
	})
	t.Run("a claim waits for the others at most ClaimYield", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			made := &atomic.Int32{}
			c := &madeClaims{claims: claims{taken: map[string]bool{}}, made: made}
			in := newIntake(c, 4, 8)
			gates := start(in, made, "comment", 2)
			close(gates[0])
			synctest.Wait()
			time.Sleep(bot.ClaimYield - time.Nanosecond) // fake time, inside the bubble
			synctest.Wait()
			if got := c.madeAtClaims(); len(got) != 0 {
				t.Fatalf("a claim was taken before ClaimYield: %v", got)
			}
			time.Sleep(time.Nanosecond)
			synctest.Wait()
			if !c.held("comment/0") || c.held("comment/1") {
				t.Fatalf("after ClaimYield: comment/0 held %v, comment/1 held %v; want true, false", c.held("comment/0"), c.held("comment/1"))
			}
			close(gates[1])
			drain(t, in)
			if !c.held("comment/1") {
				t.Fatal("the late work's claim was not taken")
			}
		})
	})
}
