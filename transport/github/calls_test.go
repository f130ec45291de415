package github_test

// Tests for issue 26, "GitHub as it really is": how many GitHub calls each
// kind of event costs, and that a /retest waits on GitHub once before its
// PipelineRun is created. GitHub is the stand-in checked against GitHub's
// REST description; its answers are held and released round by round.

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

// The GitHub operations tekbot calls, as the stand-in names them.
const (
	callReact = "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions"
	callPR    = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
	callPerm  = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"
	// callWriters lists the repository's writers: one call answers for
	// every maintainer.
	callWriters = "GET /repos/{owner}/{repo}/collaborators"
	callTeam    = "GET /orgs/{org}/teams/{team_slug}/memberships/{username}"
	callLabel   = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels"
	callReply   = "POST /repos/{owner}/{repo}/issues/{issue_number}/comments"
	// notModified marks a call GitHub answered 304: made, but not counted
	// against the rate limit.
	notModified = " (304)"
)

const (
	teamMember = "plumber"
	team       = owner + "/plumbing"
	// coMaintainer is a second writer: their commands list the writers
	// before a maintainer tekbot has never seen comments.
	coMaintainer = "afrittoli"
)

// event is one delivery: a comment, or a press of "Re-run checks".
type event struct {
	login, body string
	// association is comment.author_association; "" sends check_suite
	// rerequested instead of a comment.
	association string
}

func (e *env) send(r *replica, ev event, n int) {
	e.t.Helper()
	id := fmt.Sprintf("calls-%d", n)
	kind, body := "issue_comment", []byte(nil)
	if ev.association == "" {
		kind = "check_suite"
		body = githubtest.CheckSuiteRerequested(e.t, githubtest.CheckSuiteOptions{
			ID: int64(n), HeadSHA: headSHA, Sender: ev.login, SenderType: "User", UpdatedAt: time.Now().UTC().Format(time.RFC3339),
			Owner: owner, Repo: repoName, PullRequests: []int{prNumber},
		})
	} else {
		// GitHub has the comment before it delivers it: the PR's comment
		// count, and so its ETag, has changed.
		e.gh.AddComment(owner, repoName, prNumber, ev.login, ev.body)
		body = githubtest.PRComment(e.t, githubtest.PRCommentOptions{
			Body: ev.body, CommentID: int64(n), Commenter: ev.login, CommenterType: "User", AuthorAssociation: ev.association,
			Number: prNumber, State: "open", PRAuthor: contributor, Owner: owner, Repo: repoName, Labels: []string{},
		})
	}
	if code, msg := r.Deliver(e.t, kind, id, body); code != http.StatusAccepted {
		e.t.Fatalf("%s %q by %s: %d %s", kind, ev.body, ev.login, code, msg)
	}
}

