package handoff

import (
	"context"
	"fmt"
	"strings"
	"time"

	"tekbot/bot"
	"tekbot/flakes"
)

// Flakes lists the pipelines and tasks that flaked most (flakes.Reader).
type Flakes interface {
	Flakiest(ctx context.Context, now time.Time, d time.Duration, limit int) ([]flakes.Flake, error)
}

// week is what the handoff's flakiest list looks back on.
const week = 7 * 24 * time.Hour

// maxFlakes keeps the list to what a captain reads in the morning.
const maxFlakes = 5

// flakiest lists the week's flakiest pipelines and tasks: where a retest
// is being spent, and which tests deserve a fix before they cost more.
// Repository, pipeline and task names come from labels whoever creates a
// run writes: shown as code.
func (j *Job) flakiest(ctx context.Context, b *strings.Builder, now time.Time) {
	if j.Flakes == nil {
		return
	}
	fs, err := j.Flakes.Flakiest(ctx, now, week, maxFlakes)
	if err != nil {
		j.Log.Error("handoff: reading the outcome history", "err", err)
		b.WriteString("(The week's flakes could not be read; see tekbot's log.)\n")
		return
	}
	if len(fs) == 0 {
		return
	}
	b.WriteString("Flakiest this week (failed, then passed on the same commit):\n")
	for _, f := range fs {
		what := bot.Code(f.Repo) + " " + bot.Code(f.Pipeline)
		if f.Task != "" {
			what += ", task " + bot.Code(f.Task)
		}
		fmt.Fprintf(b, "• %s: %s\n", what, flakeTimes(f.Count))
	}
}

func flakeTimes(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}
