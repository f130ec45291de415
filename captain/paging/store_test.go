package paging_test

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"tekbot/captain/paging"
)

// TestClosedPagesAreDeletedAfterRetention: on a fake clock, an acked page stays for the retention and is then deleted by the
// sweep, once, whichever replica sweeps; an open page is never deleted.
func TestClosedPagesAreDeletedAfterRetention(t *testing.T) {
	t.Parallel()
	a, b, _, _ := newPager(t)
	ctx := context.Background()
	closed, err := a.Page(ctx, at(23, 10, 0), paging.Request{ID: "gc-closed", Requester: "sam", Reason: "nightly is red"})
	if err != nil {
		t.Fatal(err)
	}
	ackedAt := at(23, 10, 5)
	if _, err := a.Ack(ctx, ackedAt, closed.ID, "andrea"); err != nil {
		t.Fatal(err)
	}
	open, err := a.Page(ctx, at(23, 10, 1), paging.Request{ID: "gc-open", Requester: "jerop", Reason: "prod deploy stuck"})
	if err != nil {
		t.Fatal(err)
	}
	exists := func(id string) bool {
		_, err := a.Store.Get(ctx, id)
		if err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
		return err == nil
	}

	for _, step := range []struct {
		name        string
		store       *paging.Store
		now         time.Time
		wantDeleted int
		wantClosed  bool
	}{
		{"a day later", a.Store, ackedAt.Add(24 * time.Hour), 0, true},
		{"a minute short of the retention", b.Store, ackedAt.Add(paging.ClosedRetention - time.Minute), 0, true},
		{"at the retention", b.Store, ackedAt.Add(paging.ClosedRetention), 1, false},
		{"the other replica, after", a.Store, ackedAt.Add(paging.ClosedRetention + time.Hour), 0, false},
		{"a year later", a.Store, ackedAt.AddDate(1, 0, 0), 0, false},
	} {
		n, err := step.store.DeleteClosed(ctx, paging.ClosedRetention, step.now)
		if err != nil || n != step.wantDeleted {
			t.Fatalf("%s: deleted %d, %v; want %d", step.name, n, err, step.wantDeleted)
		}
		if got := exists(closed.ID); got != step.wantClosed {
			t.Errorf("%s: acked page kept = %v, want %v", step.name, got, step.wantClosed)
		}
		if !exists(open.ID) {
			t.Fatalf("%s: the open page was deleted", step.name)
		}
	}
	pages, err := a.Store.Open(ctx)
	if err != nil || len(pages) != 1 || pages[0].ID != open.ID {
		t.Errorf("open pages after the sweeps: %v, %v; want only %s", pages, err, open.ID)
	}
}
