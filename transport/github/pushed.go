package github

import (
	"context"
	"fmt"
	"log/slog"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
)

// Pushes keeps what follows a PR's head onto a new push (handlers.Deps):
// a hold's blocking check.
type Pushes interface {
	PullRequestPushed(ctx context.Context, pr *bot.PullRequest) error
}

// decodePushed keeps a pull_request "synchronize" event: a push to the
// PR's head branch (a fork's too: the head is read from the signed
// payload, never from the fork's branch name).
func (r *Receiver) decodePushed(e *gh.PullRequestEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	p := e.GetPullRequest()
	switch {
	case r.Pushes == nil:
		return nil, "nothing follows pushes", nil
	case p == nil || p.GetNumber() == 0 || p.GetHead().GetSHA() == "":
		return nil, "", fmt.Errorf("pull_request event without a pull request head")
	case r.Config.Repository(repo) == nil:
		return nil, "repository " + repo + " is not configured", nil
	}
	pr := &bot.PullRequest{
		Repository: repo, Number: p.GetNumber(), HeadSHA: p.GetHead().GetSHA(), Author: p.GetUser().GetLogin(),
		URL: p.GetHTMLURL(), Open: p.GetState() == "open", BaseBranch: p.GetBase().GetRef(),
	}
	return &delivery{
		// What follows a push is keyed to the commit pushed: redelivered,
		// it is done once.
		key:  fmt.Sprintf("github-push/%s/%d/%s", repo, pr.Number, pr.HeadSHA),
		repo: repo, number: pr.Number, login: e.GetSender().GetLogin(),
		pushed: pr,
	}, "", nil
}

// processPushed re-posts what must follow the new head, once across
// replicas and redeliveries. It reports whether that failed, so that a
// redelivery tries again.
func (r *Receiver) processPushed(ctx context.Context, log *slog.Logger, d *delivery, claim *bot.Claim) (retry bool) {
	if claim != nil && !claim.Won() {
		log.Info("delivery handled by another replica")
		return false
	}
	if err := r.Pushes.PullRequestPushed(ctx, d.pushed); err != nil {
		log.Error("following a push failed", "pr", d.number, "err", err)
		return true
	}
	return false
}
