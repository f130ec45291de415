package handlers_test

import (
	"context"
	"path"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"tekbot/bot"
	"tekbot/test/kube"
	"tekbot/transport/slack"
)

// TestDeployFailureMessageIsShownNotSent: whoever writes a deploy run's
// status writes its condition message; the promotion's failure post shows
// it as code, and the Slack transport's rendering of that post pings
// nobody and links nowhere.
func TestDeployFailureMessageIsShownNotSent(t *testing.T) {
	t.Parallel()
	const hostile = "<!channel> <https://evil.example|click> *bold*"
	w := newPromoWorld(t, nil, dogfooding())
	w.release("pipeline", "v20261122-bbbbbbb", kube.Succeeded)
	text := "promote pipeline v20261122-bbbbbbb"
	if r := w.slack("andrea", text, false, "x1"); r.Outcome != bot.Pending {
		t.Fatalf("%s: %s %q", text, r.Outcome, r.Text)
	}
	r := w.slack("andrea", text, true, "x1")
	if r.Outcome != bot.Done || len(r.Targets) != 1 {
		t.Fatalf("%s confirmed: %s %q", text, r.Outcome, r.Text)
	}
	w.notes.next(t, "🚀")

	ctx := context.Background()
	runs := w.prod.Tekton.TektonV1().PipelineRuns(w.pNS)
	pr, err := runs.Get(ctx, path.Base(r.Targets[0]), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.NewTime(time.Now())
	pr.Status.StartTime, pr.Status.CompletionTime = &now, &now
	pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed", Message: hostile})
	if _, err := runs.UpdateStatus(ctx, pr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	failure := w.notes.next(t, "❌ Promoting *pipeline*").reply.Text
	if !strings.Contains(failure, "`&lt;!channel&gt; &lt;https://evil.example|click&gt; *bold*`") {
		t.Errorf("the run's message is not shown as code:\n%s", failure)
	}
	if wire := slack.Mrkdwn(failure); strings.Contains(wire, "<!channel>") || strings.Contains(wire, "<https://evil") {
		t.Errorf("the post pings or links in Slack:\n%s", wire)
	}
}
