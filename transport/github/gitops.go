package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gh "github.com/google/go-github/v62/github"

	"tekbot/promotion"
)

// The GitOps path of a promotion: branch, commit one file, open a PR.
// These methods implement promotion.Repos. Reads are retried; writes are
// not retried blindly, but each one recognises the answer GitHub gives
// when an earlier attempt already did it, so a retried promotion finds
// its branch and its PR instead of failing.

// DefaultBranch returns the repository's default branch and its head.
func (a *API) DefaultBranch(ctx context.Context, repo string) (branch, sha string, err error) {
	owner, name := splitRepo(repo)
	r, resp, err := retryGet(ctx, func() (*gh.Repository, *gh.Response, error) {
		return a.client.Repositories.Get(ctx, owner, name)
	})
	if err := a.counted(resp, err); err != nil {
		return "", "", fmt.Errorf("reading %s: %w", repo, err)
	}
	branch = r.GetDefaultBranch()
	ref, resp, err := retryGet(ctx, func() (*gh.Reference, *gh.Response, error) {
		return a.client.Git.GetRef(ctx, owner, name, "heads/"+branch)
	})
	if err := a.counted(resp, err); err != nil {
		return "", "", fmt.Errorf("reading %s's branch %s: %w", repo, branch, err)
	}
	return branch, ref.GetObject().GetSHA(), nil
}

// CreateBranch creates branch at sha; created is false if it exists.
func (a *API) CreateBranch(ctx context.Context, repo, branch, sha string) (created bool, err error) {
	owner, name := splitRepo(repo)
	_, resp, err := a.client.Git.CreateRef(ctx, owner, name, &gh.Reference{
		Ref: gh.String("refs/heads/" + branch), Object: &gh.GitObject{SHA: gh.String(sha)},
	})
	if unprocessable(resp, err, "Reference already exists") {
		return false, nil
	}
	if err := a.counted(resp, err); err != nil {
		return false, fmt.Errorf("creating branch %s in %s: %w", branch, repo, err)
	}
	return true, nil
}

// File returns a file's content and blob SHA at ref.
func (a *API) File(ctx context.Context, repo, ref, path string) (content []byte, blobSHA string, err error) {
	owner, name := splitRepo(repo)
	file, resp, err := retryGet(ctx, func() (*gh.RepositoryContent, *gh.Response, error) {
		f, _, resp, err := a.client.Repositories.GetContents(ctx, owner, name, path, &gh.RepositoryContentGetOptions{Ref: ref})
		return f, resp, err
	})
	if err := a.counted(resp, err); err != nil {
		return nil, "", fmt.Errorf("reading %s in %s@%s: %w", path, repo, ref, err)
	}
	if file == nil {
		return nil, "", fmt.Errorf("%s in %s@%s is a directory, not a file", path, repo, ref)
	}
	text, err := file.GetContent()
	if err != nil {
		return nil, "", fmt.Errorf("decoding %s in %s@%s: %w", path, repo, ref, err)
	}
	return []byte(text), file.GetSHA(), nil
}

// CommitFile commits content as path on branch, replacing blob blobSHA,
// and returns the commit's SHA and its parents' (the contents API's
// answer carries them).
func (a *API) CommitFile(ctx context.Context, repo, branch, path, message string, content []byte, blobSHA string) (string, []string, error) {
	owner, name := splitRepo(repo)
	res, resp, err := a.client.Repositories.UpdateFile(ctx, owner, name, path, &gh.RepositoryContentFileOptions{
		Message: gh.String(message), Content: content, SHA: gh.String(blobSHA), Branch: gh.String(branch),
	})
	if err := a.counted(resp, err); err != nil {
		return "", nil, fmt.Errorf("committing %s to %s@%s: %w", path, repo, branch, err)
	}
	if res.Commit.GetSHA() == "" {
		return "", nil, fmt.Errorf("committing %s to %s@%s: GitHub named no commit", path, repo, branch)
	}
	var parents []string
	for _, c := range res.Commit.Parents {
		parents = append(parents, c.GetSHA())
	}
	return res.Commit.GetSHA(), parents, nil
}

