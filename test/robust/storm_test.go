package robust_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// TestDuplicateStormActsOncePerCommand sends 1,000 deliveries, 30 % of
// them redeliveries of the others, spread at random over two replicas
// with their own memory and pools that share one apiserver. Each unique
// delivery is a /retest on its own PR, so the outcome is exact: one reply
// per PR, and one new run on each of the 100 PRs that have a failed run
// (the other 600 answer that there is nothing to rerun).
//
// sent counts deliveries, done the unique ones acted on exactly once,
// refused the redeliveries that did nothing.
func TestDuplicateStormActsOncePerCommand(t *testing.T) {
	t.Parallel()
	const (
		total    = 1000
		unique   = 700
		withRuns = 100
		firstPR  = 1000
	)
	w := newWorld(t)
	prs := make([]int, unique)
	for i := range prs {
		prs[i] = firstPR + i
	}
	w.pullRequests(prs[:withRuns], true)
	w.pullRequests(prs[withRuns:], false)

	type delivery struct {
		id      string
		body    []byte
		replica int
	}
	bodies := make([][]byte, unique)
	for i, pr := range prs {
		bodies[i] = w.comment(pr, "Flaky again.\r\n/retest\r\n")
	}
	// A fixed seed keeps a failure reproducible.
	rng := rand.New(rand.NewPCG(8, 2026))
	var all []delivery
	for i := range total {
		u := i
		if i >= unique {
			u = rng.IntN(unique) // a redelivery, of any of them
		}
		all = append(all, delivery{id: fmt.Sprintf("storm-%d", u), body: bodies[u], replica: rng.IntN(2)})
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })

	replicas := []*replica{w.replica(replicaOptions{}), w.replica(replicaOptions{})}
	var accepted, duplicate atomic.Int64
	queue := make(chan delivery)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for d := range queue {
				code, msg := replicas[d.replica].Deliver(t, "issue_comment", d.id, d.body)
				switch {
				case code == http.StatusAccepted:
					accepted.Add(1)
				case code == http.StatusOK && strings.Contains(msg, "duplicate"):
					duplicate.Add(1)
				default:
					t.Errorf("delivery %s: %d %q", d.id, code, msg)
				}
			}
		})
	}
	for _, d := range all {
		queue <- d
	}
	close(queue)
	wg.Wait()
	for _, r := range replicas {
		r.Drain(t)
	}

	reruns := w.reruns()
	done, extra := 0, 0
	for i, pr := range prs {
		replies := len(w.replies(pr))
		wantRuns := 0
		if i < withRuns {
			wantRuns = 1
		}
		if replies > 1 {
			extra += replies - 1
		}
		if reruns[pr] > 1 {
			extra += reruns[pr] - 1
		}
		if replies != 1 || reruns[pr] != wantRuns {
			t.Errorf("PR #%d: %d replies and %d new runs, want 1 and %d", pr, replies, reruns[pr], wantRuns)
			continue
		}
		done++
	}
	t.Logf("answered 202 to %d deliveries and 'duplicate' to %d; %d PRs got new runs", accepted.Load(), duplicate.Load(), len(reruns))
	summarize(t, "duplicate storm", total, done, total-unique-extra)
}
