package github

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
	"tekbot/config"
)

// CommitPulls finds the pull requests a commit belongs to. GitHub sends
// check_suite and check_run events with an empty pull_requests list when
// the PR comes from a fork (nearly every PR to an open-source project), so
// a re-run button there names only the commit.
type CommitPulls interface {
	// PullRequestsOf returns the numbers of repo's pull requests that
	// hold sha; none is not an error.
	PullRequestsOf(ctx context.Context, repo, sha string) ([]int, error)
}

// decodeCheckSuite turns GitHub's "Re-run all checks" and "Re-run failed
// checks" buttons (check_suite rerequested) into "/retest" on the suite's
// commit: its failed, timed-out or cancelled runs are rerun, the rest are
// left alone, whichever button was pressed (Pipelines-as-Code reruns
// everything for both, its #1227). Whoever pressed it must be allowed to
// /retest, as if they had commented it.
func (r *Receiver) decodeCheckSuite(e *gh.CheckSuiteEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	suite := e.GetCheckSuite()
	if why := r.notAPress("check suite", e.GetAction(), repo, e.GetSender()); why != "" {
		return nil, why, nil
	}
	if why := r.stale("check suite", repo, suite.GetID(), suite.GetUpdatedAt().Time, ChangeWindow); why != "" {
		return nil, why, nil
	}
	return &delivery{
		key:  pressKey("suite", repo, suite.GetID(), suite.GetUpdatedAt().Time),
		repo: repo, number: firstNumber(suite.PullRequests), login: e.GetSender().GetLogin(),
		sha:      suite.GetHeadSHA(),
		commands: []bot.Command{{Verb: "retest", Args: []string{}}},
	}, "", nil
}

// decodeCheckRun turns GitHub's "Re-run" button into "/test <name>" on the
// check run's commit, where the check run's name is the pipeline's
// (Pipelines-as-Code names check runs "<repository> / <pipeline>").
func (r *Receiver) decodeCheckRun(e *gh.CheckRunEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	run := e.GetCheckRun()
	if why := r.notAPress("check run", e.GetAction(), repo, e.GetSender()); why != "" {
		return nil, why, nil
	}
	updated := run.GetCheckSuite().GetUpdatedAt().Time
	if why := r.stale("check run", repo, run.GetID(), updated, ChangeWindow); why != "" {
		return nil, why, nil
	}
	name := run.GetName()
	if i := strings.LastIndex(name, " / "); i >= 0 {
		name = name[i+3:]
	}
	return &delivery{
		key:  pressKey("run", repo, run.GetID(), updated),
		repo: repo, number: firstNumber(run.PullRequests), login: e.GetSender().GetLogin(),
		sha:      run.GetHeadSHA(),
		commands: []bot.Command{{Verb: "test", Args: []string{name}}},
	}, "", nil
}

// ChangeWindow is how long after GitHub last changed a check suite, or
// closed a PR, a delivery about it is acted on. A check event carries no
// time of the press: GitHub's example deliveries show the suite as it was
// before the press (completed, updated_at when it completed), so
// updated_at dates the suite's last change, not the press, and pressing
// "Re-run" on checks that failed hours or days ago is ordinary; a close is
// redelivered by hand, maybe after an outage. A month without change means
// a replay. Replays within the window meet the claim, kept beyond it
// (ClaimRetention).
const ChangeWindow = 30 * 24 * time.Hour

// Claim keys of what ChangeWindow dates begin with these.
const (
	pressKeyPrefix  = "github-check-"
	closedKeyPrefix = "github-pull-request/"
)

// pressKey names a press of a suite's or a run's button by the suite's
// last change: a rerun changes the suite (its new check runs), so a later
// press is a new request, while the same press delivered again is not.
func pressKey(kind, repo string, id int64, updated time.Time) string {
	return fmt.Sprintf("%s%s/%s/%d/rerequested/%s", pressKeyPrefix, kind, repo, id, updated.UTC().Format("20060102T150405"))
}

