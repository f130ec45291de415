package audit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/test/fake"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// The auditor's tests run on the in-memory Events and ConfigMaps; the
// contract tests (TestEventsContract here, state's for ConfigMaps) hold
// them to the apiserver's behaviour.

func TestAuditEvents(t *testing.T) {
	t.Parallel()
	events := fake.NewEvents()
	self, work := "tekbot", "ci"
	a := &audit.EventAuditor{
		State: events, Namespace: self, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Clusters: func(name string) audit.Events {
			if name == "dogfooding" {
				return events
			}
			return nil
		},
	}
	ctx := context.Background()
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i, r := range []bot.Record{
		{Time: base, RequestID: "d1", Transport: bot.GitHub, CallerID: "vdemeest", Person: "vincent", Verb: "retest", Args: []string{}, Targets: []string{"dogfooding/" + work + "/unit-x-1"}, Outcome: bot.Done},
		{Time: base.Add(time.Minute), RequestID: "s1", Transport: bot.Slack, CallerID: "U01SAM", Verb: "rerun", Args: []string{"x"}, Outcome: bot.Denied},
		{Time: base.Add(2 * time.Minute), RequestID: "s2", Transport: bot.Slack, CallerID: "U01ANDREA", Person: "andrea", Verb: "status", Args: []string{}, Outcome: bot.Noop},
	} {
		a.Record(ctx, r)
		if i == 0 {
			a.Record(ctx, r) // a retried write is not doubled
		}
	}
	got, err := audit.LastRecords(ctx, events, self, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].RequestID != "s2" || got[1].RequestID != "s1" || got[1].Outcome != bot.Denied {
		t.Fatalf("last 2 records = %+v", got)
	}
	all, _ := audit.LastRecords(ctx, events, self, 10)
	if len(all) != 3 {
		t.Fatalf("want 3 records, got %d", len(all))
	}
	evs, err := events.List(ctx, work, "", "")
	if err != nil || len(evs) != 1 {
		t.Fatalf("events on the affected PipelineRun: %v %v", evs, err)
	}
	ev := evs[0]
	if ev.InvolvedObject.Kind != "PipelineRun" || ev.InvolvedObject.Name != "unit-x-1" || !strings.Contains(ev.Message, `vincent ran "retest" via github: done`) {
		t.Errorf("event = %+v", ev)
	}
}

// While Run runs, the events are written off the commands' path; a
// shutdown writes what is still queued, so nothing recorded is lost.
func TestRunWritesQueuedEventsAndDrainsAtShutdown(t *testing.T) {
	t.Parallel()
	events, self := fake.NewEvents(), "tekbot"
	a := &audit.EventAuditor{State: events, Namespace: self, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx) }()
	poll.Until(t, "Run to take over the events", 10*time.Second, a.Queueing)
	const n = 40
	base := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	for i := range n {
		a.Record(ctx, bot.Record{Time: base.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprintf("q%d", i), Transport: bot.Slack, CallerID: "U01ANDREA", Verb: "status", Args: []string{}, Outcome: bot.Noop})
	}
	cancel()
	<-done
	got, err := audit.LastRecords(context.Background(), events, self, 2*n)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d of %d records became events", len(got), n)
	}
}
