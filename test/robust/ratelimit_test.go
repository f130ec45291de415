package robust_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"tekbot/test/githubtest"
	"tekbot/transport/slack"
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
		{"github primary limit", 5000, func(s *githubtest.Server) {
			// ExhaustRateLimit truncates to whole seconds, as
			// X-RateLimit-Reset is: the limit lasts two to three seconds.
			s.ExhaustRateLimit(time.Now().Add(3 * time.Second))
		}},
		{"github secondary limit", 5100, func(s *githubtest.Server) {
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
			done := w.rerunOnceEach(prs)
			t.Logf("GitHub refused %d calls for its limit", refusals)
			summarize(t, tt.name, commands, done, 0)
		})
	}
}

// TestSlackRateLimitBurst posts a burst of 100 messages to the build-cop
// channel at once, half of them failure alerts (chat.postMessage, as the
// alerter posts them) and half replies to slash commands (through their
// response_urls); after the first 20, Slack answers every message 429
// with Retry-After for a while. All 100 are delivered, none twice, and in the order tekbot
// first tried them: a message refused for the limit keeps its place
// instead of arriving after messages sent later.
//
// sent counts messages, done those delivered exactly once.
func TestSlackRateLimitBurst(t *testing.T) {
	t.Parallel()
	const messages, channel = 100, "C0BUILDCOP"
	w := newWorld(t)
	r := w.replica(replicaOptions{})
	w.slack.limitAfter(20, 2500*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i := range messages {
		wg.Go(func() {
			m := slack.Message{Text: fmt.Sprintf("message %03d", i), Public: true}
			var err error
			if i%2 == 0 {
				m.Text = "alert: " + m.Text
				err = r.Slack.Poster.PostMessage(ctx, channel, "", m)
			} else {
				m.Text = "reply: " + m.Text
				err = r.Slack.Poster.Respond(ctx, slack.ResponseURL{
					URL: fmt.Sprintf("%s/respond/burst-%d", w.slack.srv.URL, i), Issued: time.Now(), Channel: channel, User: slackUser,
				}, m)
			}
			if err != nil {
				t.Errorf("%q: %v", m.Text, err)
			}
		})
	}
	wg.Wait()

	var firstTried []string
	seen := map[string]bool{}
	refused := 0
	for _, m := range w.slack.tried() {
		if seen[m.Text] {
			refused++
			continue
		}
		seen[m.Text] = true
		firstTried = append(firstTried, m.Text)
	}
	if refused == 0 {
		t.Fatal("Slack refused no message: the limit was never met and the test tested nothing")
	}
	var delivered []string
	times := map[string]int{}
	for _, m := range w.slack.messages() {
		delivered = append(delivered, m.Text)
		times[m.Text]++
	}
	done := 0
	for _, n := range times {
		if n == 1 {
			done++
		}
	}
	for i := range min(len(delivered), len(firstTried)) {
		if delivered[i] != firstTried[i] {
			t.Errorf("message %d delivered is %q, but %q was tried before it", i, delivered[i], firstTried[i])
			break
		}
	}
	if n := r.Slack.Poster.Failures(); n != 0 {
		t.Errorf("the poster counted %d messages it could not deliver", n)
	}
	t.Logf("Slack answered 429 to %d tries", refused)
	summarize(t, "slack 429 burst", messages, done, 0)
}
