package github_test

// Tests for issue 25 on a real apiserver with GitHub's own payloads: a
// declared command that runs on merged PRs (/cherry-pick) waits for the
// merge when asked on an open PR, and runs on the merge commit from the
// signed pull_request "closed" event, as Prow's cherrypicker does.

import (
	"context"
	"net/http"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/githubtest"
)

const (
	// testMergeSHA is GitHub's test merge of the open PR, which the
	// author moves with every push; mergeSHA is the commit the merge made.
	testMergeSHA = "7e57e57e57e57e57e57e57e57e57e57e57e57e57"
	mergeSHA     = "3e26ec0de3a9f1b2c4d5e6f708192a3b4c5d6e7f"
	// mergeQueue merges PRs: a bot, whose events tekbot must still read.
	mergeQueue = "github-merge-queue[bot]"
)

// audited hands the replicas' audit records to the test, in order.
type audited chan bot.Record

func (a audited) Record(_ context.Context, rec bot.Record) { a <- rec }

// of takes the records made so far and returns the request's.
func (a audited) of(requestID string) []bot.Record {
	var out []bot.Record
	for {
		select {
		case rec := <-a:
			if rec.RequestID == requestID {
				out = append(out, rec)
			}
		default:
			return out
		}
	}
}

// openPR is the PR, open and mergeable: GitHub serves its test merge.
func (e *env) openPR() {
	mergeable := true
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: prNumber, User: contributor, HeadOwner: contributor, HeadSHA: headSHA, Mergeable: &mergeable, MergeCommitSHA: testMergeSHA})
}

// closePR closes the PR, merged or not, in GitHub and in later comments'
// payloads, and returns the signed pull_request "closed" event's payload.
func (e *env) closePR(merged bool) []byte {
	pr := githubtest.PullRequest{Number: prNumber, User: contributor, HeadOwner: contributor, HeadSHA: headSHA, State: "closed", Merged: merged}
	if merged {
		pr.MergeCommitSHA = mergeSHA
	}
	e.gh.SetPullRequest(owner, repoName, pr)
	e.prState, e.prMerged = "closed", merged
	opts := githubtest.PullRequestClosedOptions{
		// The contributor's fork, as outside contributions come.
		Number: prNumber, Owner: owner, Repo: repoName, Author: contributor, HeadOwner: contributor, HeadSHA: headSHA, BaseRef: "main",
		Sender: maintainer, SenderType: "User",
	}
	if merged {
		opts.Merged, opts.MergeCommitSHA, opts.Sender, opts.SenderType = true, mergeSHA, mergeQueue, "Bot"
	}
	return githubtest.PullRequestClosed(e.t, opts)
}

// deliver sends one signed delivery to a new replica and waits for it.
func (e *env) deliver(event, id string, body []byte) {
	e.t.Helper()
	r := e.replica()
	if code, msg := r.Deliver(e.t, event, id, body); code != http.StatusAccepted {
		e.t.Fatalf("%s %s: %d %s", event, id, code, msg)
	}
	r.Drain(e.t)
}

func (e *env) queued() int {
	e.t.Helper()
	list, err := e.cluster.Kube.CoreV1().ConfigMaps(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: state.LabelQueued + "=true"})
	if err != nil {
		e.t.Fatal(err)
	}
	return len(list.Items)
}

func (e *env) comments() int { return len(e.gh.Comments(owner, repoName, prNumber)) }

// commitsByTarget maps each cherry-pick run's target branch to the
// commit it picks.
func (e *env) commitsByTarget() map[string][]string {
	e.t.Helper()
	out := map[string][]string{}
	for _, run := range e.commandRuns("cherry-pick") {
		params := map[string]string{}
		for _, p := range run.Spec.Params {
			params[p.Name] = p.Value.StringVal
		}
		out[params["targetBranch"]] = append(out[params["targetBranch"]], params["commit"])
	}
	return out
}

