package github_test

// Issue 26, "GitHub as it really is": GitHub's re-run buttons on a PR from
// a fork, whose check_suite and check_run deliveries list no pull request;
// a suite's rerun acts on that suite's commit; check deliveries are dated;
// denials are throttled per person, not per PR.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/transport/github"
)

const (
	forkOwner = "sam-contributor" // the contributor's fork of tektoncd/pipeline
	stranger  = "drive-by"
)

// forkPR makes the env's PR come from the contributor's fork, approved by
// a maintainer, with a failed, a timed-out and a passed run of its head.
func forkPR(t *testing.T) (e *env, failed []string) {
	t.Helper()
	e = newEnv(t)
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: prNumber, User: contributor, HeadSHA: headSHA, HeadOwner: forkOwner})
	e.gh.SetPermission(owner, repoName, stranger, "read")
	unit := e.seed("unit-tests", kube.Failed, false)
	e2e := e.seed("e2e-tests", kube.TimedOut, false)
	e.seed("build", kube.Succeeded, false)
	e.say(e.replica(), maintainer, "/ok-to-test", 9000)
	return e, []string{unit.Name, e2e.Name}
}

// forkSuite is a "Re-run failed checks" press on the fork PR's commit sha,
// as GitHub sends it: no pull request listed.
func forkSuite(t *testing.T, sender, sha string, at time.Time) []byte {
	return githubtest.CheckSuiteRerequested(t, githubtest.CheckSuiteOptions{
		ID: 88, HeadSHA: sha, Sender: sender, SenderType: "User", UpdatedAt: at.UTC().Format(time.RFC3339),
		Owner: owner, Repo: repoName, PullRequests: []int{},
	})
}

// forkRun is a check run's "Re-run" press on the fork PR's commit sha.
func forkRun(t *testing.T, sender, pipeline, sha string, at time.Time) []byte {
	body := githubtest.CheckRunRerequested(t, githubtest.CheckRunOptions{
		ID: 77, Name: "pipeline / " + pipeline, HeadSHA: sha, Owner: owner, Repo: repoName,
		PullRequests: []int{}, UpdatedAt: at.UTC().Format(time.RFC3339),
	})
	return renameSender(t, body, sender)
}

// renameSender replaces the example's sender login (octocat) by login.
func renameSender(t *testing.T, body []byte, login string) []byte {
	t.Helper()
	const recorded = `"login":"octocat"`
	if !strings.Contains(string(body), recorded) {
		t.Fatalf("check_run example's sender is not octocat: %s", body)
	}
	return []byte(strings.ReplaceAll(string(body), recorded, `"login":"`+login+`"`))
}

func TestReRunButtonsOnAForksPR(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name, event string
		body        func(t *testing.T) []byte
		// rerun names the runs rerun, by the pipelines of the seeded runs
		// (failed: unit-tests and e2e-tests).
		rerun []string
		reply bool // a comment is posted
	}{
		{"a maintainer's Re-run failed checks reruns the failed runs", "check_suite",
			func(t *testing.T) []byte { return forkSuite(t, maintainer, headSHA, now) }, []string{"unit-tests", "e2e-tests"}, true},
		{"a maintainer's Re-run of a check run reruns that run", "check_run",
			func(t *testing.T) []byte { return forkRun(t, maintainer, "unit-tests", headSHA, now) }, []string{"unit-tests"}, true},
		{"the author's Re-run on the approved commit reruns that run", "check_run",
			func(t *testing.T) []byte { return forkRun(t, contributor, "e2e-tests", headSHA, now) }, []string{"e2e-tests"}, true},
		{"a stranger's press does nothing but log", "check_suite",
			func(t *testing.T) []byte { return forkSuite(t, stranger, headSHA, now) }, nil, false},
		{"a stranger's check run press does nothing but log", "check_run",
			func(t *testing.T) []byte { return forkRun(t, stranger, "unit-tests", headSHA, now) }, nil, false},
		{"a commit of no known PR does nothing", "check_suite",
			func(t *testing.T) []byte { return forkSuite(t, maintainer, strings.Repeat("ab", 20), now) }, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, _ := forkPR(t)
			before := len(e.gh.Comments(owner, repoName, prNumber))
			r := e.replica()
			if code, msg := r.Deliver(t, tt.event, "press-"+t.Name(), tt.body(t)); code != http.StatusAccepted {
				t.Fatalf("%s: %d %s", tt.event, code, msg)
			}
			r.Drain(t)
			var got []string
			for _, run := range reruns(e.runs()) {
				got = append(got, run.Labels["pipelinesascode.tekton.dev/original-prname"])
			}
			if len(got) != len(tt.rerun) {
				t.Fatalf("reran %v, want %v; replies %+v", got, tt.rerun, e.gh.Comments(owner, repoName, prNumber))
			}
			for _, p := range tt.rerun {
				if !contains(got, p) {
					t.Errorf("reran %v, want %v", got, tt.rerun)
				}
			}
			if replied := len(e.gh.Comments(owner, repoName, prNumber)) > before; replied != tt.reply {
				t.Errorf("replied: %v, want %v (comments %+v)", replied, tt.reply, e.gh.Comments(owner, repoName, prNumber))
			}
		})
	}
}

