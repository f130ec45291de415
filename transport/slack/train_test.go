package slack_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/config"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/test/kube"
)

// TestPromotionTrainIsApprovedFromSlack follows the train's offer through
// Slack's signed clicks: it names no caller (nobody asked for it), so on
// main every press of its Approve was refused with 400. Now a stranger's
// press, or a maintainer's who may not promote, is refused in words; a
// release manager's asks for the promotion (once, however often pressed);
// under the two-person rule she cannot approve it herself, and a second
// release manager's approval deploys once.
func TestPromotionTrainIsApprovedFromSlack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{nightly: true})
	const jerop = "U0JEROP" // a maintainer who may not promote
	e.cfg.People = append(e.cfg.People, config.Person{Name: "jerop", Slack: jerop})
	e.cfg.Policy.Roles["maintainers"] = append(e.cfg.Policy.Roles["maintainers"], "jerop")
	e.cfg.Policy.Roles["release-managers"] = []string{"andrea", "vincent"}
	e.cfg.State = config.State{Cluster: "dogfooding", Namespace: e.prodNS}
	e.cfg.Slack.Channels.Releases = releases
	e.cfg.Promotion.Environments = []config.Environment{{
		Name: "dogfooding", Cluster: "dogfooding", Strategy: config.StrategyPipelineRun, Namespace: e.prodNS,
		PipelineRef: "install-tekton-release", Params: map[string]string{"projectName": "{{.Project}}", "version": "{{.Version}}"},
		TwoPersonRule: true,
		AfterDeploy:   config.AfterDeploy{Train: &config.Train{At: "10:00", Projects: []string{"pipeline"}}},
	}}
	const tag = "v20260303-1a2b3c4"
	seedRelease(t, e.nightly, e.nightlyNS, "pipeline", tag)

	// The train is due on Wednesday at noon (the replicas' clock).
	claims := &state.Claims{ConfigMaps: state.ConfigMapsIn(e.prod.Kube, e.prodNS)}
	if err := e.replica().Deps.Promotions().TrainTick(context.Background(), wednesdayNoon(), claims); err != nil {
		t.Fatalf("train: %v", err)
	}
	offer := e.slack.next(t)
	if offer.Method != "chat.postMessage" || offer.Channel != releases ||
		!strings.Contains(offer.Text, "🚂 Promotion train: promote *pipeline* to *dogfooding*: `none recorded` → `"+tag+"`?") {
		t.Fatalf("want the train's offer in the releases channel, got %+v", offer)
	}
	train := parseConfirm(t, offer)

	// press sends each user's press of msg's button, all at once, each to
	// a replica of its own, and returns once every replica has handled it.
	press := func(msg delivery, value string, ids map[string]string) {
		t.Helper()
		var wg sync.WaitGroup
		var reps []*replica
		for id, user := range ids {
			r := e.replica()
			reps = append(reps, r)
			wg.Go(func() {
				if code, body := r.PostSlack(t, "/slack/interactivity", e.clickOn(msg, user, "tekbot-confirm", value, id), time.Now()); code != http.StatusOK {
					t.Errorf("%s's press (%s): %d %q, want 200", user, id, code, body)
				}
			})
		}
		wg.Wait()
		for _, r := range reps {
			r.Drain(t)
		}
	}
	answers := func(id string) []delivery {
		var out []delivery
		for _, d := range e.slack.messages("response_url") {
			if d.ResponseID == id {
				out = append(out, d)
			}
		}
		return out
	}
	// posts lists tekbot's posts in the offer's thread that say what.
	posts := func(what string) []delivery {
		var out []delivery
		for _, d := range e.slack.messages("chat.postMessage") {
			if d.Channel == releases && d.ThreadTS == offer.TS && strings.Contains(d.Text, what) {
				out = append(out, d)
			}
		}
		return out
	}
	deploys := func() []pipelinev1.PipelineRun {
		t.Helper()
		list, err := e.prod.Tekton.TektonV1().PipelineRuns(e.prodNS).List(context.Background(), metav1.ListOptions{LabelSelector: promotion.LabelProject})
		if err != nil {
			t.Fatal(err)
		}
		return list.Items
	}
	refusedPrivately := func(id, says string) {
		t.Helper()
		got := answers(id)
		if len(got) != 1 || got[0].ResponseType != "ephemeral" || got[0].Replace || !strings.Contains(got[0].Text, says) {
			t.Errorf("press %s: want a private %q that leaves the message, got %+v", id, says, got)
		}
	}

	// Who may not promote is refused in words, and the offer stays open.
	press(offer, train.confirm.Value, map[string]string{"stranger": stranger, "jerop": jerop})
	for _, id := range []string{"stranger", "jerop"} {
		refusedPrivately(id, "Only <@"+vincent+">, <@"+andrea+"> can confirm this; nothing was done.")
	}
	if asked := posts("asks to promote"); len(asked) != 0 {
		t.Fatalf("a press by someone who may not promote asked for it: %+v", asked)
	}

	// andrea presses twice, the presses reaching two replicas at once:
	// she asks for the promotion, once.
	press(offer, train.confirm.Value, map[string]string{"andrea-1": andrea, "andrea-2": andrea})
	asked := posts("andrea asks to promote *pipeline* to *dogfooding*: `none recorded` → `" + tag + "`")
	if len(asked) != 1 || !strings.Contains(asked[0].Text, "Two-person rule: one of vincent must approve.") {
		t.Fatalf("want one request for a second person's approval in the offer's thread, got %+v", asked)
	}
	if a1, a2 := answers("andrea-1"), answers("andrea-2"); (len(a1) == 0) == (len(a2) == 0) {
		t.Fatalf("want exactly one of andrea's presses answered, got %+v and %+v", a1, a2)
	} else if got := append(a1, a2...); got[0].ResponseType != "in_channel" || !strings.Contains(got[0].Text, "Waiting for a second person's approval") {
		t.Errorf("andrea's press: want the wait for an approval in the channel, got %+v", got)
	}
	approval := parseConfirm(t, asked[0])

	// The requester cannot approve her own request.
	press(asked[0], approval.confirm.Value, map[string]string{"andrea-approves": andrea})
	refusedPrivately("andrea-approves", "You asked for this, so someone else must confirm it: only <@"+vincent+"> can. Nothing was done.")
	if n := len(deploys()); n != 0 {
		t.Fatalf("%d deploys before the second person's approval", n)
	}

	// vincent approves, pressing twice: the deploy runs once.
	press(asked[0], approval.confirm.Value, map[string]string{"vincent-1": vincent, "vincent-2": vincent})
	runs := deploys()
	if len(runs) != 1 || runs[0].Labels[promotion.LabelVersion] != tag {
		t.Fatalf("want one deploy of %s, got %d: %+v", tag, len(runs), runs)
	}
	if started := posts("🚀 andrea promotes *pipeline* to *dogfooding*: `none recorded` → `" + tag + "`, approved by vincent."); len(started) != 1 {
		t.Errorf("want the deploy announced once in the thread, with who asked and who approved; Slack saw %+v", e.slack.messages(""))
	}
}

// seedRelease creates the succeeded nightly release run of project that
// released tag, as Tekton's <project>-release pipeline does.
func seedRelease(t *testing.T, c *kube.Cluster, ns, project, tag string) {
	t.Helper()
	ctx := context.Background()
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: project + "-release-" + tag, Labels: map[string]string{promotion.PipelineLabel: project + "-release"}},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: project + "-release"},
			Params: pipelinev1.Params{
				{Name: "versionTag", Value: *pipelinev1.NewStructuredValues(tag)},
				{Name: "releaseMode", Value: *pipelinev1.NewStructuredValues("nightly")},
			},
		},
	}
	if _, err := c.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.SetState(ctx, c, ns, pr.Name, kube.Succeeded); err != nil {
		t.Fatal(err)
	}
}
