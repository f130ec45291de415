package state

import (
	"context"
	"time"
)

// LabelHold marks the ConfigMaps that record /hold.
const LabelHold = "tekbot.dev/hold"

// Holds records the PRs held with /hold, one ConfigMap per (repository,
// PR). The record, not the do-not-merge/hold label anyone with triage
// rights can remove, says who held and why: it decides who may unhold and
// puts the hold back on every new head.
type Holds struct {
	ConfigMaps ConfigMaps
}

// Hold is one held PR.
type Hold struct {
	Repository string `json:"repository"`
	Number     int    `json:"pullRequest"`
	// Login is who held it, on GitHub; Person their config name, if any.
	Login  string    `json:"login"`
	Person string    `json:"person,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Expires is when the hold lapses by itself; zero holds until /unhold.
	Expires time.Time `json:"expires,omitzero"`
	// Reminded is set once the reminder before Expires was posted.
	Reminded bool `json:"reminded,omitempty"`
}

func (s *Holds) records() prRecords[Hold] {
	return prRecords[Hold]{cms: s.ConfigMaps, what: "the hold", prefix: "tekbot-hold-", label: LabelHold}
}

// Get returns the hold on repo#number, or nil.
func (s *Holds) Get(ctx context.Context, repo string, number int) (*Hold, error) {
	return s.records().get(ctx, repo, number)
}

// Put records h, replacing any hold on its PR.
func (s *Holds) Put(ctx context.Context, h Hold) error {
	return s.records().put(ctx, h.Repository, h.Number, h)
}

// Delete lifts the hold on repo#number; lifting no hold is not an error.
func (s *Holds) Delete(ctx context.Context, repo string, number int) error {
	return s.records().delete(ctx, repo, number)
}

// List returns every hold.
func (s *Holds) List(ctx context.Context) ([]Hold, error) { return s.records().list(ctx) }
