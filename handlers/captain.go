package handlers

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/schedule"
)

func (h *commands) captainSpec() *bot.Spec {
	return &bot.Spec{
		Verb:       "captain",
		Aliases:    []string{"who"},
		Usage:      "captain [next [N] | schedule [weeks]]",
		Summary:    "who is build captain now, the next N duty days, or the schedule",
		Transports: onSlack,
		ReadOnly:   true,
		Handle:     h.captain,
	}
}

func (h *commands) captain(ctx context.Context, req *bot.Request) bot.Reply {
	rot, err := RotationFromConfig(h.Config.Rotation)
	if err != nil {
		return failed("The rotation is not configured: %v", err)
	}
	now := h.now()
	args := req.Command.Args
	sub := ""
	if len(args) > 0 {
		sub = strings.ToLower(args[0])
	}
	count := func(def, max int) (int, bool) {
		if len(args) < 2 {
			return def, true
		}
		n, err := strconv.Atoi(args[1])
		return n, err == nil && n > 0 && n <= max
	}
	var text string
	switch sub {
	case "", "now", "who":
		text = h.onDutyNow(rot, now)
	case "next":
		n, ok := count(5, 60)
		if !ok {
			return refused("Usage: `captain next [N]` with N from 1 to 60.")
		}
		text = h.dutyList(rot.Next(schedule.DateOf(now, rot.Location), n))
	case "schedule":
		weeks, ok := count(2, 12)
		if !ok {
			return refused("Usage: `captain schedule [weeks]` with weeks from 1 to 12.")
		}
		var days []schedule.Duty
		from := schedule.DateOf(now, rot.Location)
		for i := range weeks * 7 {
			days = append(days, rot.Day(from.AddDays(i)))
		}
		text = h.dutyList(days)
	case "swap", "cover", "off":
		return refused("`captain %s` is not available yet in this version of tekbot.", sub)
	default:
		return refused("Usage: `%s`", h.captainSpec().Usage)
	}
	if end, soon := rot.RunsOutSoon(schedule.DateOf(now, rot.Location)); soon {
		text += fmt.Sprintf("\n:warning: The rotation data runs out on %s: extend the roster before then.", end)
	}
	return bot.Reply{Outcome: bot.Noop, Text: text}
}

func (h *commands) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *commands) onDutyNow(rot schedule.Rotation, now time.Time) string {
	d := rot.At(now)
	var b strings.Builder
	if d.Person == "" {
		fmt.Fprintf(&b, "Nobody is build captain right now (%s, %s).", d.Date, d.Reason)
	} else {
		fmt.Fprintf(&b, "The build captain is %s (duty of %s, handoff %s).", h.mention(d.Person), d.Date, rot.Handoff)
	}
	if next := rot.Next(d.Date.AddDays(1), 1); len(next) > 0 {
		fmt.Fprintf(&b, " Next: %s on %s %s.", h.mention(next[0].Person), next[0].Date.Weekday().String()[:3], next[0].Date)
	}
	return b.String()
}

func (h *commands) dutyList(days []schedule.Duty) string {
	if len(days) == 0 {
		return "Nobody is on duty in that period."
	}
	var b strings.Builder
	for _, d := range days {
		who := "—"
		if d.Person != "" {
			who = h.mention(d.Person)
		}
		note := ""
		if d.Reason != schedule.ReasonOnDuty {
			note = " (" + d.Reason.String() + ")"
		}
		bullet(&b, "%s %s: %s%s", d.Date.Weekday().String()[:3], d.Date, who, note)
	}
	return strings.TrimRight(b.String(), "\n")
}

// mention names a person so Slack notifies them.
func (h *commands) mention(name string) string {
	if p := h.Config.Person(name); p != nil && p.Slack != "" {
		return fmt.Sprintf("%s (<@%s>)", name, p.Slack)
	}
	return name
}

// RotationFromConfig turns the validated config into the rotation maths'
// input.
func RotationFromConfig(c config.Rotation) (schedule.Rotation, error) {
	if len(c.Roster) == 0 {
		return schedule.Rotation{}, errors.New("rotation.roster is empty")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return schedule.Rotation{}, err
	}
	handoff, err := schedule.ParseTimeOfDay(c.Handoff)
	if err != nil {
		return schedule.Rotation{}, err
	}
	start, err := schedule.ParseDate(c.Start)
	if err != nil {
		return schedule.Rotation{}, err
	}
	rot := schedule.Rotation{
		Roster: c.Roster, Location: loc, Handoff: handoff, Start: start,
		StartPerson: c.StartPerson, Holidays: map[schedule.Date]string{},
	}
	for _, d := range c.WorkingDays {
		wd, _ := config.ParseWeekday(d)
		rot.WorkingDays = append(rot.WorkingDays, wd)
	}
	for _, s := range c.Holidays {
		d, err := schedule.ParseDate(s)
		if err != nil {
			return schedule.Rotation{}, err
		}
		rot.Holidays[d] = "holiday"
	}
	return rot, rot.Validate()
}
