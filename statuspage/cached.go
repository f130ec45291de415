package statuspage

import (
	"context"
	"sync"
	"time"
)

// A view never waits on the apiserver once the page has been seen: what it
// shows comes from values read in the background (stale while
// revalidating). A view that finds a value older than its maximum age
// starts one refresh and is answered with what is there; only the first
// view waits, and then at most firstWait. So a busy apiserver, or a
// namespace of twenty thousand runs, slows the refresh and not the page,
// and nothing is read while nobody looks.

const (
	firstWait      = 3 * time.Second
	refreshTimeout = 2 * time.Minute
)

// cached is one value read in the background.
type cached[T any] struct {
	mu         sync.Mutex
	value      *T
	at         time.Time
	refreshing chan struct{}
}

// get returns the value, and starts a refresh with load if it is older
// than maxAge; nil before the first load ends.
func (c *cached[T]) get(ctx context.Context, now time.Time, maxAge time.Duration, load func(context.Context) *T) *T {
	c.mu.Lock()
	value, done := c.value, c.refreshing
	if done == nil && (value == nil || now.Sub(c.at) > maxAge) {
		done = c.start(now, load)
	}
	c.mu.Unlock()
	if value != nil {
		return value
	}
	wait := time.NewTimer(firstWait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.value
}

// refresh loads the value now (or joins the load under way) and waits.
func (c *cached[T]) refresh(now time.Time, load func(context.Context) *T) {
	c.mu.Lock()
	done := c.refreshing
	if done == nil {
		done = c.start(now, load)
	}
	c.mu.Unlock()
	<-done
}

// start runs load in the background; c.mu is held.
func (c *cached[T]) start(now time.Time, load func(context.Context) *T) chan struct{} {
	done := make(chan struct{})
	c.refreshing = done
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), refreshTimeout)
		defer cancel()
		value := load(ctx)
		c.mu.Lock()
		c.value, c.at, c.refreshing = value, now, nil
		c.mu.Unlock()
		close(done)
	}()
	return done
}
