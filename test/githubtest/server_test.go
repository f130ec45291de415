package githubtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-github/v62/github"

	"tekbot/test/poll"
)

// newClient returns a go-github client for s whose responses are checked
// against GitHub's response schemas.
func newClient(t *testing.T, s *Server) *github.Client {
	t.Helper()
	c := github.NewClient(&http.Client{Transport: validatingTransport{t: t, spec: loadTestSpec(t), api: s.API()}})
	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	c.BaseURL = u
	return c
}

func status(err error) int {
	var e *github.ErrorResponse
	if errors.As(err, &e) {
		return e.Response.StatusCode
	}
	return 0
}

const (
	owner = "tektoncd"
	repo  = "pipeline"
)

func TestServerReactions(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	r, resp, err := gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, 777, "eyes")
	if err != nil || resp.StatusCode != http.StatusCreated || r.GetContent() != "eyes" || r.GetUser().GetLogin() != "tekbot[bot]" {
		t.Fatalf("first reaction: %v %v %v", r, resp, err)
	}
	_, resp, err = gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, 777, "eyes")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("repeated reaction: want 200 (Reaction exists), got %v %v", resp, err)
	}
	if _, _, err = gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, 777, "thumbsup"); status(err) != 422 {
		t.Errorf("invalid content: %v", err)
	}
	if _, _, err = gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, 777, "+1"); err != nil {
		t.Fatal(err)
	}
	if got := s.Reactions(777); !reflect.DeepEqual(got, []string{"eyes", "+1"}) {
		t.Errorf("Reactions = %v", got)
	}
	if n := s.Calls("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"); n != 4 {
		t.Errorf("Calls = %d, want 4", n)
	}
}

func TestServerComments(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	s.SetPullRequest(owner, repo, PullRequest{Number: 42})
	gh := newClient(t, s)
	ctx := context.Background()
	s.AddComment(owner, repo, 42, "alice", "/retest")
	c, resp, err := gh.Issues.CreateComment(ctx, owner, repo, 42, &github.IssueComment{Body: github.String("Retesting <b>all</b> & more")})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("CreateComment: %v %v", resp, err)
	}
	if c.GetID() == 0 || c.GetBody() != "Retesting <b>all</b> & more" || c.GetUser().GetLogin() != "tekbot[bot]" ||
		c.GetHTMLURL() != fmt.Sprintf("https://github.com/tektoncd/pipeline/pull/42#issuecomment-%d", c.GetID()) ||
		resp.Header.Get("Location") != c.GetURL() {
		t.Errorf("created comment: %+v, Location %q", c, resp.Header.Get("Location"))
	}
	if _, _, err := gh.Issues.CreateComment(ctx, owner, repo, 42, &github.IssueComment{}); status(err) != 422 {
		t.Errorf("empty comment: %v", err)
	}
	want := []Comment{{ID: s.Comments(owner, repo, 42)[0].ID, User: "alice", Body: "/retest"}, {ID: c.GetID(), User: "tekbot[bot]", Body: "Retesting <b>all</b> & more"}}
	if got := s.Comments(owner, repo, 42); !reflect.DeepEqual(got, want) {
		t.Errorf("Comments = %+v, want %+v", got, want)
	}
	list, _, err := gh.Issues.ListComments(ctx, owner, repo, 42, nil)
	if err != nil || len(list) != 2 || list[1].GetID() != c.GetID() || list[0].GetUser().GetLogin() != "alice" {
		t.Fatalf("ListComments: %v %v", list, err)
	}
	// Pagination follows GitHub's Link header.
	for i := range 23 {
		s.AddComment(owner, repo, 7, "bob", fmt.Sprint("comment ", i))
	}
	var all []*github.IssueComment
	opts := &github.IssueListCommentsOptions{ListOptions: github.ListOptions{PerPage: 10}}
	pages := 0
	for {
		page, resp, err := gh.Issues.ListComments(ctx, owner, repo, 7, opts)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, page...)
		if resp.NextPage == 0 {
			if resp.FirstPage != 1 || resp.PrevPage != 2 {
				t.Errorf("last page links: first %d prev %d", resp.FirstPage, resp.PrevPage)
			}
			break
		}
		opts.Page = resp.NextPage
	}
	if pages != 3 || len(all) != 23 || all[22].GetBody() != "comment 22" {
		t.Errorf("paged %d times, %d comments", pages, len(all))
	}
}