// TestCheckSuiteRerunsItsOwnCommit: after a push, "Re-run failed checks"
// on the old commit's suite reruns the old commit's failed runs, not the
// new head's. On a fork's PR, GitHub's commit → pulls endpoint knows only
// the new head, so the PR is found from the runs: listed from the
// apiserver, or from the slim index serve keeps.
func TestCheckSuiteRerunsItsOwnCommit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		fork, indexed bool
	}{
		{"same repository", false, false},
		{"fork", true, false},
		{"fork, runs from the index", true, true},
	} {
		fork := tc.fork
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			unit := e.seed("unit-tests", kube.Failed, false)
			pushed := e.seedAt(pushedSHA, "unit-tests", kube.Failed, false)
			if tc.indexed {
				e.watchRuns(t)
			}
			pr := githubtest.PullRequest{Number: prNumber, User: contributor, HeadSHA: pushedSHA}
			prs := []int{prNumber}
			if fork {
				pr.HeadOwner, prs = forkOwner, []int{}
			}
			e.gh.SetPullRequest(owner, repoName, pr)
			body := githubtest.CheckSuiteRerequested(t, githubtest.CheckSuiteOptions{
				ID: 88, HeadSHA: headSHA, Sender: maintainer, SenderType: "User", UpdatedAt: time.Now().UTC().Format(time.RFC3339),
				Owner: owner, Repo: repoName, PullRequests: prs,
			})
			r := e.replica()
			if code, msg := r.Deliver(t, "check_suite", "old-suite", body); code != http.StatusAccepted {
				t.Fatalf("check_suite: %d %s", code, msg)
			}
			r.Drain(t)
			got := reruns(e.runs())
			if _, ok := got[unit.Name]; !ok || len(got) != 1 {
				t.Fatalf("reran %v, want only %s (the suite's commit), not %s (the head); reply %q", keys(got), unit.Name, pushed.Name, e.lastComment())
			}
			if reply := e.lastComment(); !strings.Contains(reply, headSHA[:7]) {
				t.Errorf("the reply should name the suite's commit %s: %q", headSHA[:7], reply)
			}
		})
	}
}

// TestOldCheckDeliveriesAreIgnored: a captured check_suite or check_run
// press, replayed a day later under a new delivery ID, is ignored without
// a call to GitHub or a run; the same press within the window is acted on.
func TestOldCheckDeliveriesAreIgnored(t *testing.T) {
	t.Parallel()
	dayAgo := time.Now().Add(-github.ChangeWindow - 24*time.Hour) // a suite untouched for a month and a day
	tests := []struct {
		name, event string
		body        func(t *testing.T) []byte
	}{
		{"check_suite", "check_suite", func(t *testing.T) []byte {
			return githubtest.CheckSuiteRerequested(t, githubtest.CheckSuiteOptions{
				ID: 88, HeadSHA: headSHA, Sender: maintainer, SenderType: "User", UpdatedAt: dayAgo.UTC().Format(time.RFC3339),
				Owner: owner, Repo: repoName, PullRequests: []int{prNumber},
			})
		}},
		{"check_run", "check_run", func(t *testing.T) []byte {
			return renameSender(t, githubtest.CheckRunRerequested(t, githubtest.CheckRunOptions{
				ID: 77, Name: "pipeline / unit-tests", HeadSHA: headSHA, Owner: owner, Repo: repoName,
				PullRequests: []int{prNumber}, UpdatedAt: dayAgo.UTC().Format(time.RFC3339),
			}), maintainer)
		}},
		{"fork check_suite", "check_suite", func(t *testing.T) []byte { return forkSuite(t, maintainer, headSHA, dayAgo) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.seed("unit-tests", kube.Failed, false)
			r := e.replica()
			if code, msg := r.Deliver(t, tt.event, "replayed-a-month-later", tt.body(t)); code != http.StatusOK || !strings.Contains(msg, "ignored") || !strings.Contains(msg, "older than") {
				t.Fatalf("a month-old %s: %d %q, want 200 ignored as older than the window", tt.event, code, msg)
			}
			r.Drain(t)
			if got := reruns(e.runs()); len(got) != 0 {
				t.Errorf("a month-old press reran %v", keys(got))
			}
			if reqs := e.gh.Requests(); len(reqs) != 0 {
				t.Errorf("a month-old press called GitHub %d times, first %s", len(reqs), reqs[0])
			}
		})
	}
}

