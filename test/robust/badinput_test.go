package robust_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"tekbot/test/githubtest"
	"tekbot/test/testenv"
)

// TestBadInputIsRefusedWithAMessage sends what an attacker, a broken proxy
// or a confused user might, to both transports through one server. Every
// request gets the right status and a message; those that carry a command
// tekbot can read are answered with one reply saying why nothing was done.
// Each GitHub case comments on its own PR, which has a failed run a wrong
// /retest would rerun, so nothing done by mistake can hide.
//
// sent counts requests, refused those answered as the case expects, and
// done is 0: none of them may act.
func TestBadInputIsRefusedWithAMessage(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	r := w.replica(replicaOptions{})
	hook := r.Server.URL + "/github/webhook"

	type ghCase struct {
		name string
		// body is the comment, or the raw body when raw is set.
		body string
		raw  []byte
		// edit changes the signed delivery before it is sent.
		edit func(req *http.Request, body []byte)
		want int
		says string
		// reply, when set, is part of the one reply the command gets.
		reply string
	}
	resign := func(secret []byte) func(*http.Request, []byte) {
		return func(req *http.Request, body []byte) {
			req.Header.Set(githubtest.HeaderSignature256, githubtest.Sign(secret, body))
		}
	}
	noSuchPipeline := "no such pipeline for this commit"
	ghCases := []ghCase{
		{name: "no signature", body: "/retest", edit: func(req *http.Request, _ []byte) {
			req.Header.Del(githubtest.HeaderSignature256)
			req.Header.Del(githubtest.HeaderSignature)
		}, want: http.StatusUnauthorized, says: "X-Hub-Signature-256"},
		{name: "wrong secret", body: "/retest", edit: resign([]byte("not-the-secret")), want: http.StatusUnauthorized, says: "X-Hub-Signature-256"},
		{name: "stale signature: the secret before rotation", body: "/retest", edit: resign([]byte("robust-webhook-secret-2025")), want: http.StatusUnauthorized, says: "X-Hub-Signature-256"},
		{name: "signature of another body", body: "/retest", edit: func(req *http.Request, _ []byte) {
			req.Header.Set(githubtest.HeaderSignature256, githubtest.Sign(webhookSecret, []byte("{}")))
		}, want: http.StatusUnauthorized, says: "X-Hub-Signature-256"},
		{name: "legacy sha1 signature only", body: "/retest", edit: func(req *http.Request, _ []byte) {
			req.Header.Del(githubtest.HeaderSignature256)
		}, want: http.StatusUnauthorized, says: "X-Hub-Signature-256"},
		{name: "GET instead of POST", body: "/retest", edit: func(req *http.Request, _ []byte) { req.Method = http.MethodGet },
			want: http.StatusMethodNotAllowed, says: "POST only"},
		{name: "no delivery id", body: "/retest", edit: func(req *http.Request, _ []byte) { req.Header.Del(githubtest.HeaderDelivery) },
			want: http.StatusBadRequest, says: "X-GitHub-Delivery"},
		{name: "body over the cap", raw: append([]byte(`{"action":"created","comment":{"body":"/retest `), bytes.Repeat([]byte("x"), int(w.cfg.Server.MaxBodyBytes))...),
			want: http.StatusRequestEntityTooLarge, says: "larger than"},
		{name: "truncated JSON", raw: w.comment(9, "/retest")[:2000], want: http.StatusBadRequest, says: "malformed payload"},
		{name: "not JSON", raw: []byte("action=created&comment=/retest"), want: http.StatusBadRequest, says: "malformed payload"},
		{name: "JSON of the wrong shape", raw: []byte(`{"action":["created"],"comment":"/retest"}`), want: http.StatusBadRequest, says: "malformed payload"},
		{name: "unknown event", body: "/retest", edit: func(req *http.Request, _ []byte) {
			req.Header.Set(githubtest.HeaderEvent, "deployment_protection_rule")
		},
			want: http.StatusOK, says: "ignored: event deployment_protection_rule"},
		{name: "65,536-character comment without a command", body: strings.Repeat("please /retest this when you can. ", 65536/34) + strings.Repeat("!", 65536%34),
			want: http.StatusOK, says: "ignored: no tekbot command"},
		{name: "NUL byte in the verb", body: "/retest\x00", want: http.StatusOK, says: "ignored: no tekbot command"},
		{name: "zero-width space in the verb", body: "/re\u200btest", want: http.StatusOK, says: "ignored: no tekbot command"},
		{name: "right-to-left override in the verb", body: "/\u202etsetre", want: http.StatusOK, says: "ignored: no tekbot command"},
		{name: "NUL byte in an argument", body: "/test unit\x00tests", want: http.StatusAccepted, says: "accepted 1", reply: noSuchPipeline},
		{name: "zero-width joiner in an argument", body: "/retest unit\u200d-tests", want: http.StatusAccepted, says: "accepted 1", reply: noSuchPipeline},
		{name: "right-to-left override in an argument", body: "/test \u202estset-tinu", want: http.StatusAccepted, says: "accepted 1", reply: noSuchPipeline},
		{name: "command substitution", body: "/test $(rm -rf /)", want: http.StatusAccepted, says: "accepted 1", reply: noSuchPipeline},
		{name: "path traversal", body: "/retest ../../etc", want: http.StatusAccepted, says: "accepted 1", reply: noSuchPipeline},
		{name: "a name with a semicolon", body: "/test unit-tests;rm -rf /", want: http.StatusAccepted, says: "accepted 1", reply: noSuchPipeline},
		{name: "backticks", body: "/retest `id`", want: http.StatusAccepted, says: "accepted 1", reply: noSuchPipeline},
	}
	prs := make([]int, len(ghCases))
	for i := range ghCases {
		prs[i] = 100 + i
	}
	w.pullRequests(prs, true)

	type slackCase struct {
		name string
		path string
		// text is the slash command's text, unless raw is set.
		text string
		raw  []byte
		sign func(req *http.Request, body []byte)
		want int
		says string
		// reply, when set, is part of the one answer through the
		// command's response_url.
		reply string
	}
	signedAt := func(secret string, ts time.Time) func(*http.Request, []byte) {
		return func(req *http.Request, body []byte) { testenv.SignSlack(req, secret, ts, body) }
	}
	signed := signedAt(slackSecret, time.Now())
	notAName := "is not a PipelineRun name"
	slackCases := []slackCase{
		{name: "no signature", path: "/slack/commands", text: "rerun pr-100-unit-tests", sign: func(*http.Request, []byte) {}, want: http.StatusUnauthorized, says: "X-Slack-Signature"},
		{name: "wrong secret", path: "/slack/commands", text: "rerun pr-100-unit-tests", sign: signedAt("not-the-secret", time.Now()), want: http.StatusUnauthorized, says: "X-Slack-Signature"},
		{name: "stale signature: 6 minutes old", path: "/slack/commands", text: "rerun pr-100-unit-tests", sign: signedAt(slackSecret, time.Now().Add(-6*time.Minute)), want: http.StatusUnauthorized, says: "X-Slack-Signature"},
		{name: "body over the cap", path: "/slack/commands", raw: append([]byte("text=status+"), bytes.Repeat([]byte("x"), int(w.cfg.Server.MaxBodyBytes))...), sign: signed, want: http.StatusRequestEntityTooLarge, says: "larger than"},
		{name: "truncated form", path: "/slack/commands", raw: []byte("user_id=" + slackUser + "&trigger_id=t&text=rerun%2"), sign: signed, want: http.StatusBadRequest, says: "malformed form body"},
		{name: "JSON instead of a form", path: "/slack/commands", raw: []byte(`{"text":"rerun pr-100-unit-tests"}`), sign: signed, want: http.StatusBadRequest, says: "trigger_id"},
		{name: "no trigger_id", path: "/slack/commands", raw: []byte("text=status&user_id=" + slackUser), sign: signed, want: http.StatusBadRequest, says: "trigger_id"},
		{name: "NUL byte in the verb", path: "/slack/commands", text: "rerun\x00 pr-100-unit-tests", sign: signed, want: http.StatusOK, says: "control character (U+0000)"},
		{name: "zero-width space in the verb", path: "/slack/commands", text: "re\u200brun pr-100-unit-tests", sign: signed, want: http.StatusOK, says: "(U+200B)"},
		{name: "right-to-left override in an argument", path: "/slack/commands", text: "rerun \u202estset-tinu-001-rp", sign: signed, want: http.StatusOK, says: "(U+202E)"},
		{name: "command substitution", path: "/slack/commands", text: "rerun $(rm -rf /)", sign: signed, want: http.StatusOK, says: "Working on `rerun`", reply: "Usage: `rerun"},
		{name: "path traversal", path: "/slack/commands", text: "rerun ../../etc", sign: signed, want: http.StatusOK, says: "Working on `rerun`", reply: notAName},
		{name: "a name with a semicolon", path: "/slack/commands", text: "rerun pr-100-unit-tests;id", sign: signed, want: http.StatusOK, says: "Working on `rerun`", reply: notAName},
		{name: "65,536-character command", path: "/slack/commands", text: "rerun " + strings.Repeat("a", 65536-len("rerun ")), sign: signed, want: http.StatusOK, says: "Working on `rerun`", reply: notAName},
		{name: "malformed interaction", path: "/slack/interactivity", raw: []byte("payload=%7B%22type%22"), sign: signed, want: http.StatusBadRequest, says: "malformed"},
		{name: "truncated event", path: "/slack/events", raw: []byte(`{"type":"event_callback","event":{"type":"app_mention","text":"<@U0TEKBOT> rerun pr-100`), sign: signed, want: http.StatusBadRequest, says: "malformed"},
	}

	// passed[i] says case i (GitHub cases first) was answered as it should.
	passed := make([]bool, len(ghCases)+len(slackCases))
	for i, tc := range ghCases {
		passed[i] = t.Run("github/"+tc.name, func(t *testing.T) {
			pr := prs[i]
			body := tc.raw
			if body == nil {
				body = w.comment(pr, tc.body)
			}
			req := githubtest.WebhookRequest(t, hook, "issue_comment", fmt.Sprintf("bad-%d", pr), webhookSecret, body)
			if tc.edit != nil {
				tc.edit(req, body)
			}
			code, msg := testenv.Do(t, req)
			if code != tc.want || !strings.Contains(msg, tc.says) {
				t.Errorf("got %d %q, want %d saying %q", code, msg, tc.want, tc.says)
			}
		})
	}
	for i, tc := range slackCases {
		passed[len(ghCases)+i] = t.Run("slack/"+tc.name, func(t *testing.T) {
			body := tc.raw
			if body == nil {
				body = w.slashCommand(tc.text, fmt.Sprintf("bad-%d", i))
			}
			req := post(t, r.Server.URL+tc.path, body, map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
			tc.sign(req, body)
			code, msg := testenv.Do(t, req)
			if code != tc.want || !strings.Contains(msg, tc.says) {
				t.Errorf("got %d %q, want %d saying %q", code, msg, tc.want, tc.says)
			}
		})
	}
	r.Drain(t)

	// What the accepted commands did: one reply each, saying why nothing
	// was done, and nothing else.
	for i, tc := range ghCases {
		got := w.replies(prs[i])
		switch {
		case tc.reply == "" && len(got) != 0:
			t.Errorf("github/%s: replied %q", tc.name, got[0].Body)
			passed[i] = false
		case tc.reply != "" && (len(got) != 1 || !strings.Contains(got[0].Body, tc.reply)):
			t.Errorf("github/%s: want one reply saying %q, got %+v", tc.name, tc.reply, got)
			passed[i] = false
		}
	}
	answers := map[string][]string{}
	for _, m := range w.slack.messages() {
		answers[m.Where] = append(answers[m.Where], m.Text)
	}
	for i, tc := range slackCases {
		got := answers[fmt.Sprintf("respond/bad-%d", i)]
		delete(answers, fmt.Sprintf("respond/bad-%d", i))
		switch {
		case tc.reply == "" && len(got) != 0:
			t.Errorf("slack/%s: answered %q", tc.name, got)
			passed[len(ghCases)+i] = false
		case tc.reply != "" && (len(got) != 1 || !strings.Contains(got[0], tc.reply)):
			t.Errorf("slack/%s: want one answer saying %q, got %q", tc.name, tc.reply, got)
			passed[len(ghCases)+i] = false
		}
	}
	if len(answers) != 0 {
		t.Errorf("messages to Slack that no case asked for: %v", answers)
	}
	if n := len(w.reruns()); n != 0 {
		t.Errorf("bad input created runs on %d PRs", n)
	}
	// GitHub saw the reads and the 👀 of accepted commands and their one
	// reply each (checked above); nothing else, and no label changed.
	for _, req := range w.gh.Requests() {
		switch req.Method + " " + req.Template {
		case "POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions",
			"GET /repos/{owner}/{repo}/pulls/{pull_number}",
			"GET /repos/{owner}/{repo}/collaborators",
			"GET /repos/{owner}/{repo}/collaborators/{username}/permission",
			"POST /repos/{owner}/{repo}/issues/{issue_number}/comments":
		default:
			t.Errorf("bad input made tekbot call GitHub: %s", req)
		}
	}
	refused := 0
	for _, ok := range passed {
		if ok {
			refused++
		}
	}
	summarize(t, "bad input", len(passed), 0, refused)
}
