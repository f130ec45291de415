package state

import (
	"context"
	"time"
)

// LabelEnqueued marks the ConfigMaps that record tekbot's merge queue
// entries.
const LabelEnqueued = "tekbot.dev/enqueued"

// Enqueued records the PRs tekbot put in GitHub's merge queue, one
// ConfigMap per (repository, PR): tekbot takes out of the queue only what
// it put there, never a person's entry, and two replicas meeting one PR
// enqueue it once.
type Enqueued struct {
	ConfigMaps ConfigMaps
}

// Entry is one PR tekbot enqueued, at the head it pinned.
type Entry struct {
	Repository string    `json:"repository"`
	Number     int       `json:"pullRequest"`
	HeadSHA    string    `json:"head"`
	At         time.Time `json:"at"`
}

func (s *Enqueued) records() prRecords[Entry] {
	return prRecords[Entry]{cms: s.ConfigMaps, what: "the merge queue entry", prefix: "tekbot-enqueued-", label: LabelEnqueued}
}

// Get returns tekbot's entry for repo#number, or nil.
func (s *Enqueued) Get(ctx context.Context, repo string, number int) (*Entry, error) {
	return s.records().get(ctx, repo, number)
}

// Add records e unless the PR has an entry: added is false then.
func (s *Enqueued) Add(ctx context.Context, e Entry) (added bool, err error) {
	return s.records().add(ctx, e.Repository, e.Number, e)
}

// Delete forgets the PR's entry; forgetting none is not an error.
func (s *Enqueued) Delete(ctx context.Context, repo string, number int) error {
	return s.records().delete(ctx, repo, number)
}

// List returns every entry tekbot made.
func (s *Enqueued) List(ctx context.Context) ([]Entry, error) { return s.records().list(ctx) }
