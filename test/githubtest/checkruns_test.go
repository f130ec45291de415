package githubtest

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

// TestServerCreatesCheckRunsAsGitHubDoes: POST .../check-runs refuses what
// GitHub refuses, and a run it accepts is answered in GitHub's schema
// (newClient checks it) and shown as the latest of its name.
func TestServerCreatesCheckRunsAsGitHubDoes(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	head := strings.Repeat("ab", 20)
	tests := []struct {
		name   string
		opts   github.CreateCheckRunOptions
		status int
	}{
		{"no head", github.CreateCheckRunOptions{Name: "tekbot/hold"}, 422},
		{"short head", github.CreateCheckRunOptions{Name: "tekbot/hold", HeadSHA: "abc123"}, 422},
		{"completed without a conclusion", github.CreateCheckRunOptions{Name: "tekbot/hold", HeadSHA: head, Status: github.String("completed")}, 422},
		{"unknown conclusion", github.CreateCheckRunOptions{Name: "tekbot/hold", HeadSHA: head, Conclusion: github.String("blocked")}, 422},
		{"action required without details", github.CreateCheckRunOptions{Name: "tekbot/hold", HeadSHA: head, Conclusion: github.String("action_required")}, 422},
		{"output without summary", github.CreateCheckRunOptions{Name: "tekbot/hold", HeadSHA: head, Conclusion: github.String("success"), Output: &github.CheckRunOutput{Title: github.String("t")}}, 422},
		{"held", github.CreateCheckRunOptions{Name: "tekbot/hold", HeadSHA: head, Status: github.String("completed"), Conclusion: github.String("action_required"),
			DetailsURL: github.String("https://github.com/tektoncd/pipeline/pull/1"), Output: &github.CheckRunOutput{Title: github.String("Held"), Summary: github.String("why")}}, 201},
		{"lifted", github.CreateCheckRunOptions{Name: "tekbot/hold", HeadSHA: head, Conclusion: github.String("success"),
			Output: &github.CheckRunOutput{Title: github.String("Not held"), Summary: github.String("-")}}, 201},
	}
	for _, tt := range tests {
		cr, _, err := gh.Checks.CreateCheckRun(ctx, owner, repo, tt.opts)
		got := 201
		if err != nil {
			got = status(err)
		}
		if got != tt.status {
			t.Errorf("%s: status %d, want %d: %v", tt.name, got, tt.status, err)
		}
		if got == 201 && (cr.GetHeadSHA() != head || cr.GetStatus() != "completed" || cr.GetConclusion() != tt.opts.GetConclusion()) {
			t.Errorf("%s: answered %+v", tt.name, cr)
		}
	}
	latest, ok := s.LatestCheck(owner, repo, head, "tekbot/hold")
	if !ok || latest.Conclusion != "success" || latest.Title != "Not held" || len(s.CheckRuns(owner, repo, head)) != 2 {
		t.Errorf("latest tekbot/hold = %+v (%v) of %d runs, want the lifted one of 2", latest, ok, len(s.CheckRuns(owner, repo, head)))
	}
}
