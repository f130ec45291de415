package handlers

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"tekbot/bot"
	"tekbot/captain/handoff"
	"tekbot/config"
	"tekbot/schedule"
	"tekbot/state"
)

func (h *commands) captainSpec() *bot.Spec {
	return &bot.Spec{
		Verb:       "captain",
		Aliases:    []string{"who"},
		Usage:      "captain [next [N] | schedule [weeks] | swap @person [date] | cover [date] | off <date>]",
		Summary:    "who is build captain, the schedule; swap or cover a duty day; mark a day off",
		Transports: onSlack,
		// Reading the rotation is open to all; changing it is checked in
		// the handler: off by policy.allow.captain, swap and cover need a
		// configured person.
		ReadOnly: true,
		Gates:    []*bot.Spec{captainChanges},
		Handle:   h.captain,
	}
}

// captainChanges is the policy entry for changing the rotation: who may
// mark days off (policy.allow.captain, by default the maintainers).
var captainChanges = &bot.Spec{Verb: "captain", Usage: "captain off", DefaultAllow: []string{"maintainers"}}

func (h *commands) captain(ctx context.Context, req *bot.Request) bot.Reply {
	rot, err := h.currentRotation(ctx)
	if err != nil {
		return h.trouble(ctx, req, "tekbot's state store", err, "read the rotation")
	}
	now := h.now()
	today := schedule.DateOf(now, rot.Location)
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
		text = h.onDutyNow(rot, now) + h.captainGroup(ctx, rot.Location)
	case "next":
		n, ok := count(5, 60)
		if !ok {
			return refused("Usage: `captain next [N]` with N from 1 to 60.")
		}
		text = h.dutyList(rot.Next(today, n))
	case "schedule":
		weeks, ok := count(2, 12)
		if !ok {
			return refused("Usage: `captain schedule [weeks]` with weeks from 1 to 12.")
		}
		var days []schedule.Duty
		for i := range weeks * 7 {
			days = append(days, rot.Day(today.AddDays(i)))
		}
		text = h.dutyList(days)
	case "off":
		return h.captainOff(ctx, req, today)
	case "cover":
		return h.captainCover(ctx, req, rot, today)
	case "swap":
		return h.captainSwap(ctx, req, rot, today)
	case "accept-swap":
		return h.captainAcceptSwap(ctx, req, rot)
	default:
		return refused("Usage: `%s`", h.captainSpec().Usage)
	}
	if end, soon := rot.RunsOutSoon(today); soon {
		text += fmt.Sprintf("\n:warning: The rotation data runs out on %s: extend the roster before then.", end)
	}
	return bot.Reply{Outcome: bot.Noop, Text: text}
}

// currentRotation is the configured rotation with the changes made from chat.
func (h *commands) currentRotation(ctx context.Context) (schedule.Rotation, error) {
	rot, err := h.Config.Rotation.Schedule()
	if err != nil || h.Rotation == nil {
		return rot, err
	}
	changes, err := h.Rotation.Changes(ctx)
	if err != nil {
		return rot, err
	}
	return changes.Apply(rot), nil
}

// dateArg reads an optional YYYY-MM-DD argument; def when absent.
func dateArg(args []string, i int, def schedule.Date) (schedule.Date, error) {
	if len(args) <= i {
		return def, nil
	}
	return schedule.ParseDate(args[i])
}

func (h *commands) captainOff(ctx context.Context, req *bot.Request, today schedule.Date) bot.Reply {
	if ok, err := h.Policy.Allowed(ctx, captainChanges, req.Caller); err != nil || !ok {
		return bot.Reply{Outcome: bot.Denied, Text: "Sorry, you may not mark days off. Who may: " + h.Policy.WhoMay(captainChanges, req.Caller.Transport, "") + "."}
	}
	if len(req.Command.Args) < 2 {
		return refused("Usage: `captain off <YYYY-MM-DD>`")
	}
	d, err := schedule.ParseDate(req.Command.Args[1])
	if err != nil || d.Before(today) {
		return refused("%s is not a date from today on (YYYY-MM-DD).", bot.UserText(req.Command.Args[1]))
	}
	if reply, failedReply := h.changeRotation(ctx, req, func(c *state.RotationChanges) {
		c.Holidays[d] = "day off, marked by " + req.Caller.Name()
	}); failedReply {
		return reply
	}
	return bot.Reply{Outcome: bot.Done, Public: true, Text: fmt.Sprintf("%s marked %s %s as a day off: nobody is on duty and nobody loses a turn.", req.Caller.Name(), d.Weekday(), d)}
}

func (h *commands) captainCover(ctx context.Context, req *bot.Request, rot schedule.Rotation, today schedule.Date) bot.Reply {
	if req.Caller.Person == nil {
		return bot.Reply{Outcome: bot.Denied, Text: "Only people configured in tekbot can cover a duty day."}
	}
	d, err := dateArg(req.Command.Args, 1, today)
	if err != nil || d.Before(today) {
		return refused("Usage: `captain cover [YYYY-MM-DD]` with a date from today on.")
	}
	was := rot.Day(d)
	if was.Person == req.Caller.Person.Name {
		return refused("You are already on duty on %s.", d)
	}
	if reply, failedReply := h.changeRotation(ctx, req, func(c *state.RotationChanges) {
		c.Overrides[d] = schedule.Override{Person: req.Caller.Person.Name, Comment: "covers for " + orNobody(was.Person)}
	}); failedReply {
		return reply
	}
	return bot.Reply{Outcome: bot.Done, Public: true, Text: fmt.Sprintf("%s covers %s %s (instead of %s).", h.mention(req.Caller.Person.Name), d.Weekday(), d, orNobody(was.Person))}
}