// OpenPullRequest opens a PR from head (a branch of repo) to base, or
// returns the one already open from head.
func (a *API) OpenPullRequest(ctx context.Context, repo, head, base, title, body string) (number int, url string, err error) {
	owner, name := splitRepo(repo)
	pr, resp, err := a.client.PullRequests.Create(ctx, owner, name, &gh.NewPullRequest{
		Title: gh.String(title), Head: gh.String(head), Base: gh.String(base), Body: gh.String(body),
	})
	if unprocessable(resp, err, "A pull request already exists") {
		open, resp, err := retryGet(ctx, func() ([]*gh.PullRequest, *gh.Response, error) {
			return a.client.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{State: "open", Head: owner + ":" + head})
		})
		if err := a.counted(resp, err); err != nil {
			return 0, "", fmt.Errorf("finding the open PR from %s in %s: %w", head, repo, err)
		}
		if len(open) == 0 {
			return 0, "", fmt.Errorf("GitHub says a PR from %s exists in %s, but lists none open", head, repo)
		}
		pr = open[0]
	} else if err := a.counted(resp, err); err != nil {
		return 0, "", fmt.Errorf("opening a PR from %s in %s: %w", head, repo, err)
	}
	return pr.GetNumber(), pr.GetHTMLURL(), nil
}

// PullRequestStatus reads what a promotion needs to know of its PR:
// merged or closed, and whether GitHub would merge it now.
func (a *API) PullRequestStatus(ctx context.Context, repo string, number int) (promotion.PullRequestStatus, error) {
	owner, name := splitRepo(repo)
	pr, resp, err := retryGet(ctx, func() (*gh.PullRequest, *gh.Response, error) {
		return a.client.PullRequests.Get(ctx, owner, name, number)
	})
	if err := a.counted(resp, err); err != nil {
		return promotion.PullRequestStatus{}, fmt.Errorf("reading %s#%d: %w", repo, number, err)
	}
	return promotion.PullRequestStatus{
		Merged: pr.GetMerged(), Closed: pr.GetState() == "closed" && !pr.GetMerged(),
		// "clean": mergeable, required checks green, required reviews
		// given. "unstable" (a failing or pending check) is not enough.
		Ready:    pr.GetState() == "open" && pr.GetMergeable() && pr.GetMergeableState() == "clean",
		Head:     pr.GetHead().GetSHA(),
		HeadRef:  pr.GetHead().GetRef(),
		HeadRepo: pr.GetHead().GetRepo().GetFullName(),
		Base:     pr.GetBase().GetRef(),
	}, nil
}

// Merge merges PR number if its head is still head: GitHub refuses (409)
// when someone pushed since it was checked.
func (a *API) Merge(ctx context.Context, repo string, number int, head, title string) error {
	return a.merge(ctx, repo, number, &gh.PullRequestOptions{CommitTitle: title, SHA: head})
}

// merge merges PR number as opts say; opts.SHA pins the head.
func (a *API) merge(ctx context.Context, repo string, number int, opts *gh.PullRequestOptions) error {
	owner, name := splitRepo(repo)
	res, resp, err := a.client.PullRequests.Merge(ctx, owner, name, number, "", opts)
	if err := a.counted(resp, err); err != nil {
		return fmt.Errorf("merging %s#%d: %w", repo, number, err)
	}
	if !res.GetMerged() {
		return fmt.Errorf("merging %s#%d: GitHub did not merge it: %s", repo, number, res.GetMessage())
	}
	return nil
}

// unprocessable reports GitHub's 422 answer whose message (or one of its
// errors') starts with prefix: how it says "that exists already".
func unprocessable(resp *gh.Response, err error, prefix string) bool {
	var e *gh.ErrorResponse
	if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity || !errors.As(err, &e) {
		return false
	}
	if strings.HasPrefix(e.Message, prefix) {
		return true
	}
	return slices.ContainsFunc(e.Errors, func(d gh.Error) bool { return strings.HasPrefix(d.Message, prefix) })
}