func TestServerPermissions(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	for role, perm := range map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"} {
		s.SetPermission(owner, repo, "user-"+role, role)
		p, _, err := gh.Repositories.GetPermissionLevel(ctx, owner, repo, "User-"+strings.ToUpper(role))
		if err != nil {
			t.Fatal(err)
		}
		if p.GetPermission() != perm || p.GetUser().GetRoleName() != role {
			t.Errorf("%s: permission %q role %q, want %q %q", role, p.GetPermission(), p.GetUser().GetRoleName(), perm, role)
		}
		if push := p.GetUser().Permissions["push"]; push != (perm == "write" || perm == "admin") {
			t.Errorf("%s: permissions.push = %v", role, push)
		}
	}
	p, _, err := gh.Repositories.GetPermissionLevel(ctx, owner, repo, "stranger")
	if err != nil || p.GetPermission() != "read" {
		t.Errorf("stranger on a public repository: %v %v", p, err)
	}
	s.SetRepo(owner, "secret", Repo{Private: true})
	p, _, err = gh.Repositories.GetPermissionLevel(ctx, owner, "secret", "stranger")
	if err != nil || p.GetPermission() != "none" {
		t.Errorf("stranger on a private repository: %v %v", p, err)
	}
}

func TestServerTeams(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	s.AddTeamMember("tektoncd", "core-maintainers", "alice")
	s.SetTeamMembership("tektoncd", "core-maintainers", "carol", "maintainer", "pending")
	m, _, err := gh.Teams.GetTeamMembershipBySlug(ctx, "TektonCD", "core-maintainers", "Alice")
	if err != nil || m.GetState() != "active" || m.GetRole() != "member" {
		t.Errorf("alice: %v %v", m, err)
	}
	m, _, err = gh.Teams.GetTeamMembershipBySlug(ctx, "tektoncd", "core-maintainers", "carol")
	if err != nil || m.GetState() != "pending" || m.GetRole() != "maintainer" {
		t.Errorf("carol: %v %v", m, err)
	}
	if _, _, err = gh.Teams.GetTeamMembershipBySlug(ctx, "tektoncd", "core-maintainers", "mallory"); status(err) != 404 {
		t.Errorf("mallory: want 404, got %v", err)
	}
}

func TestServerPullRequest(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	sha := "0123456789abcdef0123456789abcdef01234567"
	s.SetPullRequest(owner, repo, PullRequest{Number: 42, HeadSHA: sha, HeadRef: "fix-flake", User: "bob", Labels: []string{"ok-to-test"}})
	s.SetPullRequest(owner, repo, PullRequest{Number: 43, HeadOwner: "forker", Merged: true})
	pr, _, err := gh.PullRequests.Get(ctx, owner, repo, 42)
	if err != nil {
		t.Fatal(err)
	}
	if pr.GetNumber() != 42 || pr.GetState() != "open" || pr.GetHead().GetSHA() != sha || pr.GetHead().GetRef() != "fix-flake" ||
		pr.GetBase().GetRef() != "main" || pr.GetUser().GetLogin() != "bob" || len(pr.Labels) != 1 || pr.Labels[0].GetName() != "ok-to-test" ||
		pr.GetHTMLURL() != "https://github.com/tektoncd/pipeline/pull/42" || pr.GetBase().GetRepo().GetFullName() != "tektoncd/pipeline" {
		t.Errorf("PR 42: %v", pr)
	}
	// Labels added later show on the PR.
	if _, _, err := gh.Issues.AddLabelsToIssue(ctx, owner, repo, 42, []string{"lgtm"}); err != nil {
		t.Fatal(err)
	}
	pr, _, _ = gh.PullRequests.Get(ctx, owner, repo, 42)
	if len(pr.Labels) != 2 {
		t.Errorf("labels after adding: %v", pr.Labels)
	}
	pr, _, err = gh.PullRequests.Get(ctx, owner, repo, 43)
	if err != nil || pr.GetState() != "closed" || !pr.GetMerged() || pr.GetHead().GetRepo().GetFullName() != "forker/pipeline" || !pr.GetHead().GetRepo().GetFork() {
		t.Errorf("PR 43: %v %v", pr, err)
	}
	if _, _, err := gh.PullRequests.Get(ctx, owner, repo, 44); status(err) != 404 {
		t.Errorf("unknown PR: want 404, got %v", err)
	}
}