func (h *commands) captainSwap(ctx context.Context, req *bot.Request, rot schedule.Rotation, today schedule.Date) bot.Reply {
	args := req.Command.Args
	if req.Caller.Person == nil || len(args) < 2 {
		return refused("Usage: `captain swap @person [YYYY-MM-DD]` (you must be configured in tekbot).")
	}
	other := h.personByMention(args[1])
	if other == nil || other.Name == req.Caller.Person.Name {
		return refused("%s is not someone else tekbot knows.", bot.UserText(args[1]))
	}
	mine, ok := nextDutyOf(rot, req.Caller.Person.Name, today)
	if len(args) > 2 {
		d, err := schedule.ParseDate(args[2])
		if err != nil || rot.Day(d).Person != req.Caller.Person.Name {
			return refused("You are not on duty on %s.", bot.UserText(args[2]))
		}
		mine, ok = d, true
	}
	theirs, ok2 := nextDutyOf(rot, other.Name, today)
	if !ok || !ok2 {
		return refused("Both of you need an upcoming duty day to swap.")
	}
	// The other person confirms: their click runs "accept-swap" as them.
	accept := bot.Command{Verb: "captain", Args: []string{"accept-swap", req.Caller.Person.Name, mine.String(), theirs.String()}}
	return bot.Reply{
		Outcome: bot.Pending,
		Text:    fmt.Sprintf("%s asks %s to swap: %s %s ↔ %s %s.", req.Caller.Name(), h.mention(other.Name), mine.Weekday(), mine, theirs.Weekday(), theirs),
		Confirm: &bot.Confirm{
			Title: "Swap duty days?", Button: "Swap",
			Text:      fmt.Sprintf("%s takes %s and %s takes %s.", req.Caller.Name(), theirs, other.Name, mine),
			Approvers: []string{other.Name},
			Command:   &accept,
		},
	}
}

// captainAcceptSwap applies a swap the other person agreed to by pressing
// the button; typed by hand it is refused, as nobody agreed to it.
func (h *commands) captainAcceptSwap(ctx context.Context, req *bot.Request, rot schedule.Rotation) bot.Reply {
	args := req.Command.Args
	if !req.Confirmed || req.Caller.Person == nil || len(args) != 4 {
		return refused("Use `captain swap @person [date]`; the other person confirms with the button.")
	}
	asker := h.Config.Person(args[1])
	mine, err1 := schedule.ParseDate(args[2])
	theirs, err2 := schedule.ParseDate(args[3])
	if asker == nil || err1 != nil || err2 != nil || rot.Day(mine).Person != asker.Name || rot.Day(theirs).Person != req.Caller.Person.Name {
		return refused("That swap no longer matches the rotation; ask again with `captain swap`.")
	}
	overrides, err := rot.Swap(mine, theirs)
	if err != nil {
		return refused("Cannot swap: %v", err)
	}
	if reply, failedReply := h.changeRotation(ctx, req, func(c *state.RotationChanges) {
		maps.Copy(c.Overrides, overrides)
	}); failedReply {
		return reply
	}
	return bot.Reply{Outcome: bot.Done, Public: true, Text: fmt.Sprintf("Swapped: %s is on duty on %s, %s on %s.", h.mention(asker.Name), theirs, h.mention(req.Caller.Person.Name), mine)}
}

func (h *commands) changeRotation(ctx context.Context, req *bot.Request, change func(*state.RotationChanges)) (bot.Reply, bool) {
	if h.Rotation == nil {
		return failed("Rotation changes are not stored anywhere in this setup."), true
	}
	err := h.Rotation.Change(ctx, func(c *state.RotationChanges) error { change(c); return nil })
	if err != nil {
		return h.trouble(ctx, req, "tekbot's state store", err, "save the change"), true
	}
	return bot.Reply{}, false
}

// nextDutyOf is the first day from today on which person is on duty.
func nextDutyOf(rot schedule.Rotation, person string, today schedule.Date) (schedule.Date, bool) {
	for _, d := range rot.Next(today, 60) {
		if d.Person == person {
			return d.Date, true
		}
	}
	return schedule.Date{}, false
}

// personByMention resolves a Slack mention (<@U123>), @name or name.
func (h *commands) personByMention(s string) *config.Person {
	s = strings.TrimPrefix(strings.TrimSuffix(strings.TrimPrefix(s, "<"), ">"), "@")
	s, _, _ = strings.Cut(s, "|") // Slack writes mentions as <@U123|name>
	for i := range h.Config.People {
		p := &h.Config.People[i]
		if p.Slack == s || strings.EqualFold(p.Name, s) {
			return p
		}
	}
	return nil
}

func orNobody(p string) string {
	if p == "" {
		return "nobody"
	}
	return p
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

// captainGroup says whether @build-captain follows the rotation, when
// tekbot keeps one (slack.captainGroup).
func (h *commands) captainGroup(ctx context.Context, loc *time.Location) string {
	if h.Config.Slack.CaptainGroup == "" {
		return ""
	}
	group := h.CaptainGroup
	if group == nil && h.Clusters != nil {
		if c := h.Clusters.Get(h.Config.State.Cluster); c != nil {
			group = &handoff.GroupStatus{ConfigMaps: state.ConfigMapsIn(c.Kube, h.Config.State.Namespace)}
		}
	}
	if group == nil {
		return ""
	}
	st, err := group.Get(ctx)
	if err != nil {
		h.Log.Warn("reading the captain group's state", "err", err)
		return "\nWhether @build-captain is up to date could not be read."
	}
	return "\n" + st.Report(loc)
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
