package githubtest

import (
	"context"
	"errors"
	"time"

	"tekbot/bot"
)

// TakenElsewhere is a claim store for which every request was taken by
// another replica: work that gets through the acknowledgement is dropped
// at once (the fuzz targets of both transports and figure 1 use it).
type TakenElsewhere struct{}

func (TakenElsewhere) Claim(context.Context, string) (bool, error) { return false, nil }
func (TakenElsewhere) Release(context.Context, string) error       { return nil }
func (TakenElsewhere) ClaimEvery(context.Context, string, time.Duration, time.Time) (bool, error) {
	return false, nil
}

// Away is a GitHub API that fails every call at once. With TakenElsewhere
// it ends a receiver's work as soon as it starts, even for commands that
// run beside their claim, so that a harness spends its time on ingest
// (verifying, decoding, parsing, queueing) and not on the calls the
// end-to-end tests cover.
type Away struct{}

var errAway = errors.New("github is away")

func (Away) Get(context.Context, string, int) (*bot.PullRequest, error) { return nil, errAway }
func (Away) React(context.Context, string, int64, string) error         { return errAway }
func (Away) Comment(context.Context, string, int, string) error         { return errAway }
func (Away) CanWrite(context.Context, string, string) (bool, error)     { return false, errAway }
func (Away) InTeam(context.Context, string, string) (bool, error)       { return false, errAway }
