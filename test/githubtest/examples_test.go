package githubtest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"
)

func TestFixturesDir(t *testing.T) {
	t.Parallel()
	dir := FixturesDir(t)
	if err := checkFixtures(dir); err != nil {
		t.Fatal(err)
	}
	if again := FixturesDir(t); again != dir {
		t.Fatalf("FixturesDir changed: %s then %s", dir, again)
	}
}

func TestExamples(t *testing.T) {
	t.Parallel()
	all := Examples(t, "issue_comment", "")
	created := Examples(t, "issue_comment", "created")
	if len(all) != 9 || len(created) != 5 {
		t.Fatalf("issue_comment: %d examples, %d created; want 9 and 5 (did the pinned version change?)", len(all), len(created))
	}
	for i, b := range created {
		ev := parse[*github.IssueCommentEvent](t, "issue_comment", b)
		if ev.GetAction() != "created" {
			t.Errorf("created example %d has action %q", i, ev.GetAction())
		}
		if ev.GetIssue().IsPullRequest() {
			t.Errorf("created example %d is on a pull request; PRComment's doc assumes none is", i)
		}
	}
	if got := Example(t, "issue_comment", "created", 4); !bytes.Equal(got, created[4]) {
		t.Error("Example(..., 4) differs from Examples(...)[4]")
	}
	if len(Examples(t, "check_run", "rerequested")) == 0 {
		t.Error("no check_run rerequested example")
	}
	// Examples are the package's, byte for byte up to whitespace.
	var a, b any
	if err := json.Unmarshal(all[0], &a); err != nil {
		t.Fatal(err)
	}
	raw := loadExamples(t)["issue_comment"].Examples[0]
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Error("Examples changed the example's content")
	}
}

func parse[T any](t *testing.T, event string, body []byte) T {
	t.Helper()
	v, err := github.ParseWebHook(event, body)
	if err != nil {
		t.Fatalf("go-github cannot parse the %s payload: %v", event, err)
	}
	ev, ok := v.(T)
	if !ok {
		t.Fatalf("ParseWebHook(%s) returned %T", event, v)
	}
	return ev
}

func TestPRComment(t *testing.T) {
	t.Parallel()
	body := PRComment(t, PRCommentOptions{
		Body:              "/retest <all> & more",
		CommentID:         777,
		Commenter:         "alice",
		AuthorAssociation: "MEMBER",
		Number:            42,
		State:             "open",
		PRAuthor:          "bob",
		Owner:             "tektoncd",
		Repo:              "pipeline",
		Labels:            []string{"ok-to-test", "kind/bug"},
	})
	if bytes.Contains(body, []byte(`\u003c`)) || !bytes.Contains(body, []byte("<all> & more")) {
		t.Error("the payload escapes HTML characters; GitHub doesn't")
	}
	ev := parse[*github.IssueCommentEvent](t, "issue_comment", body)
	is, c := ev.GetIssue(), ev.GetComment()
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("action", ev.GetAction(), "created")
	check("IsPullRequest", is.IsPullRequest(), true)
	check("pull_request.url", is.GetPullRequestLinks().GetURL(), "https://api.github.com/repos/tektoncd/pipeline/pulls/42")
	check("pull_request.html_url", is.GetPullRequestLinks().GetHTMLURL(), "https://github.com/tektoncd/pipeline/pull/42")
	check("pull_request.diff_url", is.GetPullRequestLinks().GetDiffURL(), "https://github.com/tektoncd/pipeline/pull/42.diff")
	check("pull_request.patch_url", is.GetPullRequestLinks().GetPatchURL(), "https://github.com/tektoncd/pipeline/pull/42.patch")
	check("issue.number", is.GetNumber(), 42)
	check("issue.state", is.GetState(), "open")
	check("issue.html_url", is.GetHTMLURL(), "https://github.com/tektoncd/pipeline/pull/42")
	check("issue.url", is.GetURL(), "https://api.github.com/repos/tektoncd/pipeline/issues/42")
	check("issue.user.login", is.GetUser().GetLogin(), "bob")
	var labels []string
	for _, l := range is.Labels {
		labels = append(labels, l.GetName())
	}
	check("issue.labels", labels, []string{"ok-to-test", "kind/bug"})
	check("comment.id", c.GetID(), int64(777))
	check("comment.body", c.GetBody(), "/retest <all> & more")
	check("comment.user.login", c.GetUser().GetLogin(), "alice")
	check("comment.user.type", c.GetUser().GetType(), "User")
	check("comment.user.html_url", c.GetUser().GetHTMLURL(), "https://github.com/alice")
	check("comment.author_association", c.GetAuthorAssociation(), "MEMBER")
	check("comment.html_url", c.GetHTMLURL(), "https://github.com/tektoncd/pipeline/pull/42#issuecomment-777")
	check("comment.issue_url", c.GetIssueURL(), "https://api.github.com/repos/tektoncd/pipeline/issues/42")
	check("sender.login", ev.GetSender().GetLogin(), "alice")
	check("repository.full_name", ev.GetRepo().GetFullName(), "tektoncd/pipeline")
	check("repository.name", ev.GetRepo().GetName(), "pipeline")
	check("repository.owner.login", ev.GetRepo().GetOwner().GetLogin(), "tektoncd")
	check("repository.owner.type", ev.GetRepo().GetOwner().GetType(), "Organization")
	check("repository.html_url", ev.GetRepo().GetHTMLURL(), "https://github.com/tektoncd/pipeline")
	check("organization.login", ev.GetOrganization().GetLogin(), "tektoncd")
	check("installation.id", ev.GetInstallation().GetID(), int64(1))
	if strings.Contains(string(body), "Codertocat/Hello-World") {
		t.Error("the old repository's name is left in the payload")
	}

	bot := parse[*github.IssueCommentEvent](t, "issue_comment", PRComment(t, PRCommentOptions{
		Commenter: "renovate[bot]", CommenterType: "Bot", State: "closed", Labels: []string{},
	}))
	check("bot login", bot.GetComment().GetUser().GetLogin(), "renovate[bot]")
	check("bot type", bot.GetComment().GetUser().GetType(), "Bot")
	check("bot url", bot.GetComment().GetUser().GetURL(), "https://api.github.com/users/renovate%5Bbot%5D")
	check("bot html_url", bot.GetComment().GetUser().GetHTMLURL(), "https://github.com/apps/renovate")
	check("sender type", bot.GetSender().GetType(), "Bot")
	check("closed state", bot.GetIssue().GetState(), "closed")
	check("closed_at set", bot.GetIssue().ClosedAt != nil, true)
	check("no labels", len(bot.GetIssue().Labels), 0)
}