// ClaimRetention is how long the claim on key is kept: a day at least,
// and beyond the window in which what it guards is still acted on (a
// press's or a close's ChangeWindow; a comment's comment window, doubled,
// with the hourly expiry's lag), so a replay inside the window meets it.
func ClaimRetention(key string, g config.GitHub) time.Duration {
	if strings.HasPrefix(key, pressKeyPrefix) || strings.HasPrefix(key, closedKeyPrefix) {
		return ChangeWindow + 24*time.Hour
	}
	return max(24*time.Hour, 2*g.MaxCommentAge()+time.Hour)
}

// notAPress says why a check event is not a re-run button pressed by a
// person on a configured repository, or "" if it is one.
func (r *Receiver) notAPress(what, action, repo string, sender *gh.User) string {
	switch {
	case action != "rerequested":
		return what + " " + action
	case r.Config.Repository(repo) == nil:
		return "repository " + repo + " is not configured"
	case r.isBot(sender):
		return "re-run by a bot"
	}
	return ""
}

// firstNumber is the number of the first PR listed, or 0 when GitHub lists
// none (a fork's PR).
func firstNumber(prs []*gh.PullRequest) int {
	if len(prs) == 0 {
		return 0
	}
	return prs[0].GetNumber()
}

// stale says why something GitHub dated at t is ignored, or "" if it is
// within window: an older delivery is a replay, or a redelivery of
// something long past, and is not acted on again. Claims outlive the
// window (ClaimRetention), so nothing inside it is acted on twice.
func (r *Receiver) stale(what, repo string, id int64, t time.Time, window time.Duration) string {
	if r.now().Sub(t) <= window {
		return ""
	}
	r.Log.Info("github "+what+" ignored: older than its window", "repository", repo, "id", id, "dated", t, "window", window)
	return fmt.Sprintf("%s is older than %s", what, window)
}

// findPullRequest sets d.number to the one PR its commit belongs to,
// asking each of r.Commits in turn (tekbot's run index first, then
// GitHub). It reports false, with a log line, when there is not exactly
// one: nothing is done and nobody is told, as nobody wrote anything.
func (r *Receiver) findPullRequest(ctx context.Context, log *slog.Logger, d *delivery) bool {
	if d.sha == "" {
		log.Info("re-run ignored: GitHub named neither a pull request nor a commit")
		return false
	}
	for _, c := range r.Commits {
		numbers, err := c.PullRequestsOf(ctx, d.repo, d.sha)
		if err != nil {
			log.Warn("finding the pull request of a commit failed", "sha", d.sha, "err", err)
			continue
		}
		slices.Sort(numbers)
		switch numbers = slices.Compact(numbers); len(numbers) {
		case 0:
			continue
		case 1:
			d.number = numbers[0]
			return true
		default:
			log.Info("re-run ignored: the commit belongs to several pull requests", "sha", d.sha, "pulls", numbers)
			return false
		}
	}
	log.Info("re-run ignored: no pull request found for the commit", "sha", d.sha)
	return false
}

// PullRequestsOf lists repo's open pull requests that hold sha, from
// GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls. GitHub may leave
// out a fork's PR whose commit is not in the repository yet, so tekbot's
// run index is asked first.
func (a *API) PullRequestsOf(ctx context.Context, repo, sha string) ([]int, error) {
	owner, name := splitRepo(repo)
	prs, resp, err := retryGet(ctx, func() ([]*gh.PullRequest, *gh.Response, error) {
		return a.client.PullRequests.ListPullRequestsWithCommit(ctx, owner, name, sha, &gh.ListOptions{PerPage: 100})
	})
	if err := a.counted(resp, err); err != nil {
		return nil, fmt.Errorf("listing the pull requests of %s@%s: %w", repo, sha, err)
	}
	var numbers []int
	for _, pr := range prs {
		if pr.GetState() == "open" && strings.EqualFold(pr.GetBase().GetRepo().GetFullName(), repo) {
			numbers = append(numbers, pr.GetNumber())
		}
	}
	return numbers, nil
}
