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
