package handoff_test

import (
	"context"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/captain/alerts"
	"tekbot/captain/handoff"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/promotion"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/test/slackfake"
	"tekbot/transport/slack"
)

var slackIDs = map[string]string{"andrea": "U01ANDREA", "vincent": "U01VINCENT", "jerop": "U01JEROP"}

// TestCaptainGroupFollowsTheRotation drives @build-captain with a fake
// clock against a fake Slack Web API: it is set to the new captain at the
// handoff, not again while nothing changes, to the other person after a
// swap made from chat, and a refused update is retried and reported.
func TestCaptainGroupFollowsTheRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	api := slackfake.New()
	t.Cleanup(api.Stop)
	poster := slack.NewPoster(slackapi.New("xoxb-test", slackapi.OptionAPIURL(api.APIURL())), f.replica(t).Log)
	poster.Interval = time.Millisecond
	changes := &state.RotationState{ConfigMaps: f.state}
	status := &handoff.GroupStatus{ConfigMaps: f.state}
	g := &handoff.Group{
		ID: "S0CAPTAINS", Slack: poster, Status: status, Log: f.replica(t).Log,
		Rotation: func(ctx context.Context) (schedule.Rotation, error) {
			c, err := changes.Changes(ctx)
			return c.Apply(f.rot), err
		},
		SlackID: func(p string) string { return slackIDs[p] },
	}
	ctx := context.Background()
	step := func(now time.Time, wantUpdates int, wantLast string) {
		t.Helper()
		if err := g.Tick(ctx, now); err != nil {
			t.Fatalf("tick at %s: %v", now, err)
		}
		got := api.GroupUpdates()
		if len(got) != wantUpdates || got[len(got)-1].Group != "S0CAPTAINS" || strings.Join(got[len(got)-1].Users, ",") != wantLast {
			t.Fatalf("at %s: usergroups.users.update calls %+v, want %d ending with %s", now.Format("Mon 15:04"), got, wantUpdates, wantLast)
		}
	}
	monday, tuesday := f.rot.Day(schedule.NewDate(2026, 11, 23)).Person, f.rot.Day(schedule.NewDate(2026, 11, 24)).Person
	if monday == tuesday {
		t.Fatal("the fixture's rotation should change captain from Monday to Tuesday")
	}
	step(at(24, 8, 0), 1, slackIDs[monday]) // Monday's duty runs until Tuesday's handoff
	step(at(24, 8, 30), 1, slackIDs[monday])
	step(at(24, 9, 0), 2, slackIDs[tuesday])  // the handoff
	step(at(24, 12, 0), 2, slackIDs[tuesday]) // nothing changed, nothing sent

	// Tuesday's captain swaps with someone else from chat.
	other := "jerop"
	if tuesday == other {
		other = "andrea"
	}
	err := changes.Change(ctx, func(c *state.RotationChanges) error {
		c.Overrides[schedule.NewDate(2026, 11, 24)] = schedule.Override{Person: other, Comment: "swap"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	step(at(24, 12, 1), 3, slackIDs[other])

	// Slack refuses (a missing scope): the failure is reported, then retried.
	if err := changes.Change(ctx, func(c *state.RotationChanges) error {
		delete(c.Overrides, schedule.NewDate(2026, 11, 24))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	api.Fail("usergroups.users.update", 1)
	if err := g.Tick(ctx, at(24, 12, 2)); err == nil {
		t.Fatal("a refused update should be an error")
	}
	st, err := status.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Report(f.rot.Location); !strings.Contains(r, "could not be set to "+tuesday) || strings.Contains(r, "missing_scope") {
		t.Errorf("report after a failure = %q", r)
	}
	step(at(24, 12, 3), 4, slackIDs[tuesday])
	if st, _ := status.Get(ctx); !strings.Contains(st.Report(f.rot.Location), "@build-captain is "+tuesday) {
		t.Errorf("report after the retry = %q", st.Report(f.rot.Location))
	}
}

// TestHandoffCompletesThePicture: the handoff lists the alerts since the
// last handoff, the pages nobody acked and an environment whose
// pipelines-info ConfigMap reports another version than the last
// promotion. The drift is read from a real cluster; tekbot's own records
// are the in-memory state.
func TestHandoffCompletesThePicture(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, ns, clusters := f.withCluster(t)
	ctx := context.Background()
	kube := c.Kube
	for name, version := range map[string]string{"pipelines-info": "v1.14.0", "triggers-info": "v0.33.0"} {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name}, Data: map[string]string{"version": version}}
		if _, err := kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	record := &promotion.Record{ConfigMaps: f.state}
	err := record.Update(ctx, time.Now(), func(b *promotion.Book) error {
		b.Production["pipeline/dogfooding"] = &promotion.Deployed{Version: "v1.15.0", By: "andrea", At: at(20, 15, 0)}
		b.Production["triggers/dogfooding"] = &promotion.Deployed{Version: "v0.33.0", By: "andrea", At: at(20, 15, 0)}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	days := &alerts.Days{ConfigMaps: f.state}
	if _, err := days.Update(ctx, schedule.NewDate(2026, 11, 23), func(d *alerts.Day) {
		d.Lines["nightly/pipeline-release"] = &alerts.Line{Cluster: "nightly", Pipeline: "pipeline-release", Failures: 3, LastRun: "pipeline-release-x", Green: true}
	}); err != nil {
		t.Fatal(err)
	}
	pages := &paging.Store{ConfigMaps: f.state}
	if _, err := pages.Create(ctx, &paging.Page{ID: "p1", Requester: "vincent", Reason: "dogfooding is down", Created: at(23, 22, 0)}); err != nil {
		t.Fatal(err)
	}

	j := f.replica(t)
	j.Pages, j.Alerts = pages, days
	j.Drift = &alerts.Observer{
		Environments: []config.Environment{{Name: "dogfooding", Cluster: "nightly", InfoNamespace: ns}},
		Clusters:     clusters, Promoted: record,
	}
	msg, err := j.Message(ctx, schedule.NewDate(2026, 11, 24), at(24, 9, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Mon 2026-11-23: nightly `pipeline-release` failed 3×, last `pipeline-release-x`, green again",
		"Open pages, 1 not acked", "from vincent: dogfooding is down (`page ack p1`)",
		":warning: drift: pipeline on dogfooding: cluster reports `v1.14.0`, tekbot last promoted `v1.15.0`",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("handoff lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "triggers on dogfooding") {
		t.Errorf("triggers runs what was promoted, yet the handoff lists it:\n%s", msg)
	}
}
