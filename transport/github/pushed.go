package github

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
	"tekbot/mergequeue"
)

// Pushes keeps what follows a PR's head onto a new push (handlers.Deps):
// a hold's blocking check.
type Pushes interface {
	PullRequestPushed(ctx context.Context, pr *bot.PullRequest) error
}

// Queue moves a PR in or out of GitHub's merge queue when it changes
// (mergequeue.Bridge).
type Queue interface {
	Sync(ctx context.Context, repo string, number int) (mergequeue.Action, error)
}

// queueActions are the pull_request actions that may move a PR in or out
// of the merge queue: its labels, its head, its state.
var queueActions = []string{"labeled", "unlabeled", "synchronize", "reopened", "ready_for_review"}

// decodeChanged keeps a pull_request event that changes the PR's labels or
// head ("synchronize": a push to the head branch, a fork's too: the head
// is read from the signed payload, never from the fork's branch name).
func (r *Receiver) decodeChanged(e *gh.PullRequestEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	p := e.GetPullRequest()
	action := e.GetAction()
	follows := action == "synchronize" && r.Pushes != nil
	switch {
	case !follows && (r.Queue == nil || !slices.Contains(queueActions, action)):
		return nil, "pull request " + action, nil
	case p == nil || p.GetNumber() == 0 || p.GetHead().GetSHA() == "":
		return nil, "", fmt.Errorf("pull_request event without a pull request head")
	case r.Config.Repository(repo) == nil:
		return nil, "repository " + repo + " is not configured", nil
	case !follows && r.Config.Repository(repo).MergeQueue == nil:
		// Nothing to sync: no claim is written for it.
		return nil, "repository " + repo + " has no mergeQueue", nil
	}
	pr := &bot.PullRequest{
		Repository: repo, Number: p.GetNumber(), HeadSHA: p.GetHead().GetSHA(), Author: p.GetUser().GetLogin(),
		URL: p.GetHTMLURL(), Open: p.GetState() == "open", BaseBranch: p.GetBase().GetRef(),
	}
	d := &delivery{
		// Following a push is keyed to the commit pushed, a label change
		// to its label and time: redelivered, either is done once.
		key:  fmt.Sprintf("github-pr/%s/%d/%s/%s/%s", repo, pr.Number, action, pr.HeadSHA, e.GetLabel().GetName()),
		repo: repo, number: pr.Number, login: e.GetSender().GetLogin(),
		changed: pr,
	}
	if action != "synchronize" {
		d.key += "/" + p.GetUpdatedAt().UTC().Format("20060102T150405")
	}
	d.pushed = follows
	return d, "", nil
}

// processChanged re-posts what must follow a new head and syncs the merge
// queue, once across replicas and redeliveries. It reports whether that
// failed, so that a redelivery tries again.
func (r *Receiver) processChanged(ctx context.Context, log *slog.Logger, d *delivery, claim *bot.Claim) (retry bool) {
	if claim != nil && !claim.Won() {
		log.Info("delivery handled by another replica")
		return false
	}
	var errs []error
	if d.pushed {
		errs = append(errs, r.Pushes.PullRequestPushed(ctx, d.changed))
	}
	if r.Queue != nil {
		a, err := r.Queue.Sync(ctx, d.repo, d.number)
		if a != mergequeue.Nothing {
			log.Info("merge queue", "action", a, "pr", d.number)
		}
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		log.Error("following a pull request change failed", "pr", d.number, "err", err)
		return true
	}
	return false
}
