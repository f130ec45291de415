package github

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
)

// Closes runs or drops what waits for a PR to merge (handlers.Deps): the
// commands that run on merged PRs, asked while it was open.
type Closes interface {
	PullRequestClosed(ctx context.Context, requestID string, pr *bot.PullRequest) []bot.Reply
}

// decodeClosed keeps a pull_request "closed" event: a merge, whose signed
// payload carries the merge commit, or a close without merging. Whoever
// closed it does not matter (merges are often a bot's): what runs was
// authorised when it was asked.
func (r *Receiver) decodeClosed(e *gh.PullRequestEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	p := e.GetPullRequest()
	switch {
	case r.Closed == nil:
		return nil, "nothing waits for pull requests to close", nil
	case e.GetAction() != "closed":
		return nil, "pull request " + e.GetAction(), nil
	case p == nil || p.GetNumber() == 0:
		return nil, "", fmt.Errorf("pull_request event without a pull request")
	case r.Config.Repository(repo) == nil:
		return nil, "repository " + repo + " is not configured", nil
	}
	pr := &bot.PullRequest{
		Repository: repo, Number: p.GetNumber(), HeadSHA: p.GetHead().GetSHA(), Author: p.GetUser().GetLogin(),
		URL: p.GetHTMLURL(), Merged: p.GetMerged(), BaseBranch: p.GetBase().GetRef(),
	}
	for _, l := range p.Labels {
		pr.Labels = append(pr.Labels, l.GetName())
	}
	if pr.Merged {
		pr.MergeCommitSHA = p.GetMergeCommitSHA()
	}
	// An old close replayed after the PR was reopened would drop what was
	// queued since.
	if why := r.stale("pull request close", repo, p.GetID(), p.GetClosedAt().Time, ChangeWindow); why != "" {
		return nil, why, nil
	}
	return &delivery{
		// A PR closed without merging may be reopened and closed again: a
		// later close is a new event.
		key:  fmt.Sprintf("%s%s/%d/closed/%s", closedKeyPrefix, repo, pr.Number, p.GetClosedAt().UTC().Format("20060102T150405")),
		repo: repo, number: pr.Number, login: e.GetSender().GetLogin(),
		closed: pr,
	}, "", nil
}

// processClosed runs or drops the commands queued on the closed PR, once
// across replicas and redeliveries, and posts their replies in one comment.
func (r *Receiver) processClosed(ctx context.Context, log *slog.Logger, d *delivery, claim *bot.Claim) (retry bool) {
	if claim != nil && !claim.Won() {
		log.Info("delivery handled by another replica")
		return false
	}
	var parts []string
	for _, reply := range r.Closed.PullRequestClosed(ctx, d.id, d.closed) {
		retry = retry || reply.Outcome == bot.Failed
		if reply.Text != "" {
			parts = append(parts, reply.Text)
		}
	}
	if len(parts) > 0 {
		r.reply(ctx, log, d, strings.Join(parts, "\n\n"))
	}
	return retry
}
