package slack_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
	"tekbot/flakes"
	"tekbot/handlers"
	"tekbot/test/kube"
	"tekbot/test/testenv"
)

// judge answers from a fixed table by run name; an unknown run's history
// cannot be read.
type judge map[string]flakes.Verdict

func (j judge) JudgeRun(_ context.Context, _ string, pr *pipelinev1.PipelineRun, _, _ string) (flakes.Verdict, error) {
	if v, ok := j[pr.Name]; ok {
		return v, nil
	}
	return flakes.Verdict{}, errors.New(`configmaps is forbidden: User "system:serviceaccount:tekbot" cannot list`)
}

// logLines is a triage reader that knows one run's log.
type logLines struct{}

func (logLines) Excerpt(_ context.Context, _, _, run string, t bot.Transport) (string, error) {
	if run != "release-flaky" || t != bot.Slack {
		return "", errors.New("pods/log is forbidden")
	}
	return "*build* step `test`:\n```--- FAIL: TestRelease (0.01s)```", nil
}

// "/tekton why <run>" answers privately with the run's verdict, the
// excerpt of its log, and a /retest hint only when it is flaky; bad input
// and an unreadable history get words, never the error.
func TestSlackWhyExplainsARun(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	seed(t, e.prod, e.prodNS, "release-flaky", kube.Failed)
	seed(t, e.prod, e.prodNS, "release-broken", kube.Failed)
	seed(t, e.prod, e.prodNS, "release-unjudged", kube.TimedOut)
	seed(t, e.prod, e.prodNS, "release-green", kube.Succeeded)
	r := testenv.NewReplica(t, testenv.Options{
		Config: e.cfg, Clusters: e.clusters, State: e.prod.Kube, StateNamespace: e.prodNS,
		Slack: e.api(), SlackSecret: signingSecret,
		Deps: func(d *handlers.Deps) {
			d.Verdicts = judge{"release-flaky": {Kind: flakes.Flaky, Count: 3}, "release-broken": {Kind: flakes.Broken, Count: 2}}
			d.Excerpts = logLines{}
		},
		Log: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	tests := []struct {
		text       string
		want       []string
		notWant    []string
		retestHint bool
	}{
		{text: "why release-flaky", want: []string{"`release`", "flaky (3 times in 14 days)", "--- FAIL: TestRelease"}, retestHint: true},
		{text: "why " + e.prodNS + "/release-broken", want: []string{"broken (failed on every attempt on the last 2 commits", "will not help", "no log excerpt"}, notWant: []string{"forbidden"}},
		{text: "why https://dashboard.example/#/namespaces/" + e.prodNS + "/pipelineruns/release-unjudged", want: []string{"no verdict", "request "}, notWant: []string{"forbidden", "system:serviceaccount"}},
		{text: "why release-green", want: []string{"did not fail"}},
		{text: "why <img/src=x>", want: []string{"is not a PipelineRun name", "Usage: `why"}, notWant: []string{"<img"}},
		{text: "why", want: []string{"Usage: `why"}},
	}
	for i, tt := range tests {
		trigger := "trigger-why-" + string(rune('a'+i))
		if code, msg := r.PostSlack(t, "/slack/commands", e.slashCommand(vincent, tt.text, trigger), time.Now()); code != http.StatusOK {
			t.Fatalf("%s: %d %q", tt.text, code, msg)
		}
		d := e.slack.next(t)
		if d.ResponseID != trigger || d.ResponseType != "ephemeral" {
			t.Errorf("%s: want a private answer to the command, got %+v", tt.text, d)
		}
		for _, w := range tt.want {
			if !strings.Contains(d.Text, w) {
				t.Errorf("%s: answer lacks %q:\n%s", tt.text, w, d.Text)
			}
		}
		for _, w := range tt.notWant {
			if strings.Contains(d.Text, w) {
				t.Errorf("%s: answer shows %q:\n%s", tt.text, w, d.Text)
			}
		}
		if got := strings.Contains(d.Text, "/retest"); got != tt.retestHint {
			t.Errorf("%s: suggests /retest: %v, want %v:\n%s", tt.text, got, tt.retestHint, d.Text)
		}
	}
}
