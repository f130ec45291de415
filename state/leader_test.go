package state_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"tekbot/state"
	"tekbot/test/kube"
)

// TestTwoReplicasOnOneHostOneLeads: two processes on one host (one
// hostname, one POD_NAME) campaign for the same Lease, each under its
// ProcessIdentity. Exactly one leads; the other reads the Lease, finds it
// held by the first, and follows. With the hostname alone as identity,
// client-go takes the Lease as its own and the second leads too.
func TestTwoReplicasOnOneHostOneLeads(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "state")
	ns := c.Namespace(t)
	ids := []string{state.ProcessIdentity(), state.ProcessIdentity()}
	leading, following := make(chan string, 2), make(chan string, 16)
	ctx, cancel := context.WithCancel(context.Background())
	var replicas sync.WaitGroup
	defer func() { cancel(); replicas.Wait() }()
	for _, id := range ids {
		l := &state.Leader{Kube: c.Kube, Namespace: ns, Lease: "tekbot-leader", Identity: id, Log: slog.New(follows{following}),
			LeaseDuration: 2 * time.Second, RenewDeadline: time.Second, RetryPeriod: 100 * time.Millisecond}
		replicas.Go(func() {
			l.Run(ctx, func(ctx context.Context) {
				leading <- id
				<-ctx.Done()
			})
		})
	}
	leader := waitFor(t, leading)
	for {
		select {
		case id := <-leading:
			t.Fatalf("both replicas lead: %s and %s", leader, id)
		case id := <-following:
			if id == leader {
				t.Fatalf("%s leads and follows", id)
			}
			return // the other replica saw the Lease held, and does not lead
		case <-time.After(30 * time.Second):
			t.Fatal("the second replica neither led nor followed within 30s")
		}
	}
}

// follows is a log handler that reports which replica logged "following".
type follows struct{ ch chan<- string }

func (follows) Enabled(context.Context, slog.Level) bool { return true }
func (f follows) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "following" {
		return nil
	}
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "identity" {
			f.ch <- a.Value.String()
		}
		return true
	})
	return nil
}
func (f follows) WithAttrs([]slog.Attr) slog.Handler { return f }
func (f follows) WithGroup(string) slog.Handler      { return f }
