package audit_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/test/fake"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func records(prefix string, n int, base time.Time) []bot.Record {
	out := make([]bot.Record, n)
	for i := range out {
		out[i] = bot.Record{
			Time: base.Add(time.Duration(i) * time.Second), RequestID: fmt.Sprintf("%s%d", prefix, i),
			Transport: bot.Slack, CallerID: "U1", Person: "andrea", Verb: "status", Args: []string{}, Outcome: bot.Noop,
		}
	}
	return out
}

func ids(rs []bot.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.RequestID
	}
	return out
}

// The ring keeps the newest records in its segments, whatever was written
// before, and reads them newest first. (The ring's ConfigMaps are the
// in-memory fake, held to the apiserver's behaviour by state's contract
// suite.)
func TestRingKeepsTheNewest(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		written int
		ask     int
		want    []string
	}{
		{"empty", 0, 5, nil},
		{"part of one segment", 3, 10, []string{"r2", "r1", "r0"}},
		{"across segments", 9, 6, []string{"r8", "r7", "r6", "r5", "r4", "r3"}},
		// 30 records fill segments 0..7: the head (7) holds two, and the
		// two full segments before it the eight before those.
		{"after laps, only the last segments", 30, 100, []string{"r29", "r28", "r27", "r26", "r25", "r24", "r23", "r22", "r21", "r20"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cms := fake.NewConfigMaps("tekbot")
			ring := &audit.Ring{ConfigMaps: cms, Log: quiet, Segments: 3, PerSegment: 4}
			ctx := context.Background()
			// Written in uneven batches, as Run would.
			rs := records("r", tc.written, base)
			for len(rs) > 0 {
				n := min(len(rs), 5)
				if err := ring.Append(ctx, rs[:n]); err != nil {
					t.Fatal(err)
				}
				rs = rs[n:]
			}
			got, err := ring.Last(ctx, tc.ask)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(ids(got)) != fmt.Sprint(tc.want) {
				t.Errorf("Last(%d) = %v, want %v", tc.ask, ids(got), tc.want)
			}
			used, err := cms.List(ctx, "tekbot.dev/audit-ring=true")
			if err != nil {
				t.Fatal(err)
			}
			if len(used) > 1+3 {
				t.Errorf("the ring uses %d ConfigMaps, want at most a head and 3 segments", len(used))
			}
		})
	}
}

// Two replicas writing at once both land, and nothing is lost or doubled.
func TestRingConcurrentWriters(t *testing.T) {
	t.Parallel()
	cms := fake.NewConfigMaps("tekbot")
	base := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for w := range 2 {
		ring := &audit.Ring{ConfigMaps: cms, Log: quiet, Segments: 4, PerSegment: 10}
		wg.Go(func() {
			for _, r := range records(fmt.Sprintf("w%d-", w), 12, base.Add(time.Duration(w)*time.Millisecond)) {
				if err := ring.Append(context.Background(), []bot.Record{r}); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := (&audit.Ring{ConfigMaps: cms}).Last(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 24 {
		t.Fatalf("got %d records, want 24: %v", len(got), ids(got))
	}
}

// The auditor hands records to the ring without waiting for the write; Run
// writes them, and what is queued at shutdown is still written. `tekbot
// audit` (Recent) sees records from the ring after their events are gone.
func TestAuditorFeedsTheRing(t *testing.T) {
	t.Parallel()
	ns := "tekbot"
	ring := &audit.Ring{ConfigMaps: fake.NewConfigMaps(ns), Log: quiet, FlushEvery: 50 * time.Millisecond}
	a := &audit.EventAuditor{State: fake.NewEvents(), Namespace: ns, Log: quiet, Ring: ring}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ring.Run(ctx); close(done) }()
	base := time.Now().UTC().Truncate(time.Second)
	for _, r := range records("a", 3, base) {
		a.Record(context.Background(), r)
	}
	stop()
	<-done
	got, err := ring.Last(context.Background(), 10)
	if err != nil || fmt.Sprint(ids(got)) != "[a2 a1 a0]" {
		t.Fatalf("ring after shutdown = %v, %v", ids(got), err)
	}
	// The apiserver forgot the events (--event-ttl): the ring remains.
	got, err = audit.Recent(context.Background(), ring, fake.NewEvents(), ns, 2)
	if err != nil || fmt.Sprint(ids(got)) != "[a2 a1]" {
		t.Fatalf("Recent after the events expired = %v, %v", ids(got), err)
	}
}

// Recent merges the two sources without doubling a record both hold.
func TestRecentMergesEventsAndRing(t *testing.T) {
	t.Parallel()
	ns, events := "tekbot", fake.NewEvents()
	ctx := context.Background()
	base := time.Now().UTC().Truncate(time.Second)
	rs := records("m", 4, base)
	ring := &audit.Ring{ConfigMaps: fake.NewConfigMaps(ns), Log: quiet}
	// m0..m2 are in both; m3 has not reached the ring yet.
	if err := ring.Append(ctx, rs[:3]); err != nil {
		t.Fatal(err)
	}
	ev := &audit.EventAuditor{State: events, Namespace: ns, Log: quiet}
	for _, r := range rs {
		ev.Record(ctx, r)
	}
	got, err := audit.Recent(ctx, ring, events, ns, 10)
	if err != nil || fmt.Sprint(ids(got)) != "[m3 m2 m1 m0]" {
		t.Fatalf("Recent = %v, %v", ids(got), err)
	}
}
