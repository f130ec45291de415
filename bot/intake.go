package bot

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Intake is the one path every transport's requests take once the
// transport has verified and decoded them: a request is deduplicated in
// this process (Seen, the fast path for a retry reaching the same replica),
// queued on the bounded pool, claimed across replicas and restarts, run,
// and, when it failed on our side so that nothing was done, released, so
// that a retry of it is handled again instead of being lost.
type Intake struct {
	Seen *Seen
	// Claims decides across replicas; nil trusts Seen alone (one process).
	Claims Claimer
	Pool   *Pool
	Log    *slog.Logger

	// beside holds the claim of work taken beside it (TakeBeside) until
	// the other such work has made its effects.
	beside claimQueue
}

// ErrTaken means this process already took the request: a retry that
// arrived while, or after, the first was handled.
var ErrTaken = errors.New("already taken")

// Work does a request once it is claimed. It returns retry when it failed
// on our side and did nothing: the claim is then given back.
type Work func(ctx context.Context) (retry bool)

// Take queues work for the request that key names (what it acts on: the
// comment, the click, the event). It returns ErrTaken for a key this
// process already took, and ErrPoolFull, having kept nothing, when the
// queue is full or shutting down: the transport tells its caller to retry.
// The work waits until answered is closed, so that the transport's
// acknowledgement goes out before any result (nil: start at once). It
// starts once the request is claimed across replicas, and not at all when
// another replica has it. An empty key is queued without deduplication or
// claim.
func (in *Intake) Take(key string, answered <-chan struct{}, work Work) error {
	return in.take(key, answered, false, func(ctx context.Context, _ *Claim) bool { return work(ctx) })
}

// TakeBeside is Take for work whose effects are keyed to what they act on
// (a rerun is named after the run it retries), so that two replicas doing
// it make one result. The claim across replicas then leaves the critical
// path: the work starts at once, and the claim is taken when the work first
// asks claim.Won, before what is not keyed so (the reply), which the work
// skips when another replica has the request. Taken then, the claim's write
// does not compete with the work's own: a claim waits until no work taken
// beside its claim is still short of asking (for at most claimYield), so a
// burst of fifty /retests makes its fifty reruns before its fifty claims.
func (in *Intake) TakeBeside(key string, answered <-chan struct{}, work func(ctx context.Context, claim *Claim) (retry bool)) error {
	return in.take(key, answered, true, work)
}

// Claim is whether this process has a request across replicas.
type Claim struct {
	decide func() bool
	once   sync.Once
	won    bool
}

// Won takes the claim, the first time it is asked, and reports whether
// this process has the request.
func (c *Claim) Won() bool {
	c.once.Do(func() { c.won = c.decide() })
	return c.won
}

func (in *Intake) take(key string, answered <-chan struct{}, beside bool, work func(context.Context, *Claim) bool) error {
	if key != "" && !in.Seen.Add(key) {
		return ErrTaken
	}
	err := in.Pool.Submit(func(ctx context.Context) {
		if answered != nil {
			<-answered
		}
		c := &Claim{decide: func() bool { return key == "" || in.claim(ctx, key) }}
		switch {
		case !beside:
			if !c.Won() {
				return
			}
		case key != "" && in.Claims != nil: // a claim to write: it yields
			in.beside.start()
			c.decide = func() bool {
				in.beside.arrive(ctx)
				return in.claim(ctx, key)
			}
		}
		retry := work(ctx, c)
		// The claim is decided by the time the job ends, even if the work
		// never asked; a failure gives it back only if it is ours: a
		// replica that lost it leaves it to the one that won.
		if c.Won() && retry && key != "" {
			in.release(ctx, key)
		}
	})
	if err != nil && key != "" {
		in.Seen.Forget(key)
	}
	return err
}

// claimYield bounds how long a claim waits for the work beside it: under a
// steady stream of /retests, some work is always short of its claim.
const claimYield = time.Second

// claimQueue counts the work started beside its claim that has not yet
// asked for it.
type claimQueue struct {
	mu    sync.Mutex
	ahead int
	// none is closed when ahead falls to 0; made when it rises from 0.
	none chan struct{}
}

func (q *claimQueue) start() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ahead++; q.ahead == 1 {
		q.none = make(chan struct{})
	}
}

// arrive counts one work at its claim and waits until no other is short of
// its own, for at most claimYield.
func (q *claimQueue) arrive(ctx context.Context) {
	q.mu.Lock()
	none := q.none
	if q.ahead--; q.ahead == 0 {
		close(none)
	}
	q.mu.Unlock()
	yield := time.NewTimer(claimYield)
	defer yield.Stop()
	select {
	case <-none:
	case <-yield.C:
	case <-ctx.Done():
	}
}

// claim takes key across replicas. An apiserver failure does not stop the
// work: what it creates has names derived from what it acts on, so the
// worst case is a second answer, not a second PipelineRun. Once the drain's
// deadline has passed (ctx cancelled), though, a claim that cannot be made
// leaves the work undone: the process is going, and work run unclaimed
// then could be run again by a replica taking it over.
func (in *Intake) claim(ctx context.Context, key string) bool {
	if in.Claims == nil {
		return true
	}
	ok, err := in.Claims.Claim(ctx, key)
	switch {
	case err != nil && ctx.Err() != nil:
		in.Log.Error("claiming a request failed after the drain's deadline; it is left unhandled", "key", key, "err", err)
		in.Seen.Forget(key)
		return false
	case err != nil:
		in.Log.WarnContext(ctx, "claiming a request failed; handling it anyway", "key", key, "err", err)
		return true
	case !ok:
		in.Log.InfoContext(ctx, "request already handled elsewhere", "key", key)
	}
	return ok
}

// release gives the claim back, retrying while the apiserver is away: a
// claim left behind would make a retry of this failed request vanish.
func (in *Intake) release(ctx context.Context, key string) {
	in.Seen.Forget(key)
	if in.Claims == nil {
		return
	}
	ctx, cancel := Afterwards(ctx)
	defer cancel()
	delay := 250 * time.Millisecond
	for {
		err := in.Claims.Release(ctx, key)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			in.Log.ErrorContext(ctx, "releasing claim failed; a retry of this request will be ignored until the claim expires", "key", key, "err", err)
			return
		case <-time.After(delay):
			delay = min(2*delay, 5*time.Second)
		}
	}
}

// Afterwards is for what must still happen when a job's context has ended
// (shutdown): telling the user, giving a claim back.
func Afterwards(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}
