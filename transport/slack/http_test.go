package slack_test

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/testenv"
)

func TestSlashCommandIsAnsweredWithinThreeSecondsWhileTheClusterIsSlow(t *testing.T) {
	t.Parallel()
	// Every request to the nightly apiserver takes 2 s, so the rerun (a
	// get and a create) takes over 4 s: Slack must have its answer first.
	e := newEnv(t, envOptions{nightly: true, slowNightly: 2 * time.Second})
	orig := seed(t, e.nightly, e.nightlyNS, "pipeline-nightly-4f2b9c1", kube.Failed)
	r := e.replica()
	body := e.slashCommand(vincent, "rerun "+orig, "trigger-slow-1")

	start := time.Now()
	code, msg := r.PostSlack(t, "/slack/commands", body, time.Now())
	if took := time.Since(start); code != http.StatusOK || took >= 3*time.Second {
		t.Fatalf("slash command answered %d after %s, want 200 within 3s", code, took)
	}
	if a := decodeAnswer(t, msg); a.ResponseType != "ephemeral" || !strings.Contains(a.Text, "Working on `rerun`") {
		t.Errorf("immediate answer = %+v, want an ephemeral 'Working on `rerun`'", a)
	}
	// A retried POST of the same command (same trigger_id) does nothing new.
	if code, msg := r.PostSlack(t, "/slack/commands", body, time.Now()); code != http.StatusOK || !strings.Contains(decodeAnswer(t, msg).Text, "Already working") {
		t.Errorf("retried POST: %d %q, want 200 'Already working'", code, msg)
	}
	r.Drain(t)

	runs := reruns(t, e.nightly, e.nightlyNS, orig)
	if len(runs) != 1 {
		t.Fatalf("want one rerun in the apiserver, got %d", len(runs))
	}
	got := e.slack.messages("")
	if len(got) != 1 || got[0].Method != "response_url" || got[0].ResponseID != "trigger-slow-1" {
		t.Fatalf("want one answer through the command's response_url, got %+v", got)
	}
	link := "<https://dashboard.example/#/namespaces/" + e.nightlyNS + "/pipelineruns/" + runs[0].Name + "|" + runs[0].Name + ">"
	if got[0].ResponseType != "in_channel" || !strings.Contains(got[0].Text, link) {
		t.Errorf("answer = %s %q, want in_channel with %s", got[0].ResponseType, got[0].Text, link)
	}

	// The same request replayed 6 minutes later, to a replica that has
	// never seen it: the signature's timestamp is too old.
	late := e.replica()
	if code, msg := late.PostSlack(t, "/slack/commands", body, time.Now().Add(-6*time.Minute)); code != http.StatusUnauthorized {
		t.Fatalf("replay 6 minutes late: %d %q, want 401", code, msg)
	}
	late.Drain(t)
	if n := len(reruns(t, e.nightly, e.nightlyNS, orig)); n != 1 {
		t.Errorf("the replay created runs: %d reruns, want 1", n)
	}
	if n := len(e.slack.messages("")); n != 1 {
		t.Errorf("the replay answered: %d messages, want 1", n)
	}
}

// confirmButtons is the part of a confirm dialog's blocks tests look at.
type confirmButtons struct {
	text           string
	confirm, abort button
}

type button struct {
	ActionID string `json:"action_id"`
	Value    string `json:"value"`
	Style    string `json:"style"`
	Confirm  *struct {
		Style string `json:"style"`
		Title struct {
			Text string `json:"text"`
		} `json:"title"`
	} `json:"confirm"`
}

func parseConfirm(t *testing.T, d delivery) confirmButtons {
	t.Helper()
	var blocks []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Elements []button `json:"elements"`
	}
	if err := json.Unmarshal(d.Blocks, &blocks); err != nil {
		t.Fatalf("confirm blocks %s: %v", d.Blocks, err)
	}
	var c confirmButtons
	for _, b := range blocks {
		switch b.Type {
		case "section":
			c.text = b.Text.Text
		case "actions":
			for _, el := range b.Elements {
				switch el.ActionID {
				case "tekbot-confirm":
					c.confirm = el
				case "tekbot-cancel":
					c.abort = el
				}
			}
		}
	}
	if c.confirm.Value == "" || c.abort.Value == "" {
		t.Fatalf("no confirm and cancel buttons in %s", d.Blocks)
	}
	return c
}

