// Package poll waits, in tests, for what can only be observed, not
// signalled: an apiserver's watch catching up, another process answering.
// It looks often and fails the test at a deadline, so no wait hides as a
// fixed sleep. Tests only: the binary never imports it.
package poll

import (
	"testing"
	"time"
)

// every is how often a condition is looked at.
const every = 20 * time.Millisecond

// Until returns once cond holds, and fails the test if it does not hold
// within the given time; what names the condition in the failure.
func Until(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("not within %s: %s", within, what)
		case <-tick.C:
		}
	}
}
