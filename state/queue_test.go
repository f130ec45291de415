package state_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"tekbot/state"
	"tekbot/test/fake"
)

func TestQueueKeepsOneRequestPerPRAndTarget(t *testing.T) {
	t.Parallel()
	q := &state.Queue{ConfigMaps: fake.NewConfigMaps("tekbot")}
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	pick := func(repo string, number int, branch, login string, minutes int) state.Queued {
		return state.Queued{Repository: repo, Number: number, Verb: "cherry-pick", Args: []string{branch}, Login: login,
			RequestID: login + "-" + branch, At: at.Add(time.Duration(minutes) * time.Minute)}
	}

	// Eight replicas queue the same request at once: one record, and
	// every other caller is told whose it is.
	added := make(chan bool, 8)
	var wg sync.WaitGroup
	for range cap(added) {
		wg.Go(func() {
			first, ok, err := q.Add(ctx, pick("tektoncd/pipeline", 42, "release-v1.2.x", "vdemeest", 1))
			if err != nil || first.Login != "vdemeest" {
				t.Errorf("Add: %+v %v", first, err)
			}
			added <- ok
		})
	}
	wg.Wait()
	close(added)
	if n := countTrue(added); n != 1 {
		t.Fatalf("%d callers queued the same request, want 1", n)
	}
	// Someone else asking for the same target gets the first request.
	first, ok, err := q.Add(ctx, pick("tektoncd/pipeline", 42, "release-v1.2.x", "afrittoli", 5))
	if err != nil || ok || first.Login != "vdemeest" || first.RequestID != "vdemeest-release-v1.2.x" {
		t.Fatalf("a second request for the same target: %+v added=%v %v", first, ok, err)
	}
	for _, other := range []state.Queued{
		pick("tektoncd/pipeline", 42, "release-v1.1.x", "afrittoli", 0), // another target, asked earlier
		pick("tektoncd/pipeline", 43, "release-v1.2.x", "vdemeest", 2),  // another PR
		pick("tektoncd/triggers", 42, "release-v1.2.x", "vdemeest", 3),  // another repository
	} {
		if _, ok, err := q.Add(ctx, other); err != nil || !ok {
			t.Fatalf("Add %+v: added=%v %v", other, ok, err)
		}
	}

	list, err := q.List(ctx, "tektoncd/pipeline", 42)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range list {
		got = append(got, e.Args[0]+" by "+e.Login)
	}
	if want := []string{"release-v1.1.x by afrittoli", "release-v1.2.x by vdemeest"}; !slices.Equal(got, want) {
		t.Fatalf("queued on tektoncd/pipeline#42: %v, want %v (oldest first)", got, want)
	}

	for range 2 { // removing twice is not an error
		if err := q.Remove(ctx, list[1]); err != nil {
			t.Fatal(err)
		}
	}
	if list, err := q.List(ctx, "tektoncd/pipeline", 42); err != nil || len(list) != 1 || list[0].Args[0] != "release-v1.1.x" {
		t.Fatalf("after Remove: %+v %v", list, err)
	}
	if list, err := q.List(ctx, "tektoncd/pipeline", 43); err != nil || len(list) != 1 {
		t.Fatalf("another PR's queue was touched: %+v %v", list, err)
	}
}

func countTrue(results <-chan bool) int {
	n := 0
	for ok := range results {
		if ok {
			n++
		}
	}
	return n
}
