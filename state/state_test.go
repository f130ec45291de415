package state_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"tekbot/schedule"
	"tekbot/state"
	"tekbot/test/fake"
	"tekbot/test/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// The stores' tests run on the in-memory ConfigMaps; the contract suite
// (contract_test.go) holds it to the apiserver's behaviour.

func TestClaimsAreTakenOnceAndCanBeReleased(t *testing.T) {
	t.Parallel()
	claims := &state.Claims{ConfigMaps: fake.NewConfigMaps("tekbot")}
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 8 {
		wg.Go(func() {
			ok, err := claims.Claim(ctx, "github-delivery/abc")
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d of 8 racing claimers won, want 1", won)
	}
	if err := claims.Release(ctx, "github-delivery/abc"); err != nil {
		t.Fatal(err)
	}
	if ok, err := claims.Claim(ctx, "github-delivery/abc"); !ok || err != nil {
		t.Fatalf("after release: %v %v", ok, err)
	}
	// Each claim is kept as long as its key needs: two hours from now,
	// an hour's claim has expired and a day's has not.
	if ok, err := claims.Claim(ctx, "kept-a-day"); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	retention := func(key string) time.Duration {
		if key == "kept-a-day" {
			return 24 * time.Hour
		}
		return time.Hour
	}
	n, err := claims.Expire(ctx, retention, time.Now().Add(2*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Expire = %d, %v; want 1", n, err)
	}
	if ok, _ := claims.Claim(ctx, "github-delivery/abc"); !ok {
		t.Fatal("an expired claim should be free")
	}
	if ok, _ := claims.Claim(ctx, "kept-a-day"); ok {
		t.Fatal("a claim kept a day expired after two hours")
	}
}

// TestLeaderHandsOver: one of two candidates leads; when it stops, the
// other takes over. The test waits on the work starting, not on time.
func TestLeaderHandsOver(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "state")
	ns := c.Namespace(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	leading := make(chan string, 4)
	start := func(ctx context.Context, id string) {
		l := &state.Leader{Kube: c.Kube, Namespace: ns, Lease: "tekbot-leader", Identity: id, Log: log,
			LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
		l.Run(ctx, func(ctx context.Context) {
			leading <- id
			<-ctx.Done()
		})
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA := make(chan struct{})
	go func() { start(ctxA, "a"); close(doneA) }()
	first := waitFor(t, leading)
	if first != "a" {
		t.Fatalf("only a campaigned, %q leads", first)
	}
	go start(ctxB, "b")
	stopA() // a releases the lease on the way out
	<-doneA
	if second := waitFor(t, leading); second != "b" {
		t.Fatalf("after a stopped, %q leads, want b", second)
	}
}

func waitFor(t *testing.T, ch <-chan string) string {
	t.Helper()
	select {
	case id := <-ch:
		return id
	case <-time.After(30 * time.Second):
		t.Fatal("nobody became leader within 30s")
		return ""
	}
}

// TestRotationChangesFromManyReplicas: concurrent writers each add a day;
// optimistic concurrency keeps every one.
func TestRotationChangesFromManyReplicas(t *testing.T) {
	t.Parallel()
	s := &state.RotationState{ConfigMaps: fake.NewConfigMaps("tekbot")}
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			err := s.Change(ctx, func(ch *state.RotationChanges) error {
				d := schedule.NewDate(2026, 12, 1+i)
				if i%2 == 0 {
					ch.Overrides[d] = schedule.Override{Person: fmt.Sprint("p", i), Comment: "covers"}
				} else {
					ch.Holidays[d] = fmt.Sprint("day off ", i)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Overrides) != 5 || len(got.Holidays) != 5 {
		t.Fatalf("lost writes: %d overrides, %d holidays", len(got.Overrides), len(got.Holidays))
	}
	if got.Holidays[schedule.NewDate(2026, 12, 2)] != "day off 1" || got.Overrides[schedule.NewDate(2026, 12, 1)].Person != "p0" {
		t.Errorf("changes = %+v", got)
	}
}
