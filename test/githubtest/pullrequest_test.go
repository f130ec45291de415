package githubtest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

func TestPullRequestClosed(t *testing.T) {
	t.Parallel()
	closed := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	merge := strings.Repeat("ab", 20)
	tests := []struct {
		name   string
		opts   PullRequestClosedOptions
		merged bool
		sha    string
	}{
		{"merged by a bot", PullRequestClosedOptions{
			Number: 42, Owner: "tektoncd", Repo: "pipeline", Author: "bob", HeadOwner: "bob", HeadSHA: strings.Repeat("cd", 20), BaseRef: "main",
			Merged: true, MergeCommitSHA: merge, ClosedAt: closed, Sender: "tekton-robot[bot]", SenderType: "Bot",
		}, true, merge},
		{"closed unmerged", PullRequestClosedOptions{Number: 7, Owner: "tektoncd", Repo: "pipeline", ClosedAt: closed}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := PullRequestClosed(t, tt.opts)
			ev := parse[*github.PullRequestEvent](t, "pull_request", body)
			pr := ev.GetPullRequest()
			if ev.GetAction() != "closed" || ev.GetNumber() != tt.opts.Number || pr.GetNumber() != tt.opts.Number || pr.GetState() != "closed" {
				t.Errorf("action %q number %d/%d state %q", ev.GetAction(), ev.GetNumber(), pr.GetNumber(), pr.GetState())
			}
			if pr.GetMerged() != tt.merged || (tt.merged && (pr.GetMergeCommitSHA() != tt.sha || !pr.GetMergedAt().Time.Equal(closed) || pr.GetMergedBy().GetLogin() != tt.opts.Sender)) {
				t.Errorf("merged %v sha %q at %v by %q", pr.GetMerged(), pr.GetMergeCommitSHA(), pr.GetMergedAt(), pr.GetMergedBy().GetLogin())
			}
			if !pr.GetClosedAt().Time.Equal(closed) || ev.GetRepo().GetFullName() != "tektoncd/pipeline" {
				t.Errorf("closed at %v in %s", pr.GetClosedAt(), ev.GetRepo().GetFullName())
			}
			if want := fmt.Sprintf("https://github.com/tektoncd/pipeline/pull/%d", tt.opts.Number); pr.GetHTMLURL() != want {
				t.Errorf("html_url %q, want %q", pr.GetHTMLURL(), want)
			}
			if tt.opts.HeadSHA != "" && (pr.GetHead().GetSHA() != tt.opts.HeadSHA || !strings.HasSuffix(pr.GetStatusesURL(), tt.opts.HeadSHA)) {
				t.Errorf("head %q statuses %q", pr.GetHead().GetSHA(), pr.GetStatusesURL())
			}
			if head := pr.GetHead(); tt.opts.HeadOwner != "" && (head.GetRepo().GetFullName() != "bob/pipeline" || !head.GetRepo().GetFork() ||
				head.GetRepo().GetOwner().GetLogin() != "bob" || head.GetUser().GetLogin() != "bob" || head.GetLabel() != "bob:changes" ||
				!strings.HasPrefix(head.GetRepo().GetHTMLURL(), "https://github.com/bob/pipeline")) {
				t.Errorf("a fork's head: %s fork=%v owner %s user %s label %s url %s", head.GetRepo().GetFullName(), head.GetRepo().GetFork(),
					head.GetRepo().GetOwner().GetLogin(), head.GetUser().GetLogin(), head.GetLabel(), head.GetRepo().GetHTMLURL())
			}
			if pr.GetBase().GetRepo().GetFullName() != "tektoncd/pipeline" {
				t.Errorf("base repo %s", pr.GetBase().GetRepo().GetFullName())
			}
			if strings.Contains(string(body), "Codertocat/Hello-World") {
				t.Error("the old repository's name is left in the payload")
			}
		})
	}
}
