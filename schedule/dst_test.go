package schedule

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones below must not depend on the machine's tz database
)

// utc builds an instant from a UTC wall clock: every instant in these tests is
// written out explicitly, which is the whole of the "fake clock".
func utc(year int, month time.Month, day, hour, minute int) time.Time {
	return time.Date(year, month, day, hour, minute, 0, 0, time.UTC)
}

// everyDay is a rotation with someone on duty every day, so the weekend
// daylight-saving changes fall on duty days, starting with ann on start.
func everyDay(t *testing.T, zone, start string, handoff TimeOfDay) Rotation {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	return Rotation{
		Roster:      []string{"ann", "bob", "cat", "dan"},
		Location:    loc,
		WorkingDays: []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
		Handoff:     handoff,
		Start:       mustDate(t, start),
	}
}

type handoffCase struct {
	date string
	want time.Time // the handoff instant
}

type atCase struct {
	at   time.Time
	want string // person on duty, "-" for nobody
}

func checkHandoffsAndAt(t *testing.T, r Rotation, handoffs []handoffCase, ats []atCase) {
	t.Helper()
	for _, tc := range handoffs {
		got := r.HandoffAt(mustDate(t, tc.date))
		if !got.Equal(tc.want) {
			t.Errorf("HandoffAt(%s) = %s (%s UTC), want %s UTC", tc.date, got, got.UTC().Format(time.DateTime), tc.want.Format(time.DateTime))
		}
		if got.Location() != r.Location {
			t.Errorf("HandoffAt(%s) is in %s, want %s", tc.date, got.Location(), r.Location)
		}
	}
	for _, tc := range ats {
		duty := r.At(tc.at)
		got := duty.Person
		if got == "" {
			got = "-"
		}
		if got != tc.want {
			t.Errorf("At(%s UTC = %s local) = %s (%s), want %s", tc.at.Format(time.DateTime), tc.at.In(r.Location).Format("2006-01-02 15:04 MST"), got, duty.Date, tc.want)
		}
	}
}

func TestAtAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	nineAM := TimeOfDay{Hour: 9}
	skipped := TimeOfDay{Hour: 2, Minute: 30} // skipped in spring, repeated in autumn, in both New York and Rome
	for _, tc := range []struct {
		name     string
		r        Rotation
		handoffs []handoffCase
		ats      []atCase
	}{
		{
			// Clocks go from 02:00 EST to 03:00 EDT on Sunday 10 March 2024.
			name: "New York spring forward, 09:00",
			r:    everyDay(t, "America/New_York", "2024-03-09", nineAM), // ann Sat, bob Sun, cat Mon
			handoffs: []handoffCase{
				{"2024-03-09", utc(2024, 3, 9, 14, 0)},
				{"2024-03-10", utc(2024, 3, 10, 13, 0)},
				{"2024-03-11", utc(2024, 3, 11, 13, 0)},
			},
			ats: []atCase{
				{utc(2024, 3, 9, 13, 59), "-"}, // before the first handoff: the day before the start
				{utc(2024, 3, 9, 14, 0), "ann"},
				{utc(2024, 3, 10, 6, 59), "ann"}, // 01:59 EST
				{utc(2024, 3, 10, 7, 0), "ann"},  // 03:00 EDT
				{utc(2024, 3, 10, 12, 59), "ann"},
				{utc(2024, 3, 10, 13, 0), "bob"},
				{utc(2024, 3, 11, 12, 59), "bob"},
				{utc(2024, 3, 11, 13, 0), "cat"},
			},
		},
		{
			name: "New York spring forward, handoff in the skipped hour",
			r:    everyDay(t, "America/New_York", "2024-03-09", skipped),
			handoffs: []handoffCase{
				{"2024-03-09", utc(2024, 3, 9, 7, 30)},  // 02:30 EST
				{"2024-03-10", utc(2024, 3, 10, 7, 30)}, // 02:30 does not exist: 03:30 EDT (time.Date says 01:30 EST)
				{"2024-03-11", utc(2024, 3, 11, 6, 30)}, // 02:30 EDT
				{"2024-03-12", utc(2024, 3, 12, 6, 30)},
			},
			ats: []atCase{
				{utc(2024, 3, 10, 6, 59), "ann"}, // 01:59 EST
				{utc(2024, 3, 10, 7, 0), "ann"},  // 03:00 EDT
				{utc(2024, 3, 10, 7, 29), "ann"}, // 03:29 EDT
				{utc(2024, 3, 10, 7, 30), "bob"}, // 03:30 EDT
				{utc(2024, 3, 11, 6, 29), "bob"},
				{utc(2024, 3, 11, 6, 30), "cat"},
			},
		},
		{
			// Clocks go from 02:00 EDT back to 01:00 EST on Sunday 3 November 2024.
			name: "New York fall back, 09:00",
			r:    everyDay(t, "America/New_York", "2024-11-02", nineAM),
			handoffs: []handoffCase{
				{"2024-11-02", utc(2024, 11, 2, 13, 0)},
				{"2024-11-03", utc(2024, 11, 3, 14, 0)},
			},
			ats: []atCase{
				{utc(2024, 11, 3, 5, 30), "ann"}, // 01:30 EDT
				{utc(2024, 11, 3, 6, 30), "ann"}, // 01:30 EST
				{utc(2024, 11, 3, 13, 59), "ann"},
				{utc(2024, 11, 3, 14, 0), "bob"},
			},
		},
		{
			name: "New York fall back, handoff in the repeated hour happens the first time",
			r:    everyDay(t, "America/New_York", "2024-11-02", TimeOfDay{Hour: 1, Minute: 30}),
			handoffs: []handoffCase{
				{"2024-11-02", utc(2024, 11, 2, 5, 30)},
				{"2024-11-03", utc(2024, 11, 3, 5, 30)}, // 01:30 EDT, not 01:30 EST
				{"2024-11-04", utc(2024, 11, 4, 6, 30)},
			},
			ats: []atCase{
				{utc(2024, 11, 3, 5, 29), "ann"},
				{utc(2024, 11, 3, 5, 30), "bob"},
				{utc(2024, 11, 3, 6, 30), "bob"}, // 01:30 again: no second handoff
				{utc(2024, 11, 4, 6, 29), "bob"},
				{utc(2024, 11, 4, 6, 30), "cat"},
			},
		},
		{
			// Clocks go from 02:00 CET to 03:00 CEST on Sunday 31 March 2024.
			name: "Rome spring forward, 09:00",
			r:    everyDay(t, "Europe/Rome", "2024-03-30", nineAM),
			handoffs: []handoffCase{
				{"2024-03-30", utc(2024, 3, 30, 8, 0)},
				{"2024-03-31", utc(2024, 3, 31, 7, 0)},
			},
			ats: []atCase{
				{utc(2024, 3, 31, 6, 59), "ann"},
				{utc(2024, 3, 31, 7, 0), "bob"},
			},
		},
		{
			name: "Rome spring forward, handoff in the skipped hour",
			r:    everyDay(t, "Europe/Rome", "2024-03-30", skipped),
			handoffs: []handoffCase{
				{"2024-03-30", utc(2024, 3, 30, 1, 30)},
				{"2024-03-31", utc(2024, 3, 31, 1, 30)}, // 02:30 does not exist: 03:30 CEST
				{"2024-04-01", utc(2024, 4, 1, 0, 30)},
			},
			ats: []atCase{
				{utc(2024, 3, 31, 0, 59), "ann"}, // 01:59 CET
				{utc(2024, 3, 31, 1, 0), "ann"},  // 03:00 CEST
				{utc(2024, 3, 31, 1, 29), "ann"},
				{utc(2024, 3, 31, 1, 30), "bob"},
				{utc(2024, 4, 1, 0, 30), "cat"},
			},
		},
		{
			// Clocks go from 03:00 CEST back to 02:00 CET on Sunday 27 October 2024.
			name: "Rome fall back, 09:00",
			r:    everyDay(t, "Europe/Rome", "2024-10-26", nineAM),
			handoffs: []handoffCase{
				{"2024-10-26", utc(2024, 10, 26, 7, 0)},
				{"2024-10-27", utc(2024, 10, 27, 8, 0)},
			},
			ats: []atCase{
				{utc(2024, 10, 27, 7, 59), "ann"},
				{utc(2024, 10, 27, 8, 0), "bob"},
			},
		},
		{
			// time.Date picks the second 02:30 (CET) here but the first
			// 01:30 in New York; HandoffAt picks the first in both.
			name: "Rome fall back, handoff in the repeated hour happens the first time",
			r:    everyDay(t, "Europe/Rome", "2024-10-26", skipped),
			handoffs: []handoffCase{
				{"2024-10-26", utc(2024, 10, 26, 0, 30)},
				{"2024-10-27", utc(2024, 10, 27, 0, 30)}, // 02:30 CEST, not 02:30 CET
				{"2024-10-28", utc(2024, 10, 28, 1, 30)},
			},
			ats: []atCase{
				{utc(2024, 10, 27, 0, 29), "ann"},
				{utc(2024, 10, 27, 0, 30), "bob"},
				{utc(2024, 10, 27, 1, 30), "bob"},
				{utc(2024, 10, 28, 1, 29), "bob"},
				{utc(2024, 10, 28, 1, 30), "cat"},
			},
		},
		{
			name: "Kolkata, +05:30 all year",
			r:    everyDay(t, "Asia/Kolkata", "2024-03-09", nineAM),
			handoffs: []handoffCase{
				{"2024-03-09", utc(2024, 3, 9, 3, 30)},
				{"2024-03-10", utc(2024, 3, 10, 3, 30)},
			},
			ats: []atCase{
				{utc(2024, 3, 9, 3, 29), "-"},
				{utc(2024, 3, 9, 3, 30), "ann"},
				{utc(2024, 3, 9, 20, 0), "ann"}, // 01:30 on the 10th, before its handoff
				{utc(2024, 3, 10, 3, 30), "bob"},
			},
		},
		{
			// Clocks go from 02:00 ACST (+09:30) to 03:00 ACDT (+10:30) on
			// Sunday 6 October 2024.
			name: "Adelaide spring forward",
			r:    everyDay(t, "Australia/Adelaide", "2024-10-05", nineAM),
			handoffs: []handoffCase{
				{"2024-10-05", utc(2024, 10, 4, 23, 30)},
				{"2024-10-06", utc(2024, 10, 5, 22, 30)},
			},
			ats: []atCase{
				{utc(2024, 10, 5, 22, 29), "ann"},
				{utc(2024, 10, 5, 22, 30), "bob"},
			},
		},
		{
			name: "Adelaide spring forward, handoff in the skipped hour",
			r:    everyDay(t, "Australia/Adelaide", "2024-10-05", skipped),
			handoffs: []handoffCase{
				{"2024-10-05", utc(2024, 10, 4, 17, 0)},
				{"2024-10-06", utc(2024, 10, 5, 17, 0)}, // 03:30 ACDT
				{"2024-10-07", utc(2024, 10, 6, 16, 0)},
			},
			ats: []atCase{
				{utc(2024, 10, 5, 16, 59), "ann"},
				{utc(2024, 10, 5, 17, 0), "bob"},
			},
		},
		{
			// Clocks go from 03:00 ACDT back to 02:00 ACST on Sunday 7 April 2024.
			name: "Adelaide fall back, handoff in the repeated hour happens the first time",
			r:    everyDay(t, "Australia/Adelaide", "2024-04-06", skipped),
			handoffs: []handoffCase{
				{"2024-04-06", utc(2024, 4, 5, 16, 0)},
				{"2024-04-07", utc(2024, 4, 6, 16, 0)}, // 02:30 ACDT, not 02:30 ACST
				{"2024-04-08", utc(2024, 4, 7, 17, 0)},
			},
			ats: []atCase{
				{utc(2024, 4, 6, 15, 59), "ann"},
				{utc(2024, 4, 6, 16, 0), "bob"},
				{utc(2024, 4, 6, 17, 0), "bob"},
				{utc(2024, 4, 7, 17, 0), "cat"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkHandoffsAndAt(t, tc.r, tc.handoffs, tc.ats)
		})
	}
}

// TestAtOverWeekend checks the handoff boundaries of a working-week rotation:
// Friday's captain stays on until Saturday's handoff, and nobody is on duty
// from then until Monday's.
func TestAtOverWeekend(t *testing.T) {
	t.Parallel()
	r := week(t) // ann Monday 6 May, bob Tuesday, … bob Friday 10 May, cat Monday 13 May; 09:00 UTC
	checkHandoffsAndAt(t, r, nil, []atCase{
		{utc(2024, 5, 10, 8, 59), "ann"},
		{utc(2024, 5, 10, 9, 0), "bob"},
		{utc(2024, 5, 11, 8, 59), "bob"},
		{utc(2024, 5, 11, 9, 0), "-"},
		{utc(2024, 5, 13, 8, 59), "-"},
		{utc(2024, 5, 13, 9, 0), "cat"},
	})
}
