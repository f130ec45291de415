package state_test

import (
	"context"
	"testing"
	"time"

	"tekbot/state"
	"tekbot/test/fake"
)

// TestHoldsKeepOneHoldPerPR: a hold is found under any spelling of its
// repository, replaced whole by a second /hold, listed, and lifted once.
func TestHoldsKeepOneHoldPerPR(t *testing.T) {
	t.Parallel()
	s := &state.Holds{ConfigMaps: fake.NewConfigMaps("tekbot")}
	ctx := context.Background()
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	if h, err := s.Get(ctx, "tektoncd/pipeline", 12); h != nil || err != nil {
		t.Fatalf("no hold yet: %+v %v", h, err)
	}
	first := state.Hold{Repository: "tektoncd/pipeline", Number: 12, Login: "vdemeest", Reason: "waiting on #11", At: at, Expires: at.Add(48 * time.Hour)}
	second := state.Hold{Repository: "TektonCD/Pipeline", Number: 12, Login: "afrittoli", Reason: "release freeze", At: at.Add(time.Hour)}
	for _, h := range []state.Hold{first, second, {Repository: "tektoncd/triggers", Number: 12, Login: "x", At: at}} {
		if err := s.Put(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Get(ctx, "tektoncd/pipeline", 12)
	if err != nil || got == nil || got.Login != "afrittoli" || got.Reason != "release freeze" || !got.Expires.IsZero() || !got.At.Equal(second.At) {
		t.Fatalf("Get = %+v, %v; want the second hold, whole", got, err)
	}
	if all, err := s.List(ctx); err != nil || len(all) != 2 {
		t.Fatalf("List = %+v, %v; want 2 holds", all, err)
	}
	for range 2 {
		if err := s.Delete(ctx, "tektoncd/PIPELINE", 12); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	if h, err := s.Get(ctx, "tektoncd/pipeline", 12); h != nil || err != nil {
		t.Fatalf("after Delete: %+v %v", h, err)
	}
}
