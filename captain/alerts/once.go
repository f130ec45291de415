package alerts

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"tekbot/bot"
)

// once posts each keyed message once across replicas and restarts: the
// claim in the apiserver decides, and this process remembers what it took
// or saw taken so that a resync does not ask the apiserver again.
type once struct {
	mu   sync.Mutex
	done map[string]bool
}

// do runs post unless key was claimed before; a failed post releases the
// claim so that a later attempt retries it.
func (o *once) do(ctx context.Context, claims bot.Claimer, log *slog.Logger, key string, post func() error) error {
	if o.seen(key) {
		return nil
	}
	ok, err := claims.Claim(ctx, key)
	if err != nil {
		return err
	}
	if ok {
		if err := post(); err != nil {
			if rerr := claims.Release(ctx, key); rerr != nil {
				log.Error("releasing a claim after a failed post", "key", key, "err", rerr)
			}
			return fmt.Errorf("%s: %w", key, err)
		}
		log.Info("posted", "key", key)
	}
	o.mark(key)
	return nil
}

// seen reports whether key was done or marked; mark remembers it.
func (o *once) seen(key string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done[key]
}

func (o *once) mark(key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.done == nil {
		o.done = map[string]bool{}
	}
	o.done[key] = true
}

// forget drops what was remembered, once it can no longer matter (a new
// day), so that the memory stays bounded.
func (o *once) forget() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.done = nil
}