// calls names the requests GitHub received from the from'th on, sorted.
func (e *env) calls(from int) []string {
	var out []string
	for _, r := range e.gh.Requests()[from:] {
		c := r.Method + " " + r.Template
		if r.Status == http.StatusNotModified {
			c += notModified
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// TestGitHubCallsPerCommand counts the GitHub calls of each kind of event,
// after what came before it (a commenter seen before, a PR read before),
// so that the table in README.md and BENCHMARKS.md cannot grow unseen. A
// /retest by a maintainer costs three: 👀, the PR's read (answered 304
// when it has not changed) and the reply; their write permission comes
// from the list of the repository's writers, read once for everyone (the
// first command after a start reads it, beside the PR).
func TestGitHubCallsPerCommand(t *testing.T) {
	t.Parallel()
	var (
		maintainerRetest = event{maintainer, "/retest", "MEMBER"}
		okToTest         = event{maintainer, "/ok-to-test", "MEMBER"}
		othersRetest     = event{coMaintainer, "/retest", "MEMBER"}
	)
	tests := []struct {
		name   string
		before []event // delivered first, not counted
		// expire: the cached answers are stale by the event, as a minute
		// after the events before.
		expire bool
		event  event
		want   []string
		// counted: calls that count against the rate limit (not 304).
		counted int
	}{
		{
			name:  "maintainer /retest, the first command since the start",
			event: maintainerRetest,
			want:  []string{callPR, callWriters, callReact, callReply}, counted: 4,
		},
		{
			name:   "maintainer /retest, never seen before",
			before: []event{othersRetest},
			event:  maintainerRetest,
			want:   []string{callPR, callReact, callReply}, counted: 3,
		},
		{
			name:   "maintainer /retest, seen within a minute",
			before: []event{maintainerRetest},
			event:  maintainerRetest,
			want:   []string{callPR, callReact, callReply}, counted: 3,
		},
		{
			name:   "maintainer /retest, never seen, writers listed over a minute ago",
			before: []event{othersRetest},
			expire: true,
			event:  maintainerRetest,
			want:   []string{callPR, callWriters + notModified, callReact, callReply}, counted: 3,
		},
		{
			name:   "author /retest of an approved commit",
			before: []event{okToTest},
			event:  event{contributor, "/retest", "CONTRIBUTOR"},
			want:   []string{callPR, callTeam, callReply}, counted: 3,
		},
		{
			name:   "team member /retest, never seen before",
			before: []event{othersRetest},
			event:  event{teamMember, "/retest", "MEMBER"},
			want:   []string{callPR, callTeam, callReact, callReply}, counted: 4,
		},
		{
			name:   "/ok-to-test",
			before: []event{othersRetest},
			event:  okToTest,
			want:   []string{callPR, callReact, callLabel, callReply}, counted: 4,
		},
		{
			name:   "a stranger's /test all, denied",
			before: []event{othersRetest},
			event:  event{stranger, "/test all", "NONE"},
			want:   []string{callPR, callTeam, callReply}, counted: 3,
		},
		{
			name:   "a stranger's /test all again, within ten minutes",
			before: []event{{stranger, "/test all", "NONE"}},
			event:  event{stranger, "/test all", "NONE"},
			want:   []string{callPR}, counted: 1,
		},
		{
			name:   "check_suite rerequested by a maintainer",
			before: []event{othersRetest},
			event:  event{login: maintainer},
			want:   []string{callPR, callReply}, counted: 2,
		},
		{
			name:   "check_suite rerequested again, over a minute later",
			before: []event{{login: maintainer}},
			expire: true,
			event:  event{login: maintainer},
			want:   []string{callPR, callWriters + notModified, callReply}, counted: 2,
		},
		{
			// Queued until the PR merges, then the PR is read again in
			// case it merged meanwhile: unchanged, so a 304.
			name:   "a declared command, /cherry-pick on an open PR",
			before: []event{othersRetest},
			event:  event{maintainer, "/cherry-pick release-v1.2.x", "MEMBER"},
			want:   []string{callPR, callPR + notModified, callReact, callReply}, counted: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.declare(cherryPick)
			e.cfg.GitHub.Repositories[0].TrustedTeams = []string{team}
			e.gh.SetPermission(owner, repoName, coMaintainer, "maintain")
			e.gh.SetPermission(owner, repoName, teamMember, "read")
			e.gh.SetPermission(owner, repoName, stranger, "read")
			e.gh.AddTeamMember(owner, "plumbing", teamMember)
			mergeable := true
			e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: prNumber, User: contributor, HeadSHA: headSHA, Mergeable: &mergeable})
			e.seed("unit-tests", kube.Failed, false)
			api := e.apiClient() // one client: its caches see every event
			for i, ev := range tt.before {
				r := e.replicaWith(api)
				e.send(r, ev, 9000+i)
				r.Drain(t)
			}
			if tt.expire {
				api.ExpireCache()
			}
			from := len(e.gh.Requests())
			r := e.replicaWith(api)
			e.send(r, tt.event, 9100)
			r.Drain(t)
			got := e.calls(from)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(got, want) {
				t.Errorf("GitHub calls:\n got %q\nwant %q", got, want)
			}
			counted := 0
			for _, c := range got {
				if !strings.HasSuffix(c, notModified) {
					counted++
				}
			}
			if counted != tt.counted {
				t.Errorf("%d calls counted against the rate limit, want %d", counted, tt.counted)
			}
			if len(e.replies()) == 0 {
				t.Errorf("no reply on the PR")
			}
		})
	}
}

