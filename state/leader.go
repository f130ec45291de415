package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// LeaseKube is what Leader uses of Kubernetes: Leases. See Kube for why it
// is not client-go's full clientset.
type LeaseKube interface {
	CoordinationV1() coordinationv1client.CoordinationV1Interface
}

// Leader runs work that must happen on one replica at a time (the handoff
// cron, escalation timers) while holding a coordination.k8s.io Lease.
// Exactly-once still rests on claims: leadership can overlap briefly when a
// leader stalls, and claims make that harmless.
type Leader struct {
	Kube      LeaseKube
	Namespace string
	Lease     string
	Identity  string
	Log       *slog.Logger
	// Timings; zero means client-go's usual 15s/10s/2s.
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
}

// ProcessIdentity names this process in the leader Lease: POD_NAME (the
// Downward API) or the hostname, for people reading the Lease, and a
// random suffix, because client-go's election takes a Lease held under its
// own identity as its own: two processes on one host (or one pod name
// reused) would both lead.
func ProcessIdentity() string {
	name := os.Getenv("POD_NAME")
	if name == "" {
		name, _ = os.Hostname()
	}
	suffix := make([]byte, 6)
	_, _ = rand.Read(suffix) // crypto/rand.Read never fails
	return name + "_" + hex.EncodeToString(suffix)
}

// Run calls work with a context that ends when leadership is lost, and
// campaigns again, until ctx ends.
func (l *Leader) Run(ctx context.Context, work func(ctx context.Context)) {
	lease, renew, retry := l.LeaseDuration, l.RenewDeadline, l.RetryPeriod
	if lease == 0 {
		lease, renew, retry = 15*time.Second, 10*time.Second, 2*time.Second
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Name: l.Lease, Namespace: l.Namespace},
		Client:     l.Kube.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: l.Identity},
	}
	for ctx.Err() == nil {
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   lease,
			RenewDeadline:   renew,
			RetryPeriod:     retry,
			ReleaseOnCancel: true,
			Name:            l.Lease,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(ctx context.Context) {
					l.Log.Info("leading", "lease", l.Lease, "identity", l.Identity)
					work(ctx)
				},
				OnStoppedLeading: func() { l.Log.Info("stopped leading", "lease", l.Lease, "identity", l.Identity) },
				OnNewLeader: func(leader string) {
					if leader != l.Identity {
						l.Log.Info("following", "lease", l.Lease, "identity", l.Identity, "leader", leader)
					}
				},
			},
		})
	}
}
