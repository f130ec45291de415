package github_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

// Two deliveries asking to retry the same failed run (two comments, a
// webhook sent twice by GitHub with new ids), sent at once to two replicas
// whose runs come from their own index (as serve runs it): the rerun is
// keyed to the run retried, so the apiserver keeps one, whichever replica
// wins, and the other reply says it already exists and who made it (or,
// when its index already shows the rerun, that it is running).
func TestTwoDeliveriesRetryingOneRunAtOnceMakeOneRerun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	unit := e.seed("unit-tests", kube.Failed, false)
	e.seed("build", kube.Succeeded, false)
	e.watchRuns(t)

	a, b := e.replica(), e.replica()
	start := make(chan struct{})
	var sent sync.WaitGroup
	codes := make([]int, 2)
	for i, r := range []*replica{a, b} {
		id := []string{"delivery-a", "delivery-b"}[i]
		body := e.comment(maintainer, "/retest", int64(2001+i))
		sent.Go(func() {
			<-start
			codes[i], _ = r.Deliver(t, "issue_comment", id, body)
		})
	}
	close(start)
	sent.Wait()
	a.Drain(t)
	b.Drain(t)
	if codes[0] != http.StatusAccepted || codes[1] != http.StatusAccepted {
		t.Fatalf("deliveries answered %v", codes)
	}

	got := reruns(e.runs())
	if len(got) != 1 || got[unit.Name].Name != unit.Name+"-retry-1" {
		t.Fatalf("want one rerun, %s-retry-1; got reruns of %v", unit.Name, keys(got))
	}
	comments := e.gh.Comments(owner, repoName, prNumber)
	var made, told int
	for _, c := range comments {
		switch {
		case strings.Contains(c.Body, "was failed"):
			made++
		case strings.Contains(c.Body, "already rerun by vincent"),
			// The later one may see the rerun already in the index.
			strings.Contains(c.Body, "Nothing to rerun") && strings.Contains(c.Body, unit.Name+"-retry-1"):
			told++
		}
	}
	if len(comments) != 2 || made != 1 || told != 1 {
		t.Errorf("want one reply for the rerun and one saying it exists or is running, got %+v", comments)
	}
}

// One comment, "/test all", delivered under two ids at once to two
// replicas: the commands run beside the claim on both, so each may see
// the other's reruns in its index; a run made for this comment is its
// result, never retried by it again. Each pipeline is rerun once, and only
// the replica that won the claim replies.
func TestOneCommentAtTwoReplicasAtOnceActsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	unit := e.seed("unit-tests", kube.Failed, false)
	build := e.seed("build", kube.Succeeded, false)
	e.watchRuns(t)

	body := e.comment(maintainer, "/test all", 2101)
	for round := range 3 {
		a, b := e.replica(), e.replica()
		start := make(chan struct{})
		var sent sync.WaitGroup
		for i, r := range []*replica{a, b} {
			id := []string{"delivery-a", "delivery-b"}[i] + "-" + string(rune('0'+round))
			sent.Go(func() {
				<-start
				r.Deliver(t, "issue_comment", id, body)
			})
		}
		close(start)
		sent.Wait()
		a.Drain(t)
		b.Drain(t)
	}

	var made []string
	for _, r := range e.runs() {
		if r.Labels[tekton.LabelRerunOf] != "" {
			made = append(made, r.Name)
		}
	}
	slices.Sort(made)
	if want := []string{build.Name + "-retry-1", unit.Name + "-retry-1"}; !slices.Equal(made, want) {
		t.Fatalf("reruns %v, want %v", made, want)
	}
	comments := e.gh.Comments(owner, repoName, prNumber)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "Rerunning") {
		t.Fatalf("want one reply, saying what was rerun; got %+v", comments)
	}
}

// watchRuns runs the cluster's slim index of the test's namespace, as
// serve does, until the test ends, and returns once it has synced.
func (e *env) watchRuns(t *testing.T) {
	cluster := e.clusters.All()[0]
	ctx, cancel := context.WithCancel(context.Background())
	var watching sync.WaitGroup
	t.Cleanup(func() { cancel(); watching.Wait() })
	watching.Go(func() { cluster.WatchRuns(ctx, e.ns) })
	poll.Until(t, "the index to sync", 30*time.Second, func() bool { return cluster.Indexed(e.ns) })
}