// TestPRCommentKeepsTheRest checks that with no options PRComment changes
// nothing but what makes the issue a pull request, and the comment's times:
// a comment GitHub delivers was written just now.
func TestPRCommentKeepsTheRest(t *testing.T) {
	t.Parallel()
	var got, want map[string]any
	if err := json.Unmarshal(PRComment(t, PRCommentOptions{}), &got); err != nil {
		t.Fatal(err)
	}
	orig := encodeOrdered(richestExample(t, "issue_comment", "created"))
	if err := json.Unmarshal(orig, &want); err != nil {
		t.Fatal(err)
	}
	gi, wi := got["issue"].(map[string]any), want["issue"].(map[string]any)
	gc, wc := got["comment"].(map[string]any), want["comment"].(map[string]any)
	if gi["pull_request"] == nil {
		t.Fatal("no issue.pull_request")
	}
	for _, k := range []string{"pull_request", "html_url"} {
		delete(gi, k)
		delete(wi, k)
	}
	stamp, _ := gc["created_at"].(string)
	if created, err := time.Parse(time.RFC3339, stamp); err != nil || time.Since(created) > time.Minute {
		t.Errorf("comment.created_at = %q (%v), want now", stamp, err)
	}
	for _, k := range []string{"html_url", "created_at", "updated_at"} {
		delete(gc, k)
		delete(wc, k)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("PRComment changed more than it should:\n got %s\nwant %s", g, w)
	}
	// Key order is kept too.
	if !bytes.HasPrefix(PRComment(t, PRCommentOptions{}), []byte(`{"action":"created","issue":{"url":`)) {
		t.Error("key order changed")
	}
}

func TestCheckRunRerequested(t *testing.T) {
	t.Parallel()
	sha := "0123456789abcdef0123456789abcdef01234567"
	body := CheckRunRerequested(t, CheckRunOptions{
		ID: 99, Name: "tekton/unit", ExternalID: "ns/pipelinerun-1", HeadSHA: sha, HeadBranch: "fix",
		AppID: 1234, Owner: "tektoncd", Repo: "pipeline", PullRequests: []int{7},
	})
	ev := parse[*github.CheckRunEvent](t, "check_run", body)
	cr := ev.GetCheckRun()
	if ev.GetAction() != "rerequested" || cr.GetID() != 99 || cr.GetName() != "tekton/unit" ||
		cr.GetExternalID() != "ns/pipelinerun-1" || cr.GetHeadSHA() != sha ||
		cr.GetCheckSuite().GetHeadSHA() != sha || cr.GetCheckSuite().GetHeadBranch() != "fix" ||
		cr.GetApp().GetID() != 1234 ||
		cr.GetURL() != "https://api.github.com/repos/tektoncd/pipeline/check-runs/99" ||
		cr.GetHTMLURL() != "https://github.com/tektoncd/pipeline/runs/99" ||
		ev.GetRepo().GetFullName() != "tektoncd/pipeline" || ev.GetOrg().GetLogin() != "tektoncd" {
		t.Errorf("unexpected check_run event: %s", body)
	}
	if len(cr.PullRequests) != 1 || cr.PullRequests[0].GetNumber() != 7 || cr.PullRequests[0].GetHead().GetSHA() != sha ||
		cr.PullRequests[0].GetHead().GetRef() != "fix" || cr.PullRequests[0].GetBase().GetRef() != "master" {
		t.Errorf("pull_requests = %s", body)
	}
	if len(cr.GetCheckSuite().PullRequests) != 1 {
		t.Error("check_suite.pull_requests not set")
	}
}
