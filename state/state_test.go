package state_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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

// TestRotationChangesReadAsWritten: the rotation's ConfigMap, as tekbot
// wrote it before and as a human fixes it with kubectl (Tekton's overrides
// CSV, "date name" lines), reads as the same changes, and a change keeps
// that format.
func TestRotationChangesReadAsWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cms := fake.NewConfigMaps("tekbot")
	if _, err := cms.Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "tekbot-rotation"},
		Data: map[string]string{
			"overrides.csv": "date,user,comment\n2026-12-01,jerop,covers\n",
			"holidays":      "2026-12-25 Christmas\n\n  2026-12-26   Boxing day \n",
		},
	}); err != nil {
		t.Fatal(err)
	}
	s := &state.RotationState{ConfigMaps: cms}
	got, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got.Overrides[schedule.NewDate(2026, 12, 1)].Person != "jerop" || got.Holidays[schedule.NewDate(2026, 12, 26)] != "Boxing day" || len(got.Holidays) != 2 {
		t.Fatalf("changes as written = %+v", got)
	}
	if err := s.Change(ctx, func(c *state.RotationChanges) error {
		c.Holidays[schedule.NewDate(2027, 1, 1)] = "New Year"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cm, err := cms.Get(ctx, "tekbot-rotation")
	if err != nil {
		t.Fatal(err)
	}
	if want := "2026-12-25 Christmas\n2026-12-26 Boxing day\n2027-01-01 New Year\n"; cm.Data["holidays"] != want {
		t.Errorf("holidays saved as %q, want %q", cm.Data["holidays"], want)
	}
	if !strings.Contains(cm.Data["overrides.csv"], "2026-12-01,jerop,covers") {
		t.Errorf("overrides saved as %q", cm.Data["overrides.csv"])
	}

	// A ConfigMap a human broke is an error, and no change overwrites it.
	cm.Data["holidays"] = "Christmas 2026-12-25\n"
	if _, err := cms.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Changes(ctx); err == nil || !strings.Contains(err.Error(), "tekbot-rotation") {
		t.Fatalf("a broken rotation ConfigMap: %v, want an error naming it", err)
	}
	if err := s.Change(ctx, func(*state.RotationChanges) error { return nil }); err == nil {
		t.Fatal("a change over a broken rotation ConfigMap succeeded")
	}
}

// TestApprovalsNameTheCommit: an approval covers its commit, and the PR
// ("pr" trust mode), and no other PR; approving twice is not an error.
func TestApprovalsNameTheCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a := &state.Approvals{ConfigMaps: fake.NewConfigMaps("tekbot")}
	for range 2 {
		if err := a.Approve(ctx, "tektoncd/pipeline", 42, "abc123", "vdemeest"); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		repo          string
		number        int
		sha           string
		commit, anyPR bool
	}{
		{"tektoncd/pipeline", 42, "abc123", true, true},
		{"tektoncd/pipeline", 42, "def456", false, true},
		{"tektoncd/pipeline", 43, "abc123", false, false},
		{"tektoncd/triggers", 42, "abc123", false, false},
	} {
		commit, err := a.Approved(ctx, tc.repo, tc.number, tc.sha)
		if err != nil || commit != tc.commit {
			t.Errorf("Approved(%s#%d@%s) = %v, %v; want %v", tc.repo, tc.number, tc.sha, commit, err, tc.commit)
		}
		anyPR, err := a.AnyApproved(ctx, tc.repo, tc.number)
		if err != nil || anyPR != tc.anyPR {
			t.Errorf("AnyApproved(%s#%d) = %v, %v; want %v", tc.repo, tc.number, anyPR, err, tc.anyPR)
		}
	}
}
