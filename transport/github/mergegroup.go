package github

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
	"tekbot/mergequeue"
)

// Groups runs and cancels a repository's merge-group pipelines
// (mergequeue.Groups).
type Groups interface {
	Requested(ctx context.Context, requestID string, grp mergequeue.Group) error
	Destroyed(ctx context.Context, requestID string, grp mergequeue.Group) error
}

// shaRE is a full commit SHA (SHA-1, or SHA-256): the group's head goes
// into run names and labels, so anything else is refused.
var shaRE = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// decodeMergeGroup keeps a merge_group event of a repository with merge
// group pipelines: checks_requested starts them, destroyed (the group
// merged, was invalidated or dequeued) cancels those still running. The
// head SHA comes from the signed payload.
func (r *Receiver) decodeMergeGroup(e *gh.MergeGroupEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	g := e.GetMergeGroup()
	action := e.GetAction()
	switch {
	case r.Groups == nil:
		return nil, "merge groups are not handled here", nil
	case action != "checks_requested" && action != "destroyed":
		return nil, "merge group " + action, nil
	case g == nil || !shaRE.MatchString(g.GetHeadSHA()):
		return nil, "", fmt.Errorf("merge_group event without a merge group head SHA")
	case r.Config.Repository(repo) == nil:
		return nil, "repository " + repo + " is not configured", nil
	case r.Config.Repository(repo).MergeQueue == nil || len(r.Config.Repository(repo).MergeQueue.Pipelines) == 0:
		return nil, "repository " + repo + " has no merge group pipelines", nil
	}
	return &delivery{
		// Keyed to the group's head: a redelivery, or the same payload
		// under another delivery ID, is recognised.
		key:  fmt.Sprintf("github-merge-group/%s/%s/%s", repo, g.GetHeadSHA(), action),
		repo: repo, login: e.GetSender().GetLogin(), sha: g.GetHeadSHA(),
		group: &groupEvent{action: action, group: mergequeue.Group{
			Repo: repo, HeadSHA: g.GetHeadSHA(), HeadRef: g.GetHeadRef(), BaseRef: g.GetBaseRef(),
		}},
	}, "", nil
}

// groupEvent is what a merge_group delivery asks for.
type groupEvent struct {
	action string
	group  mergequeue.Group
}

// processMergeGroup starts or cancels the group's runs once across
// replicas; the runs' names make a second start create nothing.
func (r *Receiver) processMergeGroup(ctx context.Context, log *slog.Logger, d *delivery, claim *bot.Claim) (retry bool) {
	if claim != nil && !claim.Won() {
		log.Info("delivery handled by another replica")
		return false
	}
	do := r.Groups.Requested
	if d.group.action == "destroyed" {
		do = r.Groups.Destroyed
	}
	if err := do(ctx, d.id, d.group.group); err != nil {
		log.Error("merge group "+d.group.action+" failed", "repository", d.repo, "head", d.sha, "err", err)
		return true
	}
	log.Info("merge group "+d.group.action, "repository", d.repo, "head", d.sha)
	return false
}

// StartCheck posts an in_progress check run on sha, linking to the run.
// It implements mergequeue.GroupChecks.
func (a *API) StartCheck(ctx context.Context, repo, sha, name, detailsURL string) error {
	owner, repoName := splitRepo(repo)
	opts := gh.CreateCheckRunOptions{Name: name, HeadSHA: sha, Status: gh.String("in_progress")}
	if detailsURL != "" {
		opts.DetailsURL = gh.String(detailsURL)
	}
	_, resp, err := patiently(ctx, func() (*gh.CheckRun, *gh.Response, error) {
		return a.client.Checks.CreateCheckRun(ctx, owner, repoName, opts)
	})
	if err := a.counted(resp, err); err != nil {
		return fmt.Errorf("starting check %s on %s@%s: %w", name, repo, sha, err)
	}
	return nil
}
