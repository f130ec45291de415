package state_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"tekbot/state"
	"tekbot/test/fake"
)

// Four replicas appending to one document at once all land (conflicts
// are retried on fresh data); another set's documents are not listed; a
// change that returns nothing writes nothing; deleting twice is fine.
func TestShardsWriteEveryConcurrentChange(t *testing.T) {
	t.Parallel()
	cms := fake.NewConfigMaps("tekbot")
	docs := &state.Shards{ConfigMaps: cms, Set: "flakes"}
	other := &state.Shards{ConfigMaps: cms, Set: "other"}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			if err := docs.Update(ctx, "day-1", func(old []byte) ([]byte, error) {
				return fmt.Appendf(old, "%d;", i), nil
			}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := other.Update(ctx, "day-1", func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatal(err)
	}
	if err := docs.Update(ctx, "day-2", func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	all, err := docs.All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("documents %v, want day-1 only", slices.Collect(maps.Keys(all)))
	}
	got := strings.Split(strings.TrimSuffix(string(all["day-1"]), ";"), ";")
	slices.Sort(got)
	if want := []string{"0", "1", "2", "3"}; !slices.Equal(got, want) {
		t.Errorf("day-1 holds %v, want every replica's change %v", got, want)
	}
	for range 2 {
		if err := docs.Delete(ctx, "day-1"); err != nil {
			t.Fatal(err)
		}
	}
	if all, err := docs.All(ctx); err != nil || len(all) != 0 {
		t.Errorf("after delete: %d documents, err %v", len(all), err)
	}
}
