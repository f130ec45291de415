package promotion

import (
	"context"
	"fmt"
	"tekbot/bot"
	"time"
)

// GitOps to the end. Under autoMerge tekbot merges its own promotion PR
// once GitHub says it would (mergeable, required checks green, required
// reviews given: branch protection stays the judge of "approved"), then
// the promotion ends like a merge by hand, and verification follows the
// version into the cluster. Its own PR is the one from its branch into
// the base it started from, whose head is the commit tekbot wrote and
// recorded: a commit anyone else pushed there stops the promotion, said
// in its thread. That commit is pinned in the merge, so a push after the
// check makes GitHub refuse rather than merge unseen code.

// prPoll is how often an open promotion PR is read.
const prPoll = 30 * time.Second

func (e *Engine) followLater(id string) { e.later("following the pull request", id, e.Follow) }

// Follow reads promotion id's pull request until it is merged or closed,
// merging it when it is ready. It returns at once unless id is a running
// gitops promotion of an environment with autoMerge.
func (e *Engine) Follow(ctx context.Context, id string) error {
	for {
		book, err := e.read(ctx)
		if err != nil {
			return err
		}
		p := book.find(id)
		if p == nil || p.State != Running || p.PullRequest == 0 || e.Repos == nil {
			return nil
		}
		if env, err := e.Environment(p.Environment); err != nil || !env.AutoMerge {
			return nil
		}
		done, err := e.mergeIfReady(ctx, p)
		if err != nil && ctx.Err() == nil {
			// GitHub will answer again; the next poll retries.
			e.log().WarnContext(ctx, "promotion: following the pull request", "promotion", id, "err", err)
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-e.clock().After(prPoll):
		}
	}
}

// mergeIfReady merges p's PR if GitHub would; done is true when the PR
// has ended (merged by anyone, or closed) and p with it.
func (e *Engine) mergeIfReady(ctx context.Context, p *Promotion) (done bool, err error) {
	st, err := e.Repos.PullRequestStatus(ctx, p.Repository, p.PullRequest)
	switch {
	case err != nil:
		return false, err
	case st.Merged || st.Closed:
		return true, e.PullRequestClosed(ctx, p.Repository, p.PullRequest, st.Merged)
	}
	// Checked before readiness, so that a foreign push is reported at
	// once, even while a review is pending.
	// A promotion opened before tekbot recorded its commit has nothing
	// to compare with: it is merged as it was then, at the head checked
	// ready, rather than stopped at its next poll after the upgrade.
	head := p.Commit
	if p.madeBeforeNonces() && p.Commit == "" {
		head = st.Head
	} else if why := ownPR(p, p.PullRequest, st); why != "" {
		return true, e.disown(ctx, p.ID, why)
	}
	if !st.Ready {
		return false, nil
	}
	title := fmt.Sprintf("Promote %s %s to %s (#%d)", p.Project, p.Version, p.Environment, p.PullRequest)
	if err := e.Repos.Merge(ctx, p.Repository, p.PullRequest, head, title); err != nil {
		e.audited(ctx, p.ID+"/merge", "merge", bot.Failed, p)
		return false, err
	}
	e.audited(ctx, p.ID+"/merge", "merge", bot.Done, p)
	e.log().InfoContext(ctx, "promotion: merged its pull request", "promotion", p.ID, "pr", p.Target(), "head", st.Head)
	return true, e.PullRequestClosed(ctx, p.Repository, p.PullRequest, true)
}
