package main

import (
	"context"
	"time"

	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/schedule"
)

// monitorCaptain publishes what the operators' alerts need to know about
// the captain's duties: when the handoff was due, when the rotation's data
// ends, and the open pages.
func monitorCaptain(m *bot.Metrics, rot schedule.Rotation, pages *paging.Store) {
	var ends time.Time
	if end, bounded := rot.Ends(); bounded {
		// The last day's duty lasts until the next day's handoff.
		ends = rot.HandoffAt(end.AddDays(1))
	}
	m.Rotation(func(now time.Time) time.Time { return handoffDue(rot, now) }, ends)
	m.Pages(func(ctx context.Context) (bot.PageCounts, error) {
		open, err := pages.Open(ctx)
		return countPages(open, time.Now()), err
	})
}

// handoffDue is the latest handoff time at or before now, on a day that
// gets a handoff: every day but non-working ones, as the handoff job
// decides. Zero if there is none in the last two weeks.
func handoffDue(rot schedule.Rotation, now time.Time) time.Time {
	d := schedule.DateOf(now, rot.Location)
	for range 14 {
		if at := rot.HandoffAt(d); !at.After(now) && rot.Day(d).Reason != schedule.ReasonNonWorkingDay {
			return at
		}
		d = d.AddDays(-1)
	}
	return time.Time{}
}

func countPages(open []*paging.Page, now time.Time) bot.PageCounts {
	c := bot.PageCounts{Open: map[string]int{}}
	for _, p := range open {
		c.Open[bot.PageStep(p.Level)]++
		if p.Delivered && !p.NextEscalation.IsZero() && now.After(p.NextEscalation) {
			c.PastEscalation++
		}
	}
	return c
}
