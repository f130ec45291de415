package statuspage

import (
	"context"
	"time"

	"tekbot/flakes"
)

// Flakes lists the pipelines and tasks that flaked most (flakes.Reader).
type Flakes interface {
	Flakiest(ctx context.Context, now time.Time, d time.Duration, limit int) ([]flakes.Flake, error)
}

// shownFlakes bounds the flakes section.
const shownFlakes = 20

// flakesView is the flakes section: the window's flakiest pipelines and
// tasks, from the outcome history.
type flakesView struct {
	Err  bool
	List []flakes.Flake
}

func (p *Page) loadFlakes(ctx context.Context, s *storesSnapshot, now time.Time) {
	var err error
	s.flakes, err = p.Flakes.Flakiest(ctx, now, flakes.Window, shownFlakes)
	s.flakesErr = p.failed("the outcome history", err)
}
