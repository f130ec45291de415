package alerts_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/captain/alerts"
	"tekbot/schedule"
	"tekbot/test/fake"
)

// TestDaysKeepEveryReplicasLinesForAWeek: replicas alerting at once on one
// day all land; a record written before (one JSON document per date, as on
// disk today) still reads; a day that does not decode hides no other day;
// days a week old are dropped on the next write.
func TestDaysKeepEveryReplicasLinesForAWeek(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cms := fake.NewConfigMaps("tekbot")
	written := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "tekbot-alerts"},
		Data: map[string]string{
			"2026-11-17": `{"thread":"1700000000.000001","lines":{"nightly/old":{"cluster":"nightly","pipeline":"old","failures":1,"lastRun":"old-1","lastFailed":"2026-11-17T08:00:00Z"}}}`,
			"2026-11-23": `{"thread":"1700000000.000100","lines":{"nightly/pipeline-release":{"cluster":"nightly","pipeline":"pipeline-release","failures":2,"runs":["a","b"],"lastRun":"b","lastFailed":"2026-11-23T08:00:00Z","green":true}}}`,
			"2026-11-22": `{"lines": not json`,
		},
	}
	if _, err := cms.Create(ctx, written); err != nil {
		t.Fatal(err)
	}
	days := &alerts.Days{ConfigMaps: cms}
	monday, err := days.Get(ctx, schedule.NewDate(2026, 11, 23))
	if err != nil {
		t.Fatal(err)
	}
	if l := monday.Lines["nightly/pipeline-release"]; monday.Thread != "1700000000.000100" || l == nil || l.Failures != 2 || !l.Green {
		t.Fatalf("Monday as written before: %+v", monday)
	}
	if _, err := days.Get(ctx, schedule.NewDate(2026, 11, 22)); err == nil || !strings.Contains(err.Error(), "2026-11-22") {
		t.Fatalf("an unreadable day: %v, want an error naming it", err)
	}

	tuesday := schedule.NewDate(2026, 11, 24)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			_, err := days.Update(ctx, tuesday, func(d *alerts.Day) {
				k := fmt.Sprintf("nightly/p%d", i)
				d.Lines[k] = &alerts.Line{Cluster: "nightly", Pipeline: fmt.Sprintf("p%d", i), Failures: 1}
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := days.Get(ctx, tuesday)
	if err != nil {
		t.Fatal(err)
	}
	var pipelines []string
	for _, l := range got.Sorted() {
		pipelines = append(pipelines, l.Pipeline)
	}
	if want := []string{"p0", "p1", "p2", "p3", "p4", "p5"}; !slices.Equal(pipelines, want) {
		t.Fatalf("Tuesday's lines after 6 replicas wrote: %v, want %v", pipelines, want)
	}

	cm, err := cms.Get(ctx, "tekbot-alerts")
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for k := range cm.Data {
		kept = append(kept, k)
	}
	slices.Sort(kept)
	// The 17th is a week before the 24th: dropped. The unreadable 22nd is
	// kept as it was: a write elsewhere does not touch it.
	if want := []string{"2026-11-22", "2026-11-23", "2026-11-24"}; !slices.Equal(kept, want) {
		t.Fatalf("days kept: %v, want %v", kept, want)
	}
	if cm.Data["2026-11-22"] != written.Data["2026-11-22"] {
		t.Errorf("the unreadable day was rewritten: %q", cm.Data["2026-11-22"])
	}
}
