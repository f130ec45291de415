package github_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"tekbot/config"
	"tekbot/mergequeue"
	"tekbot/test/githubtest"
)

// TestMergeQueueBridge: signed label events and comments, as GitHub sends
// them, against the stand-in whose GraphQL endpoint checks every document
// against GitHub's published schema. lgtm + approved → exactly one enqueue
// carrying the head OID, however often the event is delivered; /hold → a
// dequeue; a person's entry, held → no dequeue; a branch without a queue →
// one REST merge pinned to the head, with the configured method.
func TestMergeQueueBridge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.GitHub.Repositories[0].MergeQueue = &config.MergeQueue{
		Require: []string{"lgtm", "approved"}, Block: []string{"do-not-merge/*", "needs-rebase"}, Method: config.MergeSquash,
	}
	const (
		queued   = prNumber // tekbot enqueues it
		person   = 43       // a person enqueued it
		noQueue  = 44       // its branch has no merge queue
		headOf44 = "44aa44aa44aa44aa44aa44aa44aa44aa44aa44aa"
	)
	mergeable := true
	ready := []string{"lgtm", "approved"}
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: queued, User: contributor, HeadOwner: contributor, HeadSHA: headSHA, MergeQueue: true, Labels: ready})
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: person, User: contributor, HeadSHA: pushedSHA, MergeQueue: true, InMergeQueue: true, Labels: ready})
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: noQueue, User: contributor, HeadSHA: headOf44, Mergeable: &mergeable, Labels: ready})
	labeled := func(number int, sha string) []byte {
		return githubtest.PullRequestLabeled(t, githubtest.PullRequestClosedOptions{
			Number: number, Owner: owner, Repo: repoName, Author: contributor, HeadOwner: contributor, HeadSHA: sha, BaseRef: "main",
			Sender: maintainer, SenderType: "User",
		}, "approved", false)
	}

	body := labeled(queued, headSHA)
	for _, id := range []string{"label-1", "label-1", "label-1-redelivered"} {
		r := e.replica()
		if code, msg := r.Deliver(t, "pull_request", id, body); code != http.StatusAccepted && code != http.StatusOK {
			t.Fatalf("labeled %s: %d %s", id, code, msg)
		}
		r.Drain(t)
	}
	if got := e.gh.QueueCalls(); len(got) != 1 || got[0] != (githubtest.QueueCall{Mutation: "enqueuePullRequest", Number: queued, ExpectedHeadOid: headSHA}) {
		t.Fatalf("queue calls %+v, want one enqueue of #%d at %s", got, queued, headSHA)
	}

	e.say(e.replica(), maintainer, "/hold the release is not cut yet", 9101)
	if got := e.gh.QueueCalls(); len(got) != 2 || got[1] != (githubtest.QueueCall{Mutation: "dequeuePullRequest", Number: queued}) {
		t.Fatalf("after /hold, queue calls %+v, want a dequeue of #%d; reply %q", got, queued, e.lastComment())
	}

	// A person's entry: tekbot holds it, but does not take it out.
	personHold := githubtest.PRComment(t, githubtest.PRCommentOptions{
		Body: "/hold", CommentID: 9102, Commenter: maintainer, CommenterType: "User",
		Number: person, State: "open", PRAuthor: contributor, Owner: owner, Repo: repoName, Labels: []string{},
	})
	r := e.replica()
	if code, msg := r.Deliver(t, "issue_comment", "hold-43", personHold); code != http.StatusAccepted {
		t.Fatalf("/hold on #%d: %d %s", person, code, msg)
	}
	r.Drain(t)
	if got := e.gh.QueueCalls(); len(got) != 2 {
		t.Fatalf("holding a person's entry made queue calls %+v", got[2:])
	}

	r = e.replica()
	if code, msg := r.Deliver(t, "pull_request", "label-44", labeled(noQueue, headOf44)); code != http.StatusAccepted {
		t.Fatalf("labeled #%d: %d %s", noQueue, code, msg)
	}
	r.Drain(t)
	var merges []map[string]any
	for _, req := range e.gh.Requests() {
		if req.Method == http.MethodPut && req.Template == "/repos/{owner}/{repo}/pulls/{pull_number}/merge" {
			var b map[string]any
			if err := json.Unmarshal(req.Body, &b); err != nil {
				t.Fatal(err)
			}
			merges = append(merges, b)
		}
	}
	if len(merges) != 1 || merges[0]["sha"] != headOf44 || merges[0]["merge_method"] != "squash" {
		t.Errorf("REST merges %v, want one pinned to %s with squash", merges, headOf44)
	}
	if got := e.gh.QueueCalls(); len(got) != 2 || slices.ContainsFunc(got, func(c githubtest.QueueCall) bool { return c.Number == noQueue }) {
		t.Errorf("a branch without a queue got queue calls: %+v", got)
	}

	// A PR made ready while no event reached tekbot: the resync finds it.
	const missed = 45
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: missed, User: contributor, HeadSHA: headOf44, MergeQueue: true, Labels: ready})
	r = e.replica()
	r.Deps.MergeQueue.(*mergequeue.Bridge).Resync(context.Background())
	got := e.gh.QueueCalls()
	if len(got) != 3 || got[2] != (githubtest.QueueCall{Mutation: "enqueuePullRequest", Number: missed, ExpectedHeadOid: headOf44}) {
		t.Errorf("after the resync, queue calls %+v, want one more: the enqueue of #%d", got, missed)
	}
}