// TestRetestWaitsOnGitHubOnceBeforeTheCreate holds GitHub's answers and
// releases them one round at a time: the first round answers everything
// asked so far (the PR read, the commenter's permission, 👀), and the
// rerun must then exist while everything asked later stays unanswered. So
// from a signed /retest to its PipelineRun, tekbot waits on GitHub once,
// for a commenter never seen (writers listed beside the PR read) and one
// seen before (permission from the cache), and the 👀 and the reply wait
// for nothing on the way.
func TestRetestWaitsOnGitHubOnceBeforeTheCreate(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		seenEarly bool
		round1    []string // asked before anything is answered
	}{
		{"never seen", false, []string{callPR, callWriters}},
		{"seen before", true, []string{callPR}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			api := e.apiClient()
			if tt.seenEarly {
				e.seed("lint", kube.Failed, false)
				r := e.replicaWith(api)
				e.send(r, event{maintainer, "/retest", "MEMBER"}, 9200)
				r.Drain(t)
			}
			unit := e.seed("unit-tests", kube.Failed, false)

			r := e.replicaWith(api)
			e.gh.Hold() // after the replica: the test's end opens GitHub, then drains it
			e.send(r, event{maintainer, "/retest", "MEMBER"}, 9201)
			poll.Until(t, fmt.Sprintf("GitHub asked %q before answering any", tt.round1), 20*time.Second, func() bool {
				held := heldCalls(e.gh)
				for _, c := range tt.round1 {
					if !slices.Contains(held, c) {
						return false
					}
				}
				return true
			})
			e.gh.Release()
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("GitHub calls held at the end: %q", heldCalls(e.gh))
				}
			})
			poll.Until(t, "the rerun created after one GitHub round trip, while the next round is held", 30*time.Second, func() bool {
				_, ok := reruns(e.runs())[unit.Name]
				return ok
			})
			for _, c := range heldCalls(e.gh) {
				if c == callPR || c == callWriters || c == callPerm || c == callTeam {
					t.Errorf("a second round asked %s: it was not needed before the Create", c)
				}
			}
			e.gh.Open()
			r.Drain(t)
			if n := len(e.replies()); n != 1+btoi(tt.seenEarly) {
				t.Errorf("%d replies, want one per /retest", n)
			}
		})
	}
}

// replies are tekbot's comments on the PR.
func (e *env) replies() []githubtest.Comment {
	var out []githubtest.Comment
	for _, c := range e.gh.Comments(owner, repoName, prNumber) {
		if c.User == "tekbot[bot]" {
			out = append(out, c)
		}
	}
	return out
}

func heldCalls(s *githubtest.Server) []string {
	var out []string
	for _, r := range s.Held() {
		out = append(out, r.Method+" "+r.Template)
	}
	return out
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestRateLimitedCommandsWaitAndRunOnce: when GitHub refuses a call for a
// rate limit, primary (until its reset) or secondary (Retry-After), the
// command waits until the limit lifts and then runs: one rerun, one reply,
// nothing dropped and nothing twice.
func TestRateLimitedCommandsWaitAndRunOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		limit func(*githubtest.Server)
		// limited is the operation refused first; it is asked once more.
		limited string
	}{
		{"secondary limit on the PR read", func(s *githubtest.Server) {
			s.SecondaryLimitNext("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", time.Second, 1)
		}, callPR},
		{"secondary limit on the reply", func(s *githubtest.Server) {
			s.SecondaryLimitNext("POST", "/repos/{owner}/{repo}/issues/{issue_number}/comments", time.Second, 1)
		}, callReply},
		{"primary limit spent for a second", func(s *githubtest.Server) {
			s.ExhaustRateLimit(time.Now().Add(2 * time.Second))
		}, callPR},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			unit := e.seed("unit-tests", kube.Failed, false)
			tt.limit(e.gh)
			r := e.replica()
			e.send(r, event{maintainer, "/retest", "MEMBER"}, 9300)
			r.Drain(t)
			if got := reruns(e.runs()); len(got) != 1 || got[unit.Name].Name == "" {
				t.Fatalf("want unit-tests rerun once, got reruns of %v", keys(got))
			}
			replies := e.replies()
			if len(replies) != 1 || !strings.Contains(replies[0].Body, "unit-tests") {
				t.Fatalf("want one reply naming the rerun, got %+v", replies)
			}
			asked := 0
			for _, c := range e.calls(0) {
				if c == tt.limited {
					asked++
				}
			}
			if asked != 2 {
				t.Errorf("%s asked %d times, want twice (refused, then answered)", tt.limited, asked)
			}
		})
	}
}
