package githubtest

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

// TestServerMergesOnlyCleanPullRequestsAtTheirHead: the merge endpoint
// answers as GitHub does, and its success response matches GitHub's
// schema (newClient checks it).
func TestServerMergesOnlyCleanPullRequestsAtTheirHead(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	head, yes, no := strings.Repeat("ab", 20), true, false
	tests := []struct {
		name   string
		pr     PullRequest
		sha    string
		status int
	}{
		{"not computed yet", PullRequest{Number: 1, HeadSHA: head}, head, 405},
		{"conflicts", PullRequest{Number: 2, HeadSHA: head, Mergeable: &no}, head, 405},
		{"review required", PullRequest{Number: 3, HeadSHA: head, Mergeable: &yes, MergeableState: "blocked"}, head, 405},
		{"failing check", PullRequest{Number: 4, HeadSHA: head, Mergeable: &yes, MergeableState: "unstable"}, head, 405},
		{"head moved", PullRequest{Number: 5, HeadSHA: head, Mergeable: &yes}, strings.Repeat("cd", 20), 409},
		{"already merged", PullRequest{Number: 6, HeadSHA: head, Mergeable: &yes, Merged: true}, head, 405},
		{"clean at its head", PullRequest{Number: 7, HeadSHA: head, Mergeable: &yes}, head, 200},
		{"clean, no head pinned", PullRequest{Number: 8, HeadSHA: head, Mergeable: &yes}, "", 200},
	}
	for _, tt := range tests {
		s.SetPullRequest(owner, repo, tt.pr)
		res, _, err := gh.PullRequests.Merge(ctx, owner, repo, tt.pr.Number, "", &github.PullRequestOptions{CommitTitle: "Promote", SHA: tt.sha})
		got := 200
		if err != nil {
			got = status(err)
		}
		if got != tt.status || (got == 200) != res.GetMerged() {
			t.Errorf("%s: status %d (merged %v), want %d: %v", tt.name, got, res.GetMerged(), tt.status, err)
		}
		pr, _, err := gh.PullRequests.Get(ctx, owner, repo, tt.pr.Number)
		if err != nil || pr.GetMerged() != (tt.pr.Merged || tt.status == 200) {
			t.Errorf("%s: after the merge request the PR says merged=%v (%v)", tt.name, pr.GetMerged(), err)
		}
	}
	if _, err := gh.Do(ctx, mustRequest(t, gh, "PUT", "repos/tektoncd/pipeline/pulls/7/merge", map[string]string{"merge_method": "octopus"}), nil); status(err) != 422 {
		t.Errorf("bad merge_method: %v", err)
	}
}

func mustRequest(t *testing.T, gh *github.Client, method, path string, body any) *http.Request {
	t.Helper()
	req, err := gh.NewRequest(method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}
