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
	o.mu.Lock()
	seen := o.done[key]
	o.mu.Unlock()
	if seen {
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
	o.mu.Lock()
	if o.done == nil {
		o.done = map[string]bool{}
	}
	o.done[key] = true
	o.mu.Unlock()
	return nil
}
