package audit_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

// commands stands for the worker pool: quiet is closed when no command runs.
type commands struct{ quiet chan struct{} }

func (c commands) Quiet() <-chan struct{} { return c.quiet }

// TestRunHoldsEventsWhileCommandsRun: an event waits while commands run,
// and is written once they are done, or once it has waited long enough.
func TestRunHoldsEventsWhileCommandsRun(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "audit")
	for _, tc := range []struct {
		name    string
		maxHold time.Duration
		quiet   bool // the commands end while the event is held
	}{
		{name: "until the commands end", maxHold: time.Hour, quiet: true},
		{name: "at most the hold", maxHold: time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			self := c.Namespace(t)
			busy := commands{quiet: make(chan struct{})}
			held := make(chan struct{}, 1)
			a := &audit.EventAuditor{State: c.Kube, Namespace: self, Commands: busy, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			a.HoldFor(tc.maxHold, func() { held <- struct{}{} })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); a.Run(ctx) }()
			defer func() { cancel(); <-done }()
			poll.Until(t, "Run to take over the events", 10*time.Second, a.Queueing)

			a.Record(ctx, bot.Record{Time: time.Now(), RequestID: "held", Transport: bot.Slack, CallerID: "U01ANDREA", Verb: "status", Args: []string{}, Outcome: bot.Noop})
			select {
			case <-held:
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not hold the event while a command ran")
			}
			records := func() int {
				got, err := audit.LastRecords(context.Background(), c.Kube, self, 10)
				if err != nil {
					t.Fatal(err)
				}
				return len(got)
			}
			if tc.quiet {
				if n := records(); n != 0 {
					t.Fatalf("%d events written while a command ran", n)
				}
				close(busy.quiet)
			}
			poll.Until(t, "the held event to be written", 10*time.Second, func() bool { return records() == 1 })
		})
	}
}