func TestServerLabels(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	got, _, err := gh.Issues.AddLabelsToIssue(ctx, owner, repo, 5, []string{"needs ok-to-test", "kind/bug"})
	if err != nil || len(got) != 2 {
		t.Fatalf("AddLabelsToIssue: %v %v", got, err)
	}
	got, _, err = gh.Issues.AddLabelsToIssue(ctx, owner, repo, 5, []string{"KIND/BUG", "lgtm"})
	if err != nil || len(got) != 3 {
		t.Fatalf("AddLabelsToIssue again: %v %v", got, err)
	}
	list, _, err := gh.Issues.ListLabelsByIssue(ctx, owner, repo, 5, nil)
	if err != nil || len(list) != 3 || list[0].GetName() != "needs ok-to-test" {
		t.Fatalf("ListLabelsByIssue: %v %v", list, err)
	}
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, owner, repo, 5, "needs ok-to-test"); err != nil {
		t.Fatal(err)
	}
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, owner, repo, 5, "absent"); status(err) != 404 {
		t.Errorf("removing an absent label: want 404, got %v", err)
	}
	// go-github v62 does not escape label names: one with a slash becomes
	// two path segments, which GitHub does not have. The Server says so.
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, owner, repo, 5, "kind/bug"); status(err) != 404 {
		t.Errorf("unescaped slash: want 404, got %v", err)
	}
	if v := s.Violations(); len(v) != 1 || v[0].Path != "/repos/tektoncd/pipeline/issues/5/labels/kind/bug" {
		t.Errorf("Violations = %v", v)
	}
	s.ForgiveViolations()
	if _, err := gh.Issues.RemoveLabelForIssue(ctx, owner, repo, 5, url.PathEscape("kind/bug")); err != nil {
		t.Errorf("escaped slash: %v", err)
	}
	if got := s.Labels(owner, repo, 5); !reflect.DeepEqual(got, []string{"lgtm"}) {
		t.Errorf("Labels = %v", got)
	}
}

func TestServerCheckRun(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	s.SetCheckRun(owner, repo, CheckRun{ID: 99, Name: "tekton/unit", ExternalID: "ns/pr-1", HeadSHA: "abc", Conclusion: "failure", PullRequests: []int{42}, AppID: 1234})
	cr, _, err := gh.Checks.GetCheckRun(ctx, owner, repo, 99)
	if err != nil || cr.GetName() != "tekton/unit" || cr.GetExternalID() != "ns/pr-1" || cr.GetConclusion() != "failure" ||
		cr.GetStatus() != "completed" || cr.GetApp().GetID() != 1234 || len(cr.PullRequests) != 1 || cr.PullRequests[0].GetNumber() != 42 {
		t.Errorf("check run: %v %v", cr, err)
	}
	if _, _, err := gh.Checks.GetCheckRun(ctx, owner, repo, 100); status(err) != 404 {
		t.Errorf("unknown check run: %v", err)
	}
}

func TestServerCommitPulls(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	ctx := context.Background()
	s.SetPullRequest(owner, repo, PullRequest{Number: 42, HeadSHA: "abc", HeadOwner: "a-fork"})
	s.SetPullRequest(owner, repo, PullRequest{Number: 43, HeadSHA: "abc", State: "closed"})
	s.SetPullRequest(owner, repo, PullRequest{Number: 44, HeadSHA: "def"})
	prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, "abc", nil)
	if err != nil || len(prs) != 1 || prs[0].GetNumber() != 42 || !prs[0].GetHead().GetRepo().GetFork() {
		t.Errorf("pulls of abc: %v %v, want the open fork PR 42", prs, err)
	}
	if prs, _, err := gh.PullRequests.ListPullRequestsWithCommit(ctx, owner, repo, "0123", nil); err != nil || len(prs) != 0 {
		t.Errorf("pulls of an unknown commit: %v %v, want none", prs, err)
	}
}

