package handlers_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/captain/handoff"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/test/fake"
)

// TestPromotionsShowsWhatTheClusterRuns: /tekton promotions puts what
// each environment's cluster reports (its <component>-info ConfigMaps)
// beside what tekbot last promoted, and flags a difference as drift.
func TestPromotionsShowsWhatTheClusterRuns(t *testing.T) {
	t.Parallel()
	env := dogfooding()
	w := newPromoWorld(t, nil, env)
	w.cfg.Promotion.Environments[0].InfoNamespace = w.pNS
	ctx := context.Background()
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pipelines-info"}, Data: map[string]string{"version": "v1.14.0"}}
	if _, err := w.prod.Kube.CoreV1().ConfigMaps(w.pNS).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "triggers-info"}, Data: map[string]string{"version": "v0.33.0"}}
	if _, err := w.prod.Kube.CoreV1().ConfigMaps(w.pNS).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	record := &promotion.Record{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
	if err := record.Update(ctx, time.Now(), func(b *promotion.Book) error {
		b.Production["pipeline/dogfooding"] = &promotion.Deployed{Version: "v1.15.0", By: "andrea", At: time.Now()}
		b.Production["triggers/dogfooding"] = &promotion.Deployed{Version: "v0.33.0", By: "andrea", At: time.Now()}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	list := w.slack("sam", "promotions", false, "l1").Text
	for _, want := range []string{
		"pipeline on dogfooding: `v1.15.0`",
		":warning: drift: cluster reports `v1.14.0`",
		"triggers on dogfooding: `v0.33.0`",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("promotions lacks %q:\n%s", want, list)
		}
	}
	for _, line := range strings.Split(list, "\n") {
		if strings.Contains(line, "triggers on dogfooding") && (strings.Contains(line, "drift") || !strings.Contains(line, "cluster reports `v0.33.0`")) {
			t.Errorf("triggers runs what was promoted: %q", line)
		}
	}
}

// TestCaptainReportsTheGroup: /tekton captain says whether @build-captain
// follows the rotation, and that it is being retried when Slack refused,
// without Slack's error: from the CaptainGroup port (short tier), and as
// serve wires it, from the state cluster's ConfigMaps.
func TestCaptainReportsTheGroup(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		given func(t *testing.T) (*world, *handoff.GroupStatus)
	}{
		{"port", func(t *testing.T) (*world, *handoff.GroupStatus) {
			w := newWorld(t, monday)
			status := &handoff.GroupStatus{ConfigMaps: fake.NewConfigMaps("tekbot")}
			w.build(func(d *handlers.Deps) { d.CaptainGroup = status })
			return w, status
		}},
		{"state cluster", func(t *testing.T) (*world, *handoff.GroupStatus) {
			w := newLiveWorld(t, monday)
			w.cfg.State = config.State{Cluster: "dogfooding", Namespace: w.pNS}
			return w, &handoff.GroupStatus{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, status := tt.given(t)
			w.cfg.Slack.CaptainGroup = "S0CAPTAINS"
			ctx := context.Background()
			for _, c := range []struct {
				state handoff.GroupState
				want  string
			}{
				{handoff.GroupState{}, "@build-captain has not been set yet."},
				{handoff.GroupState{Person: "andrea", Member: "U01ANDREA", Since: monday}, "@build-captain is andrea (set Mon 11:00)."},
				{handoff.GroupState{Person: "vincent", Member: "U01ANDREA", Since: monday, Failing: monday}, ":warning: @build-captain could not be set to vincent since Mon 11:00"},
			} {
				if c.state.Person != "" {
					if err := status.Put(ctx, c.state); err != nil {
						t.Fatal(err)
					}
				}
				if got := w.slack("sam", "captain", false, "c1").Text; !strings.Contains(got, c.want) {
					t.Errorf("captain = %q, want it to contain %q", got, c.want)
				}
			}
		})
	}
}