func TestCherryPickOnAnOpenPRRunsOnceWhenItMerges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	audit := make(audited, 100)
	e.audit = audit
	e.declare(cherryPick)
	e.openPR()

	// Asked on the open PR: queued, and nothing runs on the test merge.
	e.deliver("issue_comment", "cp-open", e.comment(maintainer, "Needed in the LTS.\n/cherry-pick release-v1.2.x", 7201))
	if reply := e.lastComment(); !strings.Contains(reply, "Queued: `/cherry-pick release-v1.2.x` will run when this PR merges") {
		t.Errorf("reply on the open PR: %q", reply)
	}
	if got := e.commitsByTarget(); len(got) != 0 || e.queued() != 1 {
		t.Fatalf("on the open PR: runs %v, %d queued; want none and 1", got, e.queued())
	}
	// The same again, and a reader's: still one queued.
	e.deliver("issue_comment", "cp-open-again", e.comment(maintainer, "/cherry-pick release-v1.2.x", 7202))
	if reply := e.lastComment(); !strings.Contains(reply, "`/cherry-pick release-v1.2.x` is already queued (asked by vincent)") {
		t.Errorf("asked twice: %q", reply)
	}
	e.deliver("issue_comment", "cp-reader", e.comment(contributor, "/cherry-pick release-v1.3.x", 7203))
	if reply := e.lastComment(); !strings.Contains(reply, "Sorry, you may not run `cherry-pick`") {
		t.Errorf("a reader's request: %q", reply)
	}
	if n := e.queued(); n != 1 {
		t.Fatalf("%d queued, want 1", n)
	}

	// GitHub's merge queue merges it: the run starts on the merge commit,
	// as the maintainer's, named after their request.
	merged := e.closePR(true)
	e.deliver("pull_request", "merged-1", merged)
	if got := e.commitsByTarget(); len(got) != 1 || len(got["release-v1.2.x"]) != 1 || got["release-v1.2.x"][0] != mergeSHA {
		t.Fatalf("after the merge: runs %v, want one on release-v1.2.x picking %s", got, mergeSHA)
	}
	run := e.commandRuns("cherry-pick")[0]
	if run.Annotations[tekton.AnnotationRequester] != "vincent" || run.Annotations[tekton.AnnotationRequestID] != "cp-open" {
		t.Errorf("the run should be the maintainer's request: annotations %v", run.Annotations)
	}
	want := "This PR merged as `3e26ec0`: vincent started `/cherry-pick release-v1.2.x` (Pipeline cherry-pick) on cluster nightly"
	if reply := e.lastComment(); !strings.Contains(reply, want) {
		t.Errorf("reply on the merge: %q, want %q", reply, want)
	}
	recs := audit.of("cp-open")
	if len(recs) != 2 || recs[0].Outcome != bot.Done || recs[1].Outcome != bot.Done || recs[1].Person != "vincent" ||
		recs[1].CallerID != maintainer || recs[1].Verb != "cherry-pick" || len(recs[1].Targets) != 1 || !strings.Contains(recs[1].Targets[0], run.Name) {
		t.Errorf("audit of the request (queued, then run): %+v", recs)
	}
	if n := e.queued(); n != 0 {
		t.Errorf("%d still queued after the merge", n)
	}

	// The merge event again: redelivered, and replayed under a new ID.
	before := e.comments()
	e.deliver("pull_request", "merged-1", merged)
	e.deliver("pull_request", "merged-1-replayed", merged)
	if got := e.commitsByTarget(); len(got["release-v1.2.x"]) != 1 || e.comments() != before {
		t.Errorf("a second merge delivery: runs %v, %d new comments; want nothing more", got, e.comments()-before)
	}

	// Asked on the merged PR: it runs at once, on the merge commit.
	e.deliver("issue_comment", "cp-merged", e.comment(maintainer, "/cherry-pick release-v1.3.x", 7204))
	if got := e.commitsByTarget(); len(got["release-v1.3.x"]) != 1 || got["release-v1.3.x"][0] != mergeSHA || len(got["release-v1.2.x"]) != 1 {
		t.Fatalf("on the merged PR: runs %v, want one more, on release-v1.3.x picking %s", got, mergeSHA)
	}
	if reply := e.lastComment(); !strings.Contains(reply, "vincent started `/cherry-pick release-v1.3.x` (Pipeline cherry-pick) on cluster nightly") {
		t.Errorf("reply on the merged PR: %q", reply)
	}
	// Other commands are still not read on a closed PR.
	if code, msg := e.replica().Deliver(t, "issue_comment", "retest-merged", e.comment(maintainer, "/retest", 7205)); code != http.StatusOK || !strings.Contains(msg, "ignored: pull request is closed") {
		t.Errorf("/retest on the merged PR: %d %q, want ignored", code, msg)
	}
}

func TestCherryPickThatCannotRunStartsNothing(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// queue asks while the PR is open; otherwise only once it closed.
		queue bool
		// merged closes the PR with a merge; undeclare removes the command
		// from the config before that.
		merged, undeclare bool
		want              string
	}{
		{"asked while open, then closed unmerged", true, false, false,
			"This PR was closed without merging: the queued `/cherry-pick release-v1.2.x` (asked by vincent) was dropped, and nothing was started."},
		{"asked once closed unmerged", false, false, false,
			"This pull request was closed without merging, and `/cherry-pick` runs on merged pull requests only: nothing was started."},
		{"no longer declared when it merges", true, true, true,
			"The queued `/cherry-pick release-v1.2.x` (asked by vincent) is no longer declared to run on merged PRs: it was dropped, and nothing was started."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.declare(cherryPick)
			e.openPR()
			if tt.queue {
				e.deliver("issue_comment", "cp-open", e.comment(maintainer, "/cherry-pick release-v1.2.x", 7301))
				if n := e.queued(); n != 1 {
					t.Fatalf("%d queued, want 1: %q", n, e.lastComment())
				}
			}
			if tt.undeclare {
				e.cfg.Commands = nil
			}
			e.deliver("pull_request", "closed-1", e.closePR(tt.merged))
			if !tt.queue {
				if n := e.comments(); n != 0 {
					t.Errorf("closing a PR with nothing queued posted %d comments", n)
				}
				e.deliver("issue_comment", "cp-closed", e.comment(maintainer, "/cherry-pick release-v1.2.x", 7302))
			}
			if reply := e.lastComment(); !strings.Contains(reply, tt.want) {
				t.Errorf("reply: %q, want %q", reply, tt.want)
			}
			if got := e.commitsByTarget(); len(got) != 0 || e.queued() != 0 {
				t.Errorf("runs %v, %d queued; want none", got, e.queued())
			}
		})
	}
}
