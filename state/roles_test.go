package state_test

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/state"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

// TestRoleChangesReachFollowers: a follower started after a change hears
// of it, and of later ones as they are noted, once each; a change older
// than Keep is dropped from the record and told to no one.
func TestRoleChangesReachFollowers(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "state")
	ns := c.Namespace(t)
	roles := &state.RoleChanges{ConfigMaps: state.WatchedConfigMapsIn(c.Kube, ns), Keep: time.Minute}
	ctx, cancel := context.WithCancel(context.Background())
	now := time.Now()
	for _, n := range []struct {
		login string
		at    time.Time
	}{{"Gone-Long-Ago", now.Add(-2 * time.Minute)}, {"vdemeest", now}} {
		if err := roles.Note(ctx, n.login, n.at); err != nil {
			t.Fatal(err)
		}
	}
	cm, err := c.Kube.CoreV1().ConfigMaps(ns).Get(ctx, "tekbot-role-changes", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cm.Data["gone-long-ago"]; ok {
		t.Errorf("a change older than Keep is still recorded: %v", cm.Data)
	}

	var mu sync.Mutex
	var told []string
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		roles.Follow(ctx, func(login string) { mu.Lock(); told = append(told, login); mu.Unlock() }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	heard := func(want ...string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.Equal(told, want)
		}
	}
	poll.Until(t, "the follower told of the change before it started", 10*time.Second, heard("vdemeest"))
	if err := roles.Note(ctx, "", time.Now()); err != nil { // a team's access: everyone
		t.Fatal(err)
	}
	poll.Until(t, "the follower told of everyone's change", 10*time.Second, heard("vdemeest", ""))
	cancel()
	<-followed
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(told, []string{"vdemeest", ""}) {
		t.Errorf("told %q, want each change once", told)
	}
}
