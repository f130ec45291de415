package promotion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tekbot/bot"
	"tekbot/config"
)

// The promotion train. On working days at a configured time, tekbot
// proposes the newest good nightly of each listed project to an
// environment: a message in the releases channel with an Approve button
// for the people who may promote there. It is an offered promotion, like
// a Roll back button: whoever presses first is its requester, the gates
// run again, and under the two-person rule a second person must approve.
// Nobody pressing means nothing is deployed. Each proposal is claimed in
// the apiserver under its day, so replicas post it once.

// Claimer takes a key once across replicas (state.Claims).
type Claimer interface {
	Claim(ctx context.Context, key string) (bool, error)
	Release(ctx context.Context, key string) error
}

// trainEvery is how often the train looks at the clock.
const trainEvery = time.Minute

// RunTrain proposes what is due, now and then every minute, until ctx
// ends.
func (e *Engine) RunTrain(ctx context.Context, claims Claimer) {
	for {
		if err := e.TrainTick(ctx, e.now(), claims); err != nil && ctx.Err() == nil {
			e.log().ErrorContext(ctx, "promotion: train", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.clock().After(trainEvery):
		}
	}
}

// TrainTick proposes every train due at now that has not been proposed
// today: it is a working day in the train's time zone, not a holiday,
// and the time of day has come.
func (e *Engine) TrainTick(ctx context.Context, now time.Time, claims Claimer) error {
	var errs []error
	for i := range e.Config.Promotion.Environments {
		env := &e.Config.Promotion.Environments[i]
		day, due := e.trainDue(env, now)
		if !due {
			continue
		}
		for _, project := range env.Train.Projects {
			key := fmt.Sprintf("promotion-train/%s/%s/%s", env.Name, project, day)
			mine, err := claims.Claim(ctx, key)
			if err != nil || !mine {
				errs = append(errs, err)
				continue
			}
			if err := e.propose(ctx, env, project, day); err != nil {
				// Our failure, not the gates': the next tick tries again.
				errs = append(errs, err, claims.Release(ctx, key))
			}
		}
	}
	return errors.Join(errs...)
}

// trainDue says whether env's train is due at now, and on which day.
func (e *Engine) trainDue(env *config.Environment, now time.Time) (day string, due bool) {
	t := env.Train
	if t == nil {
		return "", false
	}
	loc, err := time.LoadLocation(cmp.Or(t.TimeZone, e.Config.Rotation.TimeZone, "UTC"))
	if err != nil {
		return "", false // validated: not reached
	}
	local := now.In(loc)
	day = local.Format(time.DateOnly)
	days := t.WorkingDays
	if len(days) == 0 {
		days = e.Config.Rotation.WorkingDays
	}
	if len(days) == 0 {
		days = config.DefaultWorkingDays
	}
	working := slices.ContainsFunc(days, func(d string) bool {
		wd, ok := config.ParseWeekday(d)
		return ok && wd == local.Weekday()
	})
	at, err := time.ParseInLocation("15:04", t.At, loc)
	if err != nil || !working || slices.Contains(e.Config.Rotation.Holidays, day) {
		return day, false
	}
	return day, local.Hour()*60+local.Minute() >= at.Hour()*60+at.Minute()
}

// propose posts the offer of the newest good nightly of project for env,
// or why there is none today. Only errors on our side are returned.
func (e *Engine) propose(ctx context.Context, env *config.Environment, project, day string) error {
	tag, skipped, err := e.ResolveNightly(ctx, env, project)
	p := &Promotion{ID: "train/" + env.Name + "/" + project + "/" + day, Project: project, Environment: env.Name,
		Version: tag, State: Offered, Asked: e.now(), Skipped: skipped}
	if err == nil {
		err = e.check(ctx, env, p)
	}
	who := e.authorised(env)
	if err == nil && len(who) == 0 {
		// An Approve button nobody may press would wait forever.
		err = refuse("Nobody may promote to %s, so nobody could approve.", env.Name)
	}
	var no *Refusal
	switch {
	case errors.As(err, &no):
		e.notify(ctx, p, bot.Reply{Outcome: bot.Noop, Public: true,
			Text: fmt.Sprintf("🚂 Promotion train: nothing to propose for *%s* on *%s* today. %s", project, env.Name, no.Msg)}, nil)
		return nil
	case err != nil:
		return err
	case p.From == p.Version:
		e.log().InfoContext(ctx, "promotion: train: already deployed", "project", project, "environment", env.Name, "version", p.Version)
		return nil
	}
	if err := e.update(ctx, func(b *Book) error {
		if b.find(p.ID) == nil {
			b.put(p)
		}
		return nil
	}); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "🚂 Promotion train: promote *%s* to *%s*: %s?\n%s\n", p.Project, p.Environment, p.Change(), bullets(append(p.Evidence, p.Skipped...)))
	fmt.Fprintf(&b, "Whoever approves asks for it (%s may).", strings.Join(who, ", "))
	if env.TwoPersonRule {
		b.WriteString(" Two-person rule: then someone else approves too.")
	}
	reply := bot.Reply{Outcome: bot.Pending, Public: true, Text: b.String(), Confirm: &bot.Confirm{
		Title:     "Promote to " + p.Environment + "?",
		Text:      fmt.Sprintf("Deploy %s %s to %s.", p.Project, p.Version, p.Environment),
		Button:    "Approve",
		Approvers: who,
	}}
	// Nobody asked for the offer, so it names no caller: who may press is
	// its Approvers, and whoever presses first becomes the requester.
	offer := &bot.Request{ID: p.ID, Command: bot.Command{Verb: Verb, Args: p.Args()}, Caller: bot.Caller{Transport: bot.Slack}}
	e.notify(ctx, p, reply, offer)
	return nil
}
