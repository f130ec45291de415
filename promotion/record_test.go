package promotion

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/test/fake"
)

// TestRecordUpdates: the record as written before reads; replicas
// recording promotions at once all land; a refusal saves nothing; what
// waited too long is pruned on the next write.
func TestRecordUpdates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	cms := fake.NewConfigMaps("tekbot")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "tekbot-promotions"},
		Data: map[string]string{"promotions.json": `{
 "production": {"pipeline/dogfooding": {"version": "v1.15.0", "by": "andrea", "at": "2026-11-20T15:00:00Z", "promotion": "r1", "before": ["v1.14.0"]}},
 "promotions": [{"id": "old", "project": "pipeline", "environment": "dogfooding", "version": "v1.16.0", "state": "asked", "asked": "2026-11-22T09:00:00Z"}]
}`},
	}); err != nil {
		t.Fatal(err)
	}
	r := &Record{ConfigMaps: cms}
	b, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := b.Deployed("pipeline", "dogfooding"); d == nil || d.Version != "v1.15.0" || !b.wasLive("pipeline", "dogfooding", "v1.14.0") || b.find("old") == nil {
		t.Fatalf("the record as written before: %+v", b)
	}

	var wg sync.WaitGroup
	for _, id := range []string{"a", "b", "c", "d"} {
		wg.Go(func() {
			err := r.Update(ctx, now, func(b *Book) error {
				b.put(&Promotion{ID: id, Project: "triggers", Environment: "dogfooding", Version: "v0.33.0", State: Asked, Asked: now})
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	refused := &Refusal{}
	if err := r.Update(ctx, now, func(b *Book) error {
		b.put(&Promotion{ID: "refused", State: Running})
		return refused
	}); !errors.Is(err, refused) {
		t.Fatalf("Update's refusal: %v, want it returned", err)
	}
	b, err = r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c", "d"} {
		if b.find(id) == nil {
			t.Errorf("promotion %s recorded by a concurrent replica was lost", id)
		}
	}
	if b.find("refused") != nil {
		t.Error("a refused change was saved")
	}
	// Asked on the 22nd, unconfirmed for more than a day: forgotten.
	if b.find("old") != nil {
		t.Error("a promotion waiting since two days was kept")
	}
	if p, err := r.Promoted(ctx); err != nil || p["pipeline/dogfooding"] != "v1.15.0" {
		t.Errorf("Promoted = %v, %v", p, err)
	}
}
