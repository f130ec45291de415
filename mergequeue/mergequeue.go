// Package mergequeue is tekbot's bridge to GitHub's merge queue, in place
// of Prow's Tide: a PR that meets its repository's mergeQueue (required
// labels, no blocking label, no hold) is enqueued with its head pinned, or
// merged through REST pinned to its head on a branch without a queue; an
// entry tekbot made is dequeued once the PR stops meeting it. A person's
// entry is never touched.
package mergequeue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/state"
)

// PullRequest is what the bridge decides on, read from GitHub at once.
type PullRequest struct {
	// ID is the PR's GraphQL node ID, which the queue's mutations take.
	ID      string
	HeadSHA string
	Open    bool
	Labels  []string
	// QueueEnabled: its base branch requires GitHub's merge queue.
	QueueEnabled bool
	// InQueue: the PR is in the queue, whoever put it there.
	InQueue bool
}

// GitHub is what the bridge asks of GitHub (transport/github's API).
type GitHub interface {
	QueueState(ctx context.Context, repo string, number int) (*PullRequest, error)
	// Enqueue adds the PR to the queue only while its head is headSHA.
	Enqueue(ctx context.Context, prID, headSHA string) error
	Dequeue(ctx context.Context, prID string) error
	// OpenPullRequests lists a repository's open PRs, a bounded number.
	OpenPullRequests(ctx context.Context, repo string) ([]int, error)
	// MergeAt merges through REST only while the PR's head is headSHA.
	MergeAt(ctx context.Context, repo string, number int, headSHA string, method config.MergeMethod) error
}

// Entries keeps the entries tekbot made (state.Enqueued).
type Entries interface {
	Get(ctx context.Context, repo string, number int) (*state.Entry, error)
	Add(ctx context.Context, e state.Entry) (bool, error)
	Delete(ctx context.Context, repo string, number int) error
}

// Holds tells whether a PR is held (state.Holds): the record tekbot wrote,
// not the label anyone with triage rights can remove.
type Holds interface {
	Get(ctx context.Context, repo string, number int) (*state.Hold, error)
}

// Bridge keeps GitHub's merge queue in step with the repositories' rules.
type Bridge struct {
	Config  *config.Config
	GitHub  GitHub
	Entries Entries
	// Holds nil: only the do-not-merge/hold label (a block glob) holds.
	Holds Holds
	Audit bot.Auditor
	Log   *slog.Logger
	Now   func() time.Time
}

// Action is what Sync did.
type Action string

// What Sync may do.
const (
	Nothing  Action = ""
	Enqueued Action = "enqueue"
	Dequeued Action = "dequeue"
	Merged   Action = "merge"
)

// Sync looks at one PR and acts: enqueue, merge, dequeue or nothing. It
// is safe to call for any event about the PR, on any replica, as often as
// events come: an entry is made once (state.Enqueued), an enqueue or a
// merge is pinned to the head read, and GitHub refuses a stale one.
func (b *Bridge) Sync(ctx context.Context, repo string, number int) (Action, error) {
	rc := b.Config.Repository(repo)
	if rc == nil || rc.MergeQueue == nil {
		return Nothing, nil
	}
	pr, err := b.GitHub.QueueState(ctx, repo, number)
	if err != nil {
		return Nothing, err
	}
	entry, err := b.Entries.Get(ctx, repo, number)
	if err != nil {
		return Nothing, err
	}
	admits, why := rc.MergeQueue.Admits(pr.Labels)
	if admits && b.Holds != nil {
		hold, err := b.Holds.Get(ctx, repo, number)
		if err != nil {
			return Nothing, err
		}
		if hold != nil {
			admits, why = false, "held by @"+hold.Login
		}
	}
	switch {
	case !pr.Open || (!pr.InQueue && entry != nil):
		// Merged, closed, or out of the queue by GitHub's hand (a push,
		// a failed group): the entry is history.
		if entry != nil {
			if err := b.Entries.Delete(ctx, repo, number); err != nil {
				return Nothing, err
			}
		}
		if !pr.Open {
			return Nothing, nil
		}
		return b.Sync(ctx, repo, number)
	case admits && pr.InQueue:
		return Nothing, nil
	case admits && pr.QueueEnabled:
		added, err := b.Entries.Add(ctx, state.Entry{Repository: repo, Number: number, HeadSHA: pr.HeadSHA, At: b.now()})
		if err != nil || !added {
			return Nothing, err
		}
		if err := b.GitHub.Enqueue(ctx, pr.ID, pr.HeadSHA); err != nil {
			// Not in the queue: the entry must not stop the next try.
			return Nothing, errors.Join(err, b.Entries.Delete(ctx, repo, number))
		}
		b.audit(ctx, repo, number, pr.HeadSHA, Enqueued)
		return Enqueued, nil
	case admits:
		if err := b.GitHub.MergeAt(ctx, repo, number, pr.HeadSHA, rc.MergeQueue.MethodOrDefault()); err != nil {
			return Nothing, err
		}
		b.audit(ctx, repo, number, pr.HeadSHA, Merged)
		return Merged, nil
	case pr.InQueue && entry != nil:
		if err := b.GitHub.Dequeue(ctx, pr.ID); err != nil {
			return Nothing, err
		}
		if err := b.Entries.Delete(ctx, repo, number); err != nil {
			return Dequeued, err
		}
		b.logger().InfoContext(ctx, "dequeued", "repo", repo, "pr", number, "why", why)
		b.audit(ctx, repo, number, pr.HeadSHA, Dequeued)
		return Dequeued, nil
	}
	return Nothing, nil
}

func (b *Bridge) audit(ctx context.Context, repo string, number int, sha string, a Action) {
	if b.Audit == nil {
		return
	}
	target := fmt.Sprintf("%s#%d@%s", repo, number, sha)
	b.Audit.Record(ctx, bot.Record{
		Time: b.now(), RequestID: "merge-queue/" + string(a) + "/" + target, Transport: bot.Itself, CallerID: "tekbot",
		Verb: "merge-queue", Args: []string{string(a)}, Targets: []string{target}, Outcome: bot.Done,
	})
}

func (b *Bridge) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

func (b *Bridge) logger() *slog.Logger {
	if b.Log != nil {
		return b.Log
	}
	return slog.Default()
}

// Resync syncs every open PR of every repository with a mergeQueue, so an
// event GitHub did not deliver (it never redelivers) is caught. Errors are
// logged; one PR's failure does not stop the others.
func (b *Bridge) Resync(ctx context.Context) {
	for _, rc := range b.Config.GitHub.Repositories {
		if rc.MergeQueue == nil {
			continue
		}
		numbers, err := b.GitHub.OpenPullRequests(ctx, rc.Name)
		if err != nil {
			b.logger().WarnContext(ctx, "merge queue resync: listing open pull requests", "repo", rc.Name, "err", err)
			continue
		}
		for _, n := range numbers {
			if a, err := b.Sync(ctx, rc.Name, n); err != nil {
				b.logger().WarnContext(ctx, "merge queue resync", "repo", rc.Name, "pr", n, "err", err)
			} else if a != Nothing {
				b.logger().InfoContext(ctx, "merge queue resync acted", "repo", rc.Name, "pr", n, "action", a)
			}
		}
	}
}
