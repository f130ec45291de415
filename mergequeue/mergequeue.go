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
	// MergeAt merges through REST only while the PR's head is headSHA
	// and GitHub calls it clean; else it fails with ErrNotClean.
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
	return b.sync(ctx, repo, number, false)
}

// Pushed syncs a PR whose head just moved: it never enqueues or merges,
// since the labels that admit it (lgtm, approved) were given to the old
// head and nobody has yet had the time to take them off; it only takes
// tekbot's entry of an older head out of the queue. The next label
// change, /unhold or resync decides on the new head.
func (b *Bridge) Pushed(ctx context.Context, repo string, number int) (Action, error) {
	return b.sync(ctx, repo, number, true)
}

func (b *Bridge) sync(ctx context.Context, repo string, number int, pushed bool) (Action, error) {
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
	// An entry at the PR's head, younger than entryGrace, with the PR not
	// (yet) in the queue is another replica between recording it and
	// enqueueing: dropping it would lose tekbot's record of the entry.
	dropped := entry != nil && !pr.InQueue && (entry.HeadSHA != pr.HeadSHA || b.now().Sub(entry.At) > entryGrace)
	switch {
	case !pr.Open || dropped:
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
		return b.sync(ctx, repo, number, pushed)
	case entry != nil && !pr.InQueue:
		return Nothing, nil
	case pushed:
		if pr.InQueue && entry != nil && entry.HeadSHA != pr.HeadSHA {
			return b.dequeue(ctx, repo, number, pr, "pushed")
		}
		return Nothing, nil
	case admits && pr.InQueue:
		return Nothing, nil
	case admits && pr.QueueEnabled:
		return b.enqueue(ctx, repo, number, pr)
	case admits:
		err := b.GitHub.MergeAt(ctx, repo, number, pr.HeadSHA, rc.MergeQueue.MethodOrDefault())
		if errors.Is(err, ErrNotClean) {
			// Labels are not enough: GitHub's verdict on the required
			// checks and reviews is. A later event or the resync retries.
			b.logger().InfoContext(ctx, "not merged: GitHub does not call it clean", "repo", repo, "pr", number, "err", err)
			return Nothing, nil
		}
		if err != nil {
			return Nothing, err
		}
		b.audit(ctx, repo, number, pr.HeadSHA, Merged)
		return Merged, nil
	case pr.InQueue && entry != nil:
		return b.dequeue(ctx, repo, number, pr, why)
	}
	return Nothing, nil
}

// Forget drops tekbot's entry of a PR that closed: merged or closed, it
// left the queue, and the record would otherwise stay for ever.
func (b *Bridge) Forget(ctx context.Context, repo string, number int) error {
	return b.Entries.Delete(ctx, repo, number)
}

// ErrNotClean is MergeAt's refusal to merge a PR whose mergeable_state at
// the pinned head is not "clean" (required checks and reviews pass).
var ErrNotClean = errors.New("the pull request is not clean at this head")

// dequeue takes tekbot's entry out of the queue, then forgets it.
func (b *Bridge) dequeue(ctx context.Context, repo string, number int, pr *PullRequest, why string) (Action, error) {
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

// entryGrace is how long an entry at the PR's head may stand while the PR
// is not in the queue before it counts as dropped by GitHub: far longer
// than one enqueue takes, far shorter than the resync's period.
const entryGrace = 2 * time.Minute

// enqueue records tekbot's entry, once across replicas, then enqueues.
func (b *Bridge) enqueue(ctx context.Context, repo string, number int, pr *PullRequest) (Action, error) {
	added, err := b.Entries.Add(ctx, state.Entry{Repository: repo, Number: number, HeadSHA: pr.HeadSHA, At: b.now()})
	if err != nil || !added {
		return Nothing, err
	}
	if err := b.GitHub.Enqueue(ctx, pr.ID, pr.HeadSHA); err != nil {
		// The enqueue may have happened all the same (an answer lost on
		// the way back): the entry stays while the PR is in the queue.
		// Not in the queue, it must not stop the next try.
		if now, rerr := b.GitHub.QueueState(ctx, repo, number); rerr == nil && now.InQueue {
			b.logger().WarnContext(ctx, "enqueue failed, but the PR is in the queue: keeping the entry", "repo", repo, "pr", number, "err", err)
			return Nothing, nil
		}
		return Nothing, errors.Join(err, b.Entries.Delete(ctx, repo, number))
	}
	b.audit(ctx, repo, number, pr.HeadSHA, Enqueued)
	return Enqueued, nil
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
