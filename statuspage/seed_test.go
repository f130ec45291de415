package statuspage_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/flakes"
	"tekbot/promotion"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/statuspage"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// Hostile texts: what anyone may type into a page reason or a command, and
// what a PipelineRun may name as its pipeline (the apiserver does not check
// pipelineRef names; Tekton's webhook would, but tekbot must not rely on it).
const (
	hostileReason   = `<script>window.pwned=1</script> nightly is broken`
	hostilePipeline = `"><img src=x onerror="window.pwned=2">`
	hostileArg      = `"><img src=x onerror=window.pwned=3>`
)

// now is the fake clock: Monday 30 November 2026, 10:00 UTC, after the
// 09:00 handoff.
var now = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)

// world is a status page over seeded stores in a real apiserver.
type world struct {
	page      *statuspage.Page
	cluster   *kube.Cluster
	namespace string // the CI namespace, with the runs
}

// rotation: andrea, vincent, priya and jerop from Monday 2 November; 20
// duty days later andrea has today. Its data ends on 10 December, so the
// expiry warning shows.
func rotation() *schedule.Rotation {
	return &schedule.Rotation{
		Roster: []string{"andrea", "vincent", "priya", "jerop"}, Location: time.UTC,
		Handoff: schedule.TimeOfDay{Hour: 9}, Start: schedule.NewDate(2026, 11, 2),
		Until: schedule.NewDate(2026, 12, 10),
	}
}

func seedWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	c := kube.Shared(t, "statuspage")
	stateNS, ciNS := c.Namespace(t), c.Namespace(t)

	// Chat's changes: a day off, then a swap and a cover. With 1 December
	// off, vincent has the 2nd and priya the 3rd, and they swap.
	rot := rotation()
	changes := &state.RotationState{ConfigMaps: state.ConfigMapsIn(c.Kube, stateNS)}
	offsite := schedule.NewDate(2026, 12, 1)
	withOffsite := state.RotationChanges{Holidays: map[schedule.Date]string{offsite: "team offsite"}}.Apply(*rot)
	swap, err := withOffsite.Swap(schedule.NewDate(2026, 12, 2), schedule.NewDate(2026, 12, 3))
	if err != nil {
		t.Fatal(err)
	}
	if err := changes.Change(ctx, func(rc *state.RotationChanges) error {
		rc.Holidays[offsite] = "team offsite"
		maps.Copy(rc.Overrides, swap)
		rc.Overrides[schedule.NewDate(2026, 12, 4)] = schedule.Override{Person: "andrea", Comment: "covers for jerop"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// Runs: the newest of each pipeline is what shows (build-2 is newer
	// than build-1: same second, later name, as tekton.Newer orders).
	for _, r := range []struct {
		name, pipeline string
		state          kube.RunState
	}{
		{"build-1", "build", kube.Failed},
		{"build-2", "build", kube.Succeeded},
		{"unit-tests-7f3k", "unit-tests", kube.Failed},
		{"e2e-tests-q2m9", "e2e-tests", kube.Running},
		{"evil-run-1", hostilePipeline, kube.Failed},
	} {
		pr := &pipelinev1.PipelineRun{
			ObjectMeta: metav1.ObjectMeta{Name: r.name},
			Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: r.pipeline}},
		}
		if _, err := c.Tekton.TektonV1().PipelineRuns(ciNS).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := kube.SetState(ctx, c, ciNS, r.name, r.state); err != nil {
			t.Fatal(err)
		}
	}

	// Open pages: one waiting on the captain, one escalated to the
	// backup and past its next escalation.
	pages := &paging.Store{ConfigMaps: state.ConfigMapsIn(c.Kube, stateNS)}
	for _, p := range []*paging.Page{
		{ID: "p-hostile", Requester: "vincent", Reason: hostileReason, Created: now.Add(-10 * time.Minute), DeliverAt: now.Add(-10 * time.Minute),
			Delivered: true, Paged: []string{"andrea"}, NextEscalation: now.Add(5 * time.Minute)},
		{ID: "p-escalated", Requester: "priya", Reason: "dogfooding cluster is down", Urgent: true, Created: now.Add(-50 * time.Minute),
			DeliverAt: now.Add(-50 * time.Minute), Delivered: true, Paged: []string{"andrea", "vincent"}, Level: 1, NextEscalation: now.Add(-5 * time.Minute)},
	} {
		if _, err := pages.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
	}

	// Recent actions, in the durable ring.
	ring := &audit.Ring{ConfigMaps: state.ConfigMapsIn(c.Kube, stateNS)}
	if err := ring.Append(ctx, []bot.Record{
		{Time: now.Add(-20 * time.Minute), RequestID: "s-1", Transport: bot.Slack, CallerID: "U02", Person: "vincent",
			Verb: "rerun", Args: []string{"unit-tests-7f3k"}, Targets: []string{"dogfooding/" + ciNS + "/unit-tests-7f3k-r1"}, Outcome: bot.Done},
		{Time: now.Add(-15 * time.Minute), RequestID: "g-1", Transport: bot.GitHub, CallerID: "mallory",
			Verb: "test", Args: []string{hostileArg}, Outcome: bot.Denied},
	}); err != nil {
		t.Fatal(err)
	}

	// Promotions: what runs in production, and the last promotion.
	record := &promotion.Record{ConfigMaps: state.ConfigMapsIn(c.Kube, stateNS)}
	if err := record.Update(ctx, now, func(b *promotion.Book) error {
		b.Production["pipeline/dogfooding"] = &promotion.Deployed{Version: "v20261129-1a2b3c4", By: "andrea", At: now.Add(-2 * time.Hour), Promotion: "s-0"}
		b.Promotions = append(b.Promotions, &promotion.Promotion{
			ID: "s-0", Project: "pipeline", Environment: "dogfooding", Version: "v20261129-1a2b3c4", From: "v20261120-9f8e7d6",
			State: promotion.Succeeded, RequestedBy: "andrea", Asked: now.Add(-2 * time.Hour), Finished: now.Add(-110 * time.Minute),
		})
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The outcome history: unit-tests failed, then passed, on two
	// commits; its e2e task on one; a hostile pipeline name flaked once.
	history := &state.Shards{ConfigMaps: state.ConfigMapsIn(c.Kube, stateNS), Set: "flakes"}
	rec := &flakes.Recorder{Store: history, Now: func() time.Time { return now }}
	for i, o := range []flakes.Outcome{
		{Pipeline: "unit-tests", Commit: "aaa", Failed: true, FailedTasks: []string{"e2e"}},
		{Pipeline: "unit-tests", Commit: "aaa"},
		{Pipeline: "unit-tests", Commit: "bbb", Failed: true, FailedTasks: []string{"lint"}},
		{Pipeline: "unit-tests", Commit: "bbb"},
		{Pipeline: hostilePipeline, Commit: "ccc", Failed: true},
		{Pipeline: hostilePipeline, Commit: "ccc"},
	} {
		o.Repo, o.Run, o.At = "pipeline", fmt.Sprint("run-", i), now.Add(-time.Duration(i)*time.Hour)
		rec.Observe(o)
	}
	if err := rec.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	cluster, err := tekton.NewCluster(
		config.Cluster{Name: "dogfooding", Role: config.RoleProduction, Namespace: ciNS},
		&config.Dashboard{PipelineRunURL: "https://dashboard.example/#/namespaces/{{.Namespace}}/pipelineruns/{{.Name}}"},
		c.REST)
	if err != nil {
		t.Fatal(err)
	}
	return &world{
		cluster: c, namespace: ciNS,
		page: &statuspage.Page{
			Title: "tekbot", Token: viewerToken, Rotation: rot, Changes: changes, Pages: pages, Actions: ring, Promotions: record,
			Clusters: tekton.NewClusters(cluster), Now: func() time.Time { return now },
			Flakes: &flakes.Reader{Store: history},
		},
	}
}

// viewerToken opens the seeded world's page, as a bookmark with ?token=
// does: the page is closed by default.
const viewerToken = "viewer-token"

// pollUntil waits for cond, failing the test after ten seconds.
func pollUntil(t *testing.T, cond func() bool) {
	t.Helper()
	poll.Until(t, "the condition", 10*time.Second, cond)
}
