package handoff

import (
	"context"
	"fmt"
	"strings"

	"tekbot/bot"
	"tekbot/schedule"
)

// The parts of the handoff that complete the picture beyond the rotation
// and yesterday's failures: what the alerts said since the last handoff,
// pages still open, and environments that drifted from what was promoted.
// Each part that cannot be read is logged and said so in one line, without
// the error.

// alertsSince summarises the alert threads of the duty days since the
// previous handoff (a Monday's covers the weekend).
func (j *Job) alertsSince(ctx context.Context, b *strings.Builder, r schedule.Rotation, d schedule.Date) {
	if j.Alerts == nil {
		return
	}
	var lines []string
	for i := 1; i <= 7; i++ {
		day := d.AddDays(-i)
		rec, err := j.Alerts.Get(ctx, day)
		if err != nil {
			j.Log.Error("handoff: reading alerts", "date", day, "err", err)
			b.WriteString("(The alerts record could not be read; see tekbot's log.)\n")
			return
		}
		for _, l := range rec.Sorted() {
			state := "still red"
			if l.Green {
				state = "green again"
			}
			lines = append(lines, fmt.Sprintf("• %s %s: %s %s failed %d×, last %s, %s", day.Weekday().String()[:3], day, l.Cluster, bot.Code(l.Pipeline), l.Failures, bot.Code(l.LastRun), state))
		}
		if r.Day(day).Reason != schedule.ReasonNonWorkingDay {
			break // that day had a handoff of its own
		}
	}
	if len(lines) == 0 {
		b.WriteString("No failure alerts since the last handoff.\n")
		return
	}
	fmt.Fprintf(b, "Alerts since the last handoff (threads in this channel):\n%s\n", strings.Join(lines, "\n"))
}

func (j *Job) openPages(ctx context.Context, b *strings.Builder) {
	if j.Pages == nil {
		return
	}
	pages, err := j.Pages.Open(ctx)
	if err != nil {
		j.Log.Error("handoff: listing open pages", "err", err)
		b.WriteString("(Open pages could not be read; see tekbot's log.)\n")
		return
	}
	if len(pages) == 0 {
		return
	}
	fmt.Fprintf(b, "Open pages, %d not acked:\n", len(pages))
	for _, p := range pages {
		fmt.Fprintf(b, "• %s from %s: %s (`page ack %s`)\n", p.Created.UTC().Format("Mon 15:04 MST"), p.Requester, p.Reason, p.ID)
	}
}

func (j *Job) drift(ctx context.Context, b *strings.Builder) {
	if j.Drift == nil {
		return
	}
	obs, err := j.Drift.Observe(ctx)
	if err != nil {
		j.Log.Error("handoff: observing installed versions", "err", err)
		b.WriteString("(Installed versions could not be compared; see tekbot's log.)\n")
		return
	}
	heading := "Environments running something other than what tekbot promoted:\n"
	for _, o := range obs {
		if o.Err != nil {
			j.Log.Warn("handoff: reading installed versions", "cluster", o.Cluster, "project", o.Project, "err", o.Err)
		}
		if o.Drifted() {
			fmt.Fprintf(b, "%s• %s\n", heading, o)
			heading = ""
		}
	}
}
