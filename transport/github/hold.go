package github

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
)

// RemoveLabel takes a label off a PR; a label that is not there is not an
// error. It implements handlers.HoldGitHub.
func (a *API) RemoveLabel(ctx context.Context, repo string, number int, label string) error {
	owner, name := splitRepo(repo)
	_, resp, err := patiently(ctx, func() (struct{}, *gh.Response, error) {
		// go-github puts the name in the path as it is: do-not-merge/hold
		// would be two path segments.
		resp, err := a.client.Issues.RemoveLabelForIssue(ctx, owner, name, number, url.PathEscape(label))
		return struct{}{}, resp, err
	})
	if resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil
	}
	if err := a.counted(resp, err); err != nil {
		return fmt.Errorf("removing label %s from %s#%d: %w", label, repo, number, err)
	}
	return nil
}

// PostCheck posts a completed check run on commit sha. GitHub shows the
// latest run of a name per commit, so posting again replaces what people
// and branch protection see. It implements handlers.HoldGitHub.
func (a *API) PostCheck(ctx context.Context, repo, sha string, c bot.Check) error {
	owner, name := splitRepo(repo)
	opts := gh.CreateCheckRunOptions{
		Name: c.Name, HeadSHA: sha, Status: gh.String("completed"), Conclusion: gh.String(c.Conclusion),
		Output: &gh.CheckRunOutput{Title: gh.String(c.Title), Summary: gh.String(c.Summary)},
	}
	if c.DetailsURL != "" {
		opts.DetailsURL = gh.String(c.DetailsURL)
	}
	_, resp, err := patiently(ctx, func() (*gh.CheckRun, *gh.Response, error) {
		return a.client.Checks.CreateCheckRun(ctx, owner, name, opts)
	})
	if err := a.counted(resp, err); err != nil {
		return fmt.Errorf("posting check %s on %s@%s: %w", c.Name, repo, sha, err)
	}
	return nil
}
