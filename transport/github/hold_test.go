package github_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"tekbot/handlers"
	"tekbot/test/githubtest"
)

// TestHoldThroughTheWebhook: signed comments and a fork's push, as GitHub
// sends them. /hold puts the label and a blocking check naming the holder
// and the reason; a stranger's /unhold changes nothing; a push gets the
// check on the new head, once however often it is delivered; the holder's
// /unhold lifts it.
func TestHoldThroughTheWebhook(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	held := func(sha string) githubtest.CheckRun {
		t.Helper()
		c, ok := e.gh.LatestCheck(owner, repoName, sha, handlers.HoldCheck)
		if !ok {
			t.Fatalf("no %s check on %s; reply %q", handlers.HoldCheck, sha, e.lastComment())
		}
		return c
	}
	e.say(e.replica(), maintainer, "/hold waiting on #12", 9001)
	if c := held(headSHA); c.Conclusion != "action_required" || !strings.Contains(c.Title, "@"+maintainer) || !strings.Contains(c.Summary, "waiting on #12") {
		t.Fatalf("the hold's check: %+v", c)
	}
	if !slices.Contains(e.gh.Labels(owner, repoName, prNumber), handlers.HoldLabel) {
		t.Fatalf("labels %v", e.gh.Labels(owner, repoName, prNumber))
	}

	e.say(e.replica(), contributor, "/unhold", 9002)
	if c := held(headSHA); c.Conclusion != "action_required" || !slices.Contains(e.gh.Labels(owner, repoName, prNumber), handlers.HoldLabel) {
		t.Fatalf("a stranger's /unhold lifted the hold: %+v, labels %v", c, e.gh.Labels(owner, repoName, prNumber))
	}

	e.push(pushedSHA)
	sync := githubtest.PullRequestSynchronize(t, githubtest.PullRequestClosedOptions{
		Number: prNumber, Owner: owner, Repo: repoName, Author: contributor, HeadOwner: contributor, HeadSHA: pushedSHA, BaseRef: "main",
		Sender: contributor, SenderType: "User",
	}, headSHA)
	for _, id := range []string{"push-1", "push-1", "push-1-redelivered"} {
		other := e.replica()
		if code, msg := other.Deliver(t, "pull_request", id, sync); code != http.StatusAccepted && code != http.StatusOK {
			t.Fatalf("synchronize %s: %d %s", id, code, msg)
		}
		other.Drain(t)
	}
	if c := held(pushedSHA); c.Conclusion != "action_required" || !strings.Contains(c.Summary, "waiting on #12") {
		t.Fatalf("the new head's check: %+v", c)
	}
	if n := len(e.gh.CheckRuns(owner, repoName, pushedSHA)); n != 1 {
		t.Errorf("three deliveries of one push posted %d checks, want 1", n)
	}

	e.say(e.replica(), maintainer, "/unhold", 9003)
	if c := held(pushedSHA); c.Conclusion != "success" || slices.Contains(e.gh.Labels(owner, repoName, prNumber), handlers.HoldLabel) {
		t.Fatalf("the holder's /unhold: check %+v, labels %v; reply %q", c, e.gh.Labels(owner, repoName, prNumber), e.lastComment())
	}
}

// TestHoldCheckOnEveryHead: with tekbot/hold required, a PR nobody held
// must still get a passing check, or nothing merges. Opened, reopened and
// pushed (a fork's), each head gets a success tekbot/hold once however
// often GitHub delivers the event; a held PR's new head gets the blocking
// one instead.
func TestHoldCheckOnEveryHead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	opts := githubtest.PullRequestClosedOptions{
		Number: prNumber, Owner: owner, Repo: repoName, Author: contributor, HeadOwner: contributor, HeadSHA: headSHA, BaseRef: "main",
		Sender: contributor, SenderType: "User",
	}
	const reopenedSHA = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
	pushed := opts
	pushed.HeadSHA = pushedSHA
	reopened := opts
	reopened.HeadSHA = reopenedSHA
	tests := []struct {
		name       string
		sha        string
		body       []byte
		conclusion string
	}{
		{"opened", headSHA, githubtest.PullRequestOpened(t, opts, false), "success"},
		{"pushed", pushedSHA, githubtest.PullRequestSynchronize(t, pushed, headSHA), "success"},
		{"reopened", reopenedSHA, githubtest.PullRequestOpened(t, reopened, true), "success"},
	}
	for _, tt := range tests {
		for _, id := range []string{tt.name, tt.name, tt.name + "-redelivered"} {
			r := e.replica()
			if code, msg := r.Deliver(t, "pull_request", id, tt.body); code != http.StatusAccepted && code != http.StatusOK {
				t.Fatalf("%s: %d %s", id, code, msg)
			}
			r.Drain(t)
		}
		runs := e.gh.CheckRuns(owner, repoName, tt.sha)
		if len(runs) != 1 || runs[0].Name != handlers.HoldCheck || runs[0].Conclusion != tt.conclusion {
			t.Errorf("%s: checks on %s %+v, want one %s %s", tt.name, tt.sha, runs, handlers.HoldCheck, tt.conclusion)
		}
	}

	e.say(e.replica(), maintainer, "/hold not yet", 9201)
	const heldPush = "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b"
	held := opts
	held.HeadSHA = heldPush
	r := e.replica()
	if code, msg := r.Deliver(t, "pull_request", "held-push", githubtest.PullRequestSynchronize(t, held, reopenedSHA)); code != http.StatusAccepted && code != http.StatusOK {
		t.Fatalf("held push: %d %s", code, msg)
	}
	r.Drain(t)
	if c, ok := e.gh.LatestCheck(owner, repoName, heldPush, handlers.HoldCheck); !ok || c.Conclusion != "action_required" {
		t.Errorf("a held PR's push: %+v %v, want the blocking check", c, ok)
	}
}
