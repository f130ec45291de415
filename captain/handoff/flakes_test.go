package handoff_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tekbot/captain/handoff"
	"tekbot/flakes"
	"tekbot/schedule"
	"tekbot/tekton"
)

type noFailedRuns struct{}

func (noFailedRuns) FailedSince(context.Context, time.Time) ([]tekton.Failure, error) {
	return nil, nil
}

// weekFlakes answers Flakiest from a fixed list, checking what is asked.
type weekFlakes struct {
	t     *testing.T
	flaky []flakes.Flake
	err   error
}

func (w weekFlakes) Flakiest(_ context.Context, _ time.Time, d time.Duration, limit int) ([]flakes.Flake, error) {
	if d != 7*24*time.Hour || limit < 1 {
		w.t.Errorf("asked for the flakes of %v, at most %d; want the week's", d, limit)
	}
	return w.flaky, w.err
}

func TestHandoffListsTheWeeksFlakiest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		flakes weekFlakes
		want   []string
		absent []string
	}{
		{
			name: "flakes, pipelines and tasks",
			flakes: weekFlakes{flaky: []flakes.Flake{
				{Repo: "pipeline", Pipeline: "unit-tests", Count: 4},
				{Repo: "pipeline", Pipeline: "unit-tests", Task: "e2e", Count: 3},
				{Repo: "triggers", Pipeline: "build", Count: 1},
			}},
			want: []string{
				"Flakiest this week (failed, then passed on the same commit):",
				"• `pipeline` `unit-tests`: 4 times",
				"• `pipeline` `unit-tests`, task `e2e`: 3 times",
				"• `triggers` `build`: once",
			},
		},
		{name: "no flakes, no section", flakes: weekFlakes{}, absent: []string{"Flakiest"}},
		{
			name: "a name written to look like a mention is code", flakes: weekFlakes{flaky: []flakes.Flake{{Repo: "r", Pipeline: "<!channel>", Count: 2}}},
			want: []string{"`&lt;!channel&gt;`: 2 times"}, absent: []string{"<!channel>"},
		},
		{
			name: "history unreadable", flakes: weekFlakes{err: errors.New("configmaps is forbidden: secret detail")},
			want: []string{"(The week's flakes could not be read; see tekbot's log.)"}, absent: []string{"forbidden", "Flakiest"},
		},
	}
	rome, _ := time.LoadLocation("Europe/Rome")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.flakes.t = t
			j := &handoff.Job{
				Rotation: schedule.Rotation{Roster: []string{"andrea"}, Location: rome, Start: schedule.NewDate(2026, 11, 2), StartPerson: "andrea"},
				Mention:  func(p string) string { return "@" + p },
				Failures: noFailedRuns{}, Flakes: tt.flakes,
				Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			}
			msg, err := j.Message(t.Context(), schedule.NewDate(2026, 11, 24), time.Date(2026, 11, 24, 9, 0, 0, 0, rome))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			for _, a := range tt.absent {
				if strings.Contains(msg, a) {
					t.Errorf("message has %q:\n%s", a, msg)
				}
			}
		})
	}
}