// TestAStrangersDenialDoesNotSwallowTheAuthors: a stranger's /retest gets
// its denial, and the author's own /retest on the unapproved commit right
// after still gets the answer the author needs; the stranger's second
// comment gets none.
func TestAStrangersDenialDoesNotSwallowTheAuthors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Failed, false)
	e.gh.SetPermission(owner, repoName, stranger, "read")
	e.say(e.replica(), stranger, "/retest", 9101)
	e.say(e.replica(), contributor, "/retest", 9102)
	e.say(e.replica(), stranger, "/retest", 9103)
	comments := e.gh.Comments(owner, repoName, prNumber)
	if len(comments) != 2 {
		t.Fatalf("want a denial each for the stranger and the author, got %d replies: %+v", len(comments), comments)
	}
	if !strings.HasPrefix(comments[0].Body, "@"+stranger) || !strings.HasPrefix(comments[1].Body, "@"+contributor) {
		t.Errorf("denials went to the wrong people: %q, %q", comments[0].Body, comments[1].Body)
	}
	if !strings.Contains(comments[1].Body, "ok-to-test") {
		t.Errorf("the author's denial should say a maintainer's /ok-to-test is needed: %q", comments[1].Body)
	}
	if got := reruns(e.runs()); len(got) != 0 {
		t.Errorf("denied comments reran %v", keys(got))
	}
}

// TestForkPRFoundThroughGitHub: when no run names the pressed commit yet,
// its PR is found through GitHub's commit → pulls endpoint, and the press
// is answered there.
func TestForkPRFoundThroughGitHub(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: prNumber, User: contributor, HeadSHA: pushedSHA, HeadOwner: forkOwner})
	e.seed("unit-tests", kube.Failed, false) // of the previous head
	r := e.replica()
	if code, msg := r.Deliver(t, "check_suite", "no-runs-yet", forkSuite(t, maintainer, pushedSHA, time.Now())); code != http.StatusAccepted {
		t.Fatalf("check_suite: %d %s", code, msg)
	}
	r.Drain(t)
	if got := reruns(e.runs()); len(got) != 0 {
		t.Errorf("reran %v, but the pressed commit has no runs", keys(got))
	}
	if reply := e.lastComment(); !strings.Contains(reply, "No PipelineRuns found for commit "+pushedSHA[:7]) {
		t.Errorf("reply %q, want it to say the pressed commit has no runs", reply)
	}
	if n := e.gh.Calls("GET", "/repos/{owner}/{repo}/commits/{commit_sha}/pulls"); n != 1 {
		t.Errorf("GitHub's commit → pulls endpoint called %d times, want 1", n)
	}
}

// TestPressesOnSuitesThatFailedHoursAgoAreActedOn: a check event carries
// the suite as it was before the press, dated when it last changed (its
// failure, hours ago), so "Re-run failed checks" and a run's "Re-run" on
// yesterday's failure are acted on; the same delivery replayed under a new
// delivery ID meets the press's claim and does nothing more.
func TestPressesOnSuitesThatFailedHoursAgoAreActedOn(t *testing.T) {
	t.Parallel()
	yesterday := time.Now().Add(-20 * time.Hour)
	tests := []struct {
		name, event string
		body        func(t *testing.T) []byte
		rerun       int
	}{
		{"Re-run failed checks", "check_suite", func(t *testing.T) []byte {
			return githubtest.CheckSuiteRerequested(t, githubtest.CheckSuiteOptions{
				ID: 88, HeadSHA: headSHA, Sender: maintainer, SenderType: "User", UpdatedAt: yesterday.UTC().Format(time.RFC3339),
				Owner: owner, Repo: repoName, PullRequests: []int{prNumber},
			})
		}, 2},
		{"a check run's Re-run", "check_run", func(t *testing.T) []byte {
			return renameSender(t, githubtest.CheckRunRerequested(t, githubtest.CheckRunOptions{
				ID: 77, Name: "pipeline / unit-tests", HeadSHA: headSHA, Owner: owner, Repo: repoName,
				PullRequests: []int{prNumber}, UpdatedAt: yesterday.UTC().Format(time.RFC3339),
			}), maintainer)
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.seed("unit-tests", kube.Failed, false)
			e.seed("e2e-tests", kube.TimedOut, false)
			body := tt.body(t)
			for _, id := range []string{"pressed", "replayed-under-a-new-id"} {
				r := e.replica()
				if code, msg := r.Deliver(t, tt.event, id, body); code != http.StatusAccepted {
					t.Fatalf("%s: %d %q, want 202", id, code, msg)
				}
				r.Drain(t)
				if got := reruns(e.runs()); len(got) != tt.rerun {
					t.Fatalf("after %s: reruns %v, want %d", id, keys(got), tt.rerun)
				}
			}
		})
	}
}
