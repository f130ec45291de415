package github

import (
	"context"
	"fmt"
	"strings"

	gh "github.com/google/go-github/v62/github"
	"github.com/shurcooL/githubv4"

	"tekbot/config"
	"tekbot/mergequeue"
)

// graphQL is a GraphQL client on the REST client's connection and
// credentials: GitHub's merge queue is GraphQL only.
func (a *API) graphQL() *githubv4.Client {
	base := a.client.BaseURL.String()
	url := strings.TrimSuffix(base, "/") + "/graphql"
	if b, ok := strings.CutSuffix(base, "/api/v3/"); ok { // GitHub Enterprise Server
		url = b + "/api/graphql"
	}
	return githubv4.NewEnterpriseClient(url, a.client.Client())
}

// QueueState reads what the merge queue bridge decides on, in one GraphQL
// query. It implements mergequeue.GitHub.
func (a *API) QueueState(ctx context.Context, repo string, number int) (*mergequeue.PullRequest, error) {
	owner, name := splitRepo(repo)
	var q struct {
		Repository struct {
			PullRequest *struct {
				ID                  githubv4.ID
				HeadRefOid          githubv4.GitObjectID
				State               githubv4.PullRequestState
				IsInMergeQueue      bool
				IsMergeQueueEnabled bool
				Labels              struct {
					Nodes []struct{ Name string }
				} `graphql:"labels(first: 100)"`
			} `graphql:"pullRequest(number: $number)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
	}
	vars := map[string]any{"owner": githubv4.String(owner), "name": githubv4.String(name), "number": githubv4.Int(number)}
	if err := a.graphQL().Query(ctx, &q, vars); err != nil {
		return nil, fmt.Errorf("reading %s#%d's merge queue state: %w", repo, number, err)
	}
	p := q.Repository.PullRequest
	if p == nil {
		return nil, fmt.Errorf("reading %s#%d's merge queue state: no such pull request", repo, number)
	}
	pr := &mergequeue.PullRequest{
		ID: fmt.Sprint(p.ID), HeadSHA: string(p.HeadRefOid), Open: p.State == githubv4.PullRequestStateOpen,
		QueueEnabled: p.IsMergeQueueEnabled, InQueue: p.IsInMergeQueue,
	}
	for _, l := range p.Labels.Nodes {
		pr.Labels = append(pr.Labels, l.Name)
	}
	return pr, nil
}

// Enqueue adds a PR to its branch's merge queue, only while its head is
// headSHA (GitHub refuses otherwise). It implements mergequeue.GitHub.
func (a *API) Enqueue(ctx context.Context, prID, headSHA string) error {
	var m struct {
		EnqueuePullRequest struct {
			MergeQueueEntry struct{ ID githubv4.ID }
		} `graphql:"enqueuePullRequest(input: $input)"`
	}
	head := githubv4.GitObjectID(headSHA)
	input := githubv4.EnqueuePullRequestInput{PullRequestID: githubv4.ID(prID), ExpectedHeadOid: &head}
	if err := a.graphQL().Mutate(ctx, &m, input, nil); err != nil {
		return fmt.Errorf("enqueueing %s at %s: %w", prID, headSHA, err)
	}
	return nil
}

// Dequeue takes a PR out of its merge queue. It implements
// mergequeue.GitHub.
func (a *API) Dequeue(ctx context.Context, prID string) error {
	var m struct {
		DequeuePullRequest struct {
			MergeQueueEntry struct{ ID githubv4.ID }
		} `graphql:"dequeuePullRequest(input: $input)"`
	}
	if err := a.graphQL().Mutate(ctx, &m, githubv4.DequeuePullRequestInput{ID: githubv4.ID(prID)}, nil); err != nil {
		return fmt.Errorf("dequeueing %s: %w", prID, err)
	}
	return nil
}

// MergeAt merges a PR through REST, on a branch without a merge queue,
// with method, only while its head is headSHA (GitHub refuses, 409,
// otherwise). It implements mergequeue.GitHub.
func (a *API) MergeAt(ctx context.Context, repo string, number int, headSHA string, method config.MergeMethod) error {
	return a.merge(ctx, repo, number, &gh.PullRequestOptions{SHA: headSHA, MergeMethod: string(method)})
}

// maxResyncPulls bounds a repository's resync: the open PRs read, in one
// GraphQL query, oldest first (the ones closest to merging).
const maxResyncPulls = 100

// OpenPullRequests lists up to maxResyncPulls open PRs of repo, oldest
// first. It implements mergequeue.GitHub.
func (a *API) OpenPullRequests(ctx context.Context, repo string) ([]int, error) {
	owner, name := splitRepo(repo)
	var q struct {
		Repository struct {
			PullRequests struct {
				Nodes []struct{ Number int }
			} `graphql:"pullRequests(states: [OPEN], first: $first)"`
		} `graphql:"repository(owner: $owner, name: $name)"`
	}
	vars := map[string]any{"owner": githubv4.String(owner), "name": githubv4.String(name), "first": githubv4.Int(maxResyncPulls)}
	if err := a.graphQL().Query(ctx, &q, vars); err != nil {
		return nil, fmt.Errorf("listing %s's open pull requests: %w", repo, err)
	}
	numbers := make([]int, len(q.Repository.PullRequests.Nodes))
	for i, n := range q.Repository.PullRequests.Nodes {
		numbers[i] = n.Number
	}
	return numbers, nil
}
