package bot

import "context"

// Claimer records which requests have been taken, across replicas and
// restarts (state.Claims keeps them in the apiserver). Claim returns
// false when the key was taken before; Release gives it back so a retry of
// work that failed on our side is not lost.
type Claimer interface {
	Claim(ctx context.Context, key string) (bool, error)
	Release(ctx context.Context, key string) error
}
