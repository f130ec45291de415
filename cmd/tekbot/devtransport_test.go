package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/promotion"
)

// TestSandboxButtonsGoThroughTheIntake: a button pressed in the sandbox is
// taken by the intake `serve` uses, keyed by the request it confirms, as a
// click in Slack is: pressed twice it acts once; a failure on tekbot's side
// gives the key back, so it can be pressed again; a full pool takes
// nothing and says so.
func TestSandboxButtonsGoThroughTheIntake(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// workers and queue size the pool; outcomes are the handler's
		// answers, press by press.
		workers, queue int
		outcomes       []bot.Outcome
		wantRuns       int
		wantSaid       []string
	}{
		{"pressed twice acts once", 1, 1, []bot.Outcome{bot.Done, bot.Done}, 1,
			[]string{"rolled back (1)", "Already done: tekbot takes each request once."}},
		{"a failure can be pressed again", 1, 1, []bot.Outcome{bot.Failed, bot.Done}, 2,
			[]string{"rolled back (1)", "rolled back (2)"}},
		{"a full pool takes nothing", 0, 0, []bot.Outcome{bot.Done}, 0,
			[]string{"tekbot is too busy to take this right now; nothing was done."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var runs atomic.Int32
			spec := &bot.Spec{Verb: "promote", Transports: []bot.Transport{bot.Slack}, ReadOnly: true,
				Handle: func(context.Context, *bot.Request) bot.Reply {
					n := runs.Add(1)
					return bot.Reply{Outcome: tt.outcomes[n-1], Text: fmt.Sprintf("rolled back (%d)", n)}
				}}
			log := slog.New(slog.NewTextHandler(io.Discard, nil))
			pool := bot.NewPool(tt.workers, tt.queue)
			t.Cleanup(func() { _ = pool.Shutdown(context.Background()) })
			andrea := config.Person{Name: "andrea", Slack: "U01ANDREA"}
			cfg := &config.Config{People: []config.Person{andrea}}
			var out bytes.Buffer
			term := &terminal{out: io.Discard, cfg: cfg}
			d := &driver{
				app: &app{cfg: cfg, log: log,
					bot:    &bot.Bot{Registry: bot.NewRegistry(spec), Policy: bot.NewPolicy(config.Policy{}), Log: log},
					intake: &bot.Intake{Seen: bot.NewSeen(16), Pool: pool, Log: log}},
				out: &out, term: term, person: &andrea,
			}
			offer := &bot.Request{ID: "rollback-1", Command: bot.Command{Verb: "promote", Args: []string{}}, Caller: slackCaller(&andrea)}
			if _, err := term.Post(t.Context(), promotion.Thread{Channel: "C0RELEASES"}, bot.Reply{Text: "failed", Confirm: &bot.Confirm{Button: "Roll back"}}, offer); err != nil {
				t.Fatal(err)
			}
			for range tt.outcomes {
				d.press(t.Context(), "1")
			}
			if got := int(runs.Load()); got != tt.wantRuns {
				t.Errorf("the rollback ran %d times, want %d", got, tt.wantRuns)
			}
			for _, w := range tt.wantSaid {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the sandbox did not say %q:\n%s", w, out.String())
				}
			}
		})
	}
}