func TestServerViolation(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	resp, err := http.Post(s.URL()+"repos/o/r/retest", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
	v := s.Violations()
	if len(v) != 1 || v[0].Method != "POST" || v[0].Path != "/repos/o/r/retest" || v[0].Status != 404 || v[0].Problem == "" || string(v[0].Body) != "{}" {
		t.Fatalf("Violations = %+v", v)
	}
	t.Logf("recorded: %s", v[0])
	s.ForgiveViolations() // sent on purpose; cleanup would fail the test otherwise
}

func TestServerUnimplemented(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	s.AllowUnimplemented("GET", "/repos/{owner}/{repo}")
	if _, _, err := gh.Repositories.Get(context.Background(), owner, repo); status(err) != http.StatusNotImplemented {
		t.Errorf("want 501, got %v", err)
	}
	if u := s.Unimplemented(); len(u) != 1 || u[0].Template != "/repos/{owner}/{repo}" || u[0].OperationID != "repos/get" {
		t.Errorf("Unimplemented = %v", u)
	}
}

func TestServerFailNextAndRetry(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	const tmpl = "/repos/{owner}/{repo}/issues/{issue_number}/comments"
	s.FailNext("POST", tmpl, http.StatusBadGateway, 2)
	var statuses []int
	for range 3 {
		_, resp, err := gh.Issues.CreateComment(context.Background(), owner, repo, 1, &github.IssueComment{Body: github.String("hi")})
		statuses = append(statuses, resp.StatusCode)
		if err == nil {
			break
		}
	}
	if !reflect.DeepEqual(statuses, []int{502, 502, 201}) {
		t.Errorf("statuses %v", statuses)
	}
	if n := s.Calls("POST", tmpl); n != 3 {
		t.Errorf("Calls = %d", n)
	}
	if n := len(s.Comments(owner, repo, 1)); n != 1 {
		t.Errorf("%d comments stored", n)
	}
}

func TestServerHandleEnterpriseAndToken(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	s.RequireToken("ghs_test")
	s.Handle("GET", "/repos/{owner}/{repo}/git/ref/{ref}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"ref":"refs/%s","node_id":"x","url":"u","object":{"type":"commit","sha":"%s","url":"u"}}`, r.PathValue("ref"), strings.Repeat("a", 40))
	})
	ctx := context.Background()
	anon, err := github.NewClient(nil).WithEnterpriseURLs(s.URL(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon.Git.GetRef(ctx, owner, repo, "heads/release/v1"); status(err) != http.StatusUnauthorized {
		t.Errorf("without a token: want 401, got %v", err)
	}
	gh := anon.WithAuthToken("ghs_test")
	ref, _, err := gh.Git.GetRef(ctx, owner, repo, "refs/heads/release/v1")
	if err != nil || ref.GetRef() != "refs/heads/release/v1" {
		t.Errorf("GetRef through /api/v3/: %v %v", ref, err)
	}
	reqs := s.Requests()
	if len(reqs) != 2 || !strings.HasPrefix(reqs[1].Path, "/api/v3/") || reqs[1].Header.Get("Authorization") != "Bearer ghs_test" || reqs[1].Status != 200 {
		t.Errorf("Requests = %v", reqs)
	}
}

func TestServerConcurrent(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	gh := newClient(t, s)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			if _, _, err := gh.Issues.CreateComment(ctx, owner, repo, 1, &github.IssueComment{Body: github.String(fmt.Sprint(i))}); err != nil {
				t.Error(err)
			}
			if _, _, err := gh.Issues.AddLabelsToIssue(ctx, owner, repo, 1, []string{fmt.Sprint("l", i)}); err != nil {
				t.Error(err)
			}
			if _, _, err := gh.Reactions.CreateIssueCommentReaction(ctx, owner, repo, 1, "rocket"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if len(s.Comments(owner, repo, 1)) != 8 || len(s.Labels(owner, repo, 1)) != 8 || len(s.Reactions(1)) != 1 || len(s.Requests()) != 24 {
		t.Errorf("comments %d labels %d reactions %d requests %d", len(s.Comments(owner, repo, 1)), len(s.Labels(owner, repo, 1)), len(s.Reactions(1)), len(s.Requests()))
	}
}

// TestServerETags: a GET's answer carries an ETag; the same GET with it in
// If-None-Match is answered 304 with no body and leaves the rate limit
// where it was; after a change, the old ETag gets the new answer.
func TestServerETags(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	s.SetPullRequest(owner, repo, PullRequest{Number: 7, HeadSHA: "1111111111111111111111111111111111111111"})
	get := func(etag string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, s.URL()+"repos/"+owner+"/"+repo+"/pulls/7", nil)
		if err != nil {
			t.Fatal(err)
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	first, _ := get("")
	etag := first.Header.Get("ETag")
	if first.StatusCode != http.StatusOK || !strings.HasPrefix(etag, `W/"`) {
		t.Fatalf("first read: %d, ETag %q", first.StatusCode, etag)
	}
	tests := []struct {
		name, ifNoneMatch string
		change            bool
		want              int
	}{
		{"its ETag", etag, false, http.StatusNotModified},
		{"its ETag, strong", strings.TrimPrefix(etag, "W/"), false, http.StatusNotModified},
		{"one of several", `"other", ` + etag, false, http.StatusNotModified},
		{"another ETag", `W/"other"`, false, http.StatusOK},
		{"its ETag after a push", etag, true, http.StatusOK},
	}
	for _, tt := range tests {
		if tt.change {
			s.SetPullRequest(owner, repo, PullRequest{Number: 7, HeadSHA: "2222222222222222222222222222222222222222"})
		}
		before := s.NotModified()
		resp, body := get(tt.ifNoneMatch)
		if resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d", tt.name, resp.StatusCode, tt.want)
		}
		if tt.want != http.StatusNotModified {
			continue
		}
		if body != "" || s.NotModified() != before+1 {
			t.Errorf("%s: a 304 with body %q, counted %d", tt.name, body, s.NotModified()-before)
		}
		if got, want := resp.Header.Get("X-RateLimit-Remaining"), first.Header.Get("X-RateLimit-Remaining"); got != want {
			t.Errorf("%s: a 304 moved the rate limit from %s to %s", tt.name, want, got)
		}
	}
}

// TestServerHoldsAnswersRoundByRound: held requests are answered at
// Release, and requests made after it wait for the next one.
func TestServerHoldsAnswersRoundByRound(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	s.SetPermission(owner, repo, "vdemeest", "write")
	gh := newClient(t, s)
	s.Hold()
	answered := make(chan string, 2)
	ask := func(login string) {
		_, _, err := gh.Repositories.GetPermissionLevel(context.Background(), owner, repo, login)
		if err != nil {
			t.Error(err)
		}
		answered <- login
	}
	go ask("vdemeest")
	waitHeld(t, s, 1)
	select {
	case who := <-answered:
		t.Fatalf("%s answered while held", who)
	default:
	}
	s.Release()
	if who := <-answered; who != "vdemeest" {
		t.Fatalf("answered %s", who)
	}
	go ask("octocat")
	waitHeld(t, s, 1) // the next round holds it again
	if held := s.Held(); held[0].Params["username"] != "octocat" {
		t.Fatalf("held %v", held)
	}
	s.Open()
	if who := <-answered; who != "octocat" {
		t.Fatalf("answered %s", who)
	}
}

func waitHeld(t *testing.T, s *Server, n int) {
	t.Helper()
	poll.Until(t, fmt.Sprintf("%d requests held", n), 10*time.Second, func() bool { return len(s.Held()) >= n })
}