// askToRerun runs "/tekton rerun <orig>" as vincent and returns the
// confirm dialog it gets.
func (e *env) askToRerun(r *replica, orig, triggerID string) confirmButtons {
	e.t.Helper()
	if code, msg := r.PostSlack(e.t, "/slack/commands", e.slashCommand(vincent, "rerun "+orig, triggerID), time.Now()); code != http.StatusOK {
		e.t.Fatalf("slash command: %d %q", code, msg)
	}
	ask := e.slack.next(e.t)
	if ask.Method != "response_url" || ask.ResponseID != triggerID || ask.ResponseType != "ephemeral" {
		e.t.Fatalf("want the dialog privately through the command's response_url, got %+v", ask)
	}
	c := parseConfirm(e.t, ask)
	if c.confirm.Style != "danger" || c.confirm.Confirm == nil || c.confirm.Confirm.Style != "danger" || c.confirm.Confirm.Title.Text == "" {
		e.t.Errorf("confirm button %+v: want style danger with a danger confirm dialog", c.confirm)
	}
	if !strings.Contains(c.text, orig) || !strings.Contains(c.text, "production") {
		e.t.Errorf("dialog text %q does not say what runs where", c.text)
	}
	return c
}

func TestRerunOnProductionRunsOnceAfterTheCallersConfirmation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	orig := seed(t, e.prod, e.prodNS, "pipeline-release-v1-15-1", kube.Failed)
	r := e.replica()

	dialog := e.askToRerun(r, orig, "trigger-prod-1")
	if n := len(reruns(t, e.prod, e.prodNS, orig)); n != 0 {
		t.Fatalf("asking to confirm created %d runs", n)
	}

	// Another maintainer presses Rerun: refused, privately, nothing runs.
	if code, msg := r.PostSlack(t, "/slack/interactivity", e.click(andrea, "tekbot-confirm", dialog.confirm.Value, "click-andrea"), time.Now()); code != http.StatusOK {
		t.Fatalf("click: %d %q", code, msg)
	}
	refusal := e.slack.next(t)
	if refusal.ResponseID != "click-andrea" || refusal.ResponseType != "ephemeral" || refusal.Replace ||
		!strings.Contains(refusal.Text, "Only <@"+vincent+"> can confirm") {
		t.Fatalf("want a private 'only <@%s> can confirm' that leaves the dialog, got %+v", vincent, refusal)
	}
	if n := len(reruns(t, e.prod, e.prodNS, orig)); n != 0 {
		t.Fatalf("another user's click created %d runs", n)
	}

	// vincent double-clicks, and the two clicks reach two replicas at once.
	a, b := e.replica(), e.replica()
	var wg sync.WaitGroup
	for i, rep := range []*replica{a, b} {
		wg.Go(func() {
			body := e.click(vincent, "tekbot-confirm", dialog.confirm.Value, []string{"click-1", "click-2"}[i])
			if code, msg := rep.PostSlack(t, "/slack/interactivity", body, time.Now()); code != http.StatusOK {
				t.Errorf("click %d: %d %q", i+1, code, msg)
			}
		})
	}
	wg.Wait()
	for _, rep := range []*replica{r, a, b} {
		rep.Drain(t)
	}

	runs := reruns(t, e.prod, e.prodNS, orig)
	if len(runs) != 1 {
		t.Fatalf("double click created %d runs, want 1", len(runs))
	}
	if got := runs[0].Annotations[tekton.AnnotationRequestID]; got != "trigger-prod-1" {
		t.Errorf("rerun made for request %q, want the original trigger-prod-1", got)
	}
	answered := map[string][]delivery{}
	for _, d := range e.slack.messages("response_url") {
		answered[d.ResponseID] = append(answered[d.ResponseID], d)
	}
	if clicked1, clicked2 := len(answered["click-1"]) > 0, len(answered["click-2"]) > 0; clicked1 == clicked2 {
		t.Fatalf("want exactly one click answered, got click-1 %+v, click-2 %+v", answered["click-1"], answered["click-2"])
	}
	winner := append(answered["click-1"], answered["click-2"]...)
	if len(winner) != 2 || winner[0].ResponseType != "in_channel" || !strings.Contains(winner[0].Text, runs[0].Name) ||
		!winner[1].Replace || !strings.Contains(winner[1].Text, "Confirmed by <@"+vincent+">") {
		t.Errorf("want the result in the channel, then the dialog closed; got %+v", winner)
	}
}

func TestCancelledConfirmationRunsNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	orig := seed(t, e.prod, e.prodNS, "pipeline-release-v1-15-2", kube.TimedOut)
	r := e.replica()
	dialog := e.askToRerun(r, orig, "trigger-cancel-1")

	if code, msg := r.PostSlack(t, "/slack/interactivity", e.click(vincent, "tekbot-cancel", dialog.abort.Value, "click-cancel"), time.Now()); code != http.StatusOK {
		t.Fatalf("cancel: %d %q", code, msg)
	}
	if got := e.slack.next(t); got.ResponseID != "click-cancel" || !got.Replace || !strings.Contains(got.Text, "Cancelled") {
		t.Fatalf("want the dialog replaced by 'Cancelled', got %+v", got)
	}
	// A late press of Rerun, on another replica, finds the request closed.
	late := e.replica()
	if code, msg := late.PostSlack(t, "/slack/interactivity", e.click(vincent, "tekbot-confirm", dialog.confirm.Value, "click-late"), time.Now()); code != http.StatusOK {
		t.Fatalf("late click: %d %q", code, msg)
	}
	r.Drain(t)
	late.Drain(t)
	if n := len(reruns(t, e.prod, e.prodNS, orig)); n != 0 {
		t.Errorf("a cancelled confirmation created %d runs", n)
	}
	if n := len(e.slack.messages("")); n != 2 {
		t.Errorf("want 2 messages (dialog, cancelled), got %+v", e.slack.messages(""))
	}
}

func TestUnknownSlackUsersMayOnlyRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	orig := seed(t, e.prod, e.prodNS, "pipeline-release-stranger", kube.Failed)
	r := e.replica()
	for text, trigger := range map[string]string{"rerun " + orig: "trigger-rerun", "status": "trigger-status"} {
		if code, msg := r.PostSlack(t, "/slack/commands", e.slashCommand(stranger, text, trigger), time.Now()); code != http.StatusOK {
			t.Fatalf("%s: %d %q", text, code, msg)
		}
	}
	r.Drain(t)
	answers := map[string]delivery{}
	for _, d := range e.slack.messages("response_url") {
		answers[d.ResponseID] = d
	}
	if d := answers["trigger-rerun"]; d.ResponseType != "ephemeral" || !strings.Contains(d.Text, "Sorry, you may not run `rerun`. Who may: maintainers (vincent, andrea)") {
		t.Errorf("want a private denial naming who may rerun, got %+v", d)
	}
	if d := answers["trigger-status"]; d.ResponseType != "ephemeral" || !strings.Contains(d.Text, "*dogfooding* (production, "+e.prodNS+"): 1 pipelines, 1 failing") {
		t.Errorf("want the status, privately, got %+v", d)
	}
	if n := len(reruns(t, e.prod, e.prodNS, orig)); n != 0 {
		t.Errorf("a stranger's rerun created %d runs", n)
	}
}

func TestMentionRetriedBySlackIsAnsweredOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	const ts = "1767326125.870439"
	body := e.mention("Ev0CAPTAIN1", vincent, "<@"+botUser+"> who is the build captain ?", ts)
	r := e.replica()
	for retry := range 3 {
		var header []string
		if retry > 0 {
			header = []string{"X-Slack-Retry-Num", strconv.Itoa(retry), "X-Slack-Retry-Reason", "http_timeout"}
		}
		if code, msg := r.PostSlack(t, "/slack/events", body, time.Now(), header...); code != http.StatusOK {
			t.Fatalf("delivery %d: %d %q", retry, code, msg)
		}
	}
	r.Drain(t)
	// Slack's last retry lands on another replica: the claim stops it.
	other := e.replica()
	if code, msg := other.PostSlack(t, "/slack/events", body, time.Now(), "X-Slack-Retry-Num", "3", "X-Slack-Retry-Reason", "http_timeout"); code != http.StatusOK {
		t.Fatalf("retry on another replica: %d %q", code, msg)
	}
	other.Drain(t)

	got := e.slack.messages("")
	if len(got) != 1 {
		t.Fatalf("want one answer, got %d: %+v", len(got), got)
	}
	if got[0].Method != "chat.postMessage" || got[0].Channel != channel || got[0].ThreadTS != ts ||
		!strings.Contains(got[0].Text, "The build captain is vincent (<@"+vincent+">)") {
		t.Errorf("want the captain named in the mention's thread, got %+v", got[0])
	}
}

func TestBadRequestsAreRefusedAndDoNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	orig := seed(t, e.prod, e.prodNS, "pipeline-release-bad-input", kube.Failed)
	r := e.replica()
	command := func(text string) []byte { return e.slashCommand(vincent, text, "trigger-"+text) }
	good := command("rerun " + orig)
	huge := append(command("status "), strings.Repeat("x", int(e.cfg.Server.MaxBodyBytes))...)
	signedAt := func(secret string, ts time.Time) func(*http.Request, []byte) {
		return func(req *http.Request, body []byte) { testenv.SignSlack(req, secret, ts, body) }
	}
	slackSigned := signedAt(signingSecret, time.Now())
	tests := []struct {
		name string
		path string
		body []byte
		sign func(*http.Request, []byte)
		want int
		// says is part of the answer's text.
		says string
	}{
		{"no signature", "/slack/commands", good, func(*http.Request, []byte) {}, http.StatusUnauthorized, "X-Slack-Signature"},
		{"wrong secret", "/slack/commands", good, signedAt("not-the-secret", time.Now()), http.StatusUnauthorized, ""},
		{"signature of another body", "/slack/commands", good, func(req *http.Request, _ []byte) {
			testenv.SignSlack(req, signingSecret, time.Now(), []byte("text=help"))
		}, http.StatusUnauthorized, ""},
		{"timestamp 6 minutes old", "/slack/commands", good, signedAt(signingSecret, time.Now().Add(-6*time.Minute)), http.StatusUnauthorized, ""},
		{"timestamp 6 minutes ahead", "/slack/commands", good, signedAt(signingSecret, time.Now().Add(6*time.Minute)), http.StatusUnauthorized, ""},
		{"oversized", "/slack/commands", huge, slackSigned, http.StatusRequestEntityTooLarge, "larger than"},
		{"malformed form", "/slack/commands", []byte("text=rerun%zz&user_id=" + vincent), slackSigned, http.StatusBadRequest, ""},
		{"no trigger_id", "/slack/commands", []byte("text=status&user_id=" + vincent), slackSigned, http.StatusBadRequest, "trigger_id"},
		{"unknown verb", "/slack/commands", command("rerunn " + orig), slackSigned, http.StatusOK, "Did you mean `rerun &lt;pipelinerun|dashboard URL|PR URL&gt;"},
		{"empty text is help", "/slack/commands", command(""), slackSigned, http.StatusOK, "• `/tekton rerun &lt;pipelinerun|dashboard URL|PR URL&gt; [on &lt;cluster&gt;]` — rerun"},
		{"NUL byte", "/slack/commands", command("rerun\x00 " + orig), slackSigned, http.StatusOK, "control character (U+0000)"},
		{"zero-width space in the verb", "/slack/commands", command("re\u200brun " + orig), slackSigned, http.StatusOK, "invisible or control character (U+200B)"},
		{"bidi override in the argument", "/slack/commands", command("rerun \u202e" + orig), slackSigned, http.StatusOK, "(U+202E)"},
		{"no payload", "/slack/interactivity", []byte("token=x"), slackSigned, http.StatusBadRequest, "payload"},
		{"malformed payload", "/slack/interactivity", []byte("payload=%7B%22type%22"), slackSigned, http.StatusBadRequest, ""},
		{"button tekbot did not make", "/slack/interactivity", e.click(vincent, "tekbot-confirm", "rm -rf /", "click-forged"), slackSigned, http.StatusBadRequest, ""},
		{"someone else's button", "/slack/interactivity", e.click(vincent, "approve-deploy", "{}", "click-other"), slackSigned, http.StatusOK, ""},
		{"malformed event", "/slack/events", []byte(`{"type":"event_callback","event":`), slackSigned, http.StatusBadRequest, ""},
		{"url verification", "/slack/events", []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`), slackSigned, http.StatusOK, "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"},
		{"event tekbot does not act on", "/slack/events", []byte(`{"type":"event_callback","event_id":"Ev0REACT","event":{"type":"reaction_added","user":"` + vincent + `","reaction":"eyes"}}`), slackSigned, http.StatusOK, ""},
		{"mention without event_id", "/slack/events", e.mention("", vincent, "<@"+botUser+"> status", "1.2"), slackSigned, http.StatusBadRequest, "event_id"},
		{"mention by a bot", "/slack/events", []byte(strings.Replace(string(e.mention("Ev0BOT", vincent, "<@"+botUser+"> rerun "+orig, "1.3")), `"type":"app_mention"`, `"type":"app_mention","bot_id":"B0OTHER"`, 1)), slackSigned, http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testenv.NewRequest(t, r.Server.URL+tt.path, tt.body)
			tt.sign(req, tt.body)
			code, body := testenv.Do(t, req)
			if code == http.StatusOK && tt.path == "/slack/commands" {
				a := decodeAnswer(t, body)
				if a.ResponseType != "ephemeral" {
					t.Errorf("answer is %q, want ephemeral", a.ResponseType)
				}
				body = a.Text
			}
			if code != tt.want || !strings.Contains(body, tt.says) {
				t.Errorf("got %d %q, want %d saying %q", code, body, tt.want, tt.says)
			}
		})
	}
	r.Drain(t)
	if got := e.slack.messages(""); len(got) != 0 {
		t.Errorf("bad requests reached Slack: %+v", got)
	}
	if n := len(reruns(t, e.prod, e.prodNS, orig)); n != 0 {
		t.Errorf("bad requests created %d runs", n)
	}
}
