package robust_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"tekbot/test/githubtest"
)

// TestGitHubRateLimitsQueueCommands meets GitHub's rate limits in the
// middle of a burst of 50 /retests, each on its own PR with a failed run,
// delivered as signed webhooks: the primary limit spent until a reset a
// few seconds away (the suite stays fast; a real reset is up to an hour,
// and a wait longer than a minute is named to the requester instead), or
// a secondary limit answered with Retry-After to more calls than the pool
// has workers, so that a call made again after its wait can be refused
// again. Every command waits and then runs: 50 reruns, one reply each
// saying so, none lost, none doubled.
//
// sent counts commands, done those rerun once and answered once.
func TestGitHubRateLimitsQueueCommands(t *testing.T) {
	t.Parallel()
	const commands = 50
	for _, tt := range []struct {
		name    string
		firstPR int
		limit   func(*githubtest.Server)
	}{
		{"github primary limit", 4000, func(s *githubtest.Server) {
			// ExhaustRateLimit truncates to whole seconds, as
			// X-RateLimit-Reset is: the limit lasts two to three seconds.
			s.ExhaustRateLimit(time.Now().Add(3 * time.Second))
		}},
		{"github secondary limit", 4100, func(s *githubtest.Server) {
			s.SecondaryLimitNext(http.MethodPost, "/repos/{owner}/{repo}/issues/{issue_number}/comments", time.Second, 20)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			prs := make([]int, commands)
			for i := range prs {
				prs[i] = tt.firstPR + i
			}
			w.pullRequests(prs, true)
			r := w.replica(replicaOptions{})
			tt.limit(w.gh)
			for _, pr := range prs {
				if code, msg := r.Deliver(t, "issue_comment", fmt.Sprintf("limit-%d", pr), w.comment(pr, "/retest")); code != http.StatusAccepted {
					t.Errorf("PR #%d: %d %q", pr, code, msg)
				}
			}
			// Drain is bounded (a minute) and returns once every
			// accepted command has been handled: no sleep.
			r.Drain(t)

			refusals := 0
			for _, req := range w.gh.Requests() {
				if req.Status == http.StatusForbidden {
					refusals++
				}
			}
			if refusals == 0 {
				t.Fatal("GitHub refused no call: the limit was never met and the test tested nothing")
			}
			reruns := w.reruns()
			done := 0
			for _, pr := range prs {
				replies := w.replies(pr)
				if reruns[pr] != 1 || len(replies) != 1 || !strings.Contains(replies[0].Body, "Rerunning") {
					t.Errorf("PR #%d: %d new runs and replies %+v; want one run and one reply saying it reruns", pr, reruns[pr], replies)
					continue
				}
				done++
			}
			t.Logf("GitHub refused %d calls for its limit", refusals)
			summarize(t, tt.name, commands, done, 0)
		})
	}
}
