// Package handoff acts on the build-captain rotation: every duty day at the
// handoff time it posts who is on duty, who was, who is next and what is
// failing, and it warns before the rotation's data runs out. The maths stays
// in package schedule; this package only decides when to speak, and makes
// sure it speaks once.
package handoff

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/robfig/cron/v3"

	"tekbot/bot"
	"tekbot/captain/alerts"
	"tekbot/captain/paging"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/tekton"
)

// Poster sends a message to a chat channel; the Slack transport implements
// it with rate limiting and retries.
type Poster interface {
	Post(ctx context.Context, channel, text string) error
}

// Failures lists PipelineRuns that failed since a time (tekton.Clusters).
type Failures interface {
	FailedSince(ctx context.Context, since time.Time) ([]tekton.Failure, error)
}

// Changes reads the rotation's changes made from chat (package state).
type Changes interface {
	Changes(ctx context.Context) (state.RotationChanges, error)
}

// Pages lists the pages nobody has acked yet (paging.Store).
type Pages interface {
	Open(ctx context.Context) ([]*paging.Page, error)
}

// Drift compares what the environments run with what tekbot promoted
// (alerts.Observer).
type Drift interface {
	Observe(ctx context.Context) ([]alerts.Observation, error)
}

// AlertDays reads a duty day's failure alerts (alerts.Days).
type AlertDays interface {
	Get(ctx context.Context, d schedule.Date) (*alerts.Day, error)
}

// Job posts the daily handoff.
type Job struct {
	// Rotation is the configured rotation; Changes, if set, adds the swaps,
	// covers and days off made from chat.
	Rotation   schedule.Rotation
	Changes    Changes
	Channel    string
	RunbookURL string
	LogURL     string
	// Mention renders a person for the channel (a Slack mention).
	Mention  func(person string) string
	Poster   Poster
	Failures Failures
	// Pages, Drift and Alerts, when set, add open pages, drift and the
	// alerts posted since the last handoff.
	Pages  Pages
	Drift  Drift
	Alerts AlertDays
	// Flakes, when set, adds the week's flakiest pipelines and tasks.
	Flakes Flakes
	// Claims make each day's message happen once, across replicas and
	// restarts: "posted for date D" lives in the apiserver.
	Claims  bot.Claimer
	Metrics *bot.Metrics
	Log     *slog.Logger

	mu   sync.Mutex
	done map[string]bool // claims this process already holds or saw taken
}

// Tick does what is due at now: today's handoff once its time has come
// (so a bot that was down at handoff time catches up when it starts), and
// the expiry warning. It is safe to call often and from several replicas.
func (j *Job) Tick(ctx context.Context, now time.Time) error {
	rot, err := j.current(ctx)
	if err != nil {
		return err
	}
	today := schedule.DateOf(now, rot.Location)
	if now.Before(rot.HandoffAt(today)) {
		return nil
	}
	var errs []error
	// Weekends get no handoff, as in Tekton's rotation.
	if rot.Day(today).Reason != schedule.ReasonNonWorkingDay {
		errs = append(errs, j.once(ctx, "handoff/"+today.String(), func() error {
			if err := j.Poster.Post(ctx, j.Channel, j.message(ctx, rot, today, now)); err != nil {
				return err
			}
			j.Metrics.HandoffPosted()
			return nil
		}))
	}
	// The warning comes every day, weekends included, until someone acts.
	if end, soon := rot.RunsOutSoon(today); soon {
		errs = append(errs, j.once(ctx, "rotation-expiry/"+today.String(), func() error {
			return j.Poster.Post(ctx, j.Channel, fmt.Sprintf(
				":warning: The build-captain rotation runs out on %s. Extend the roster (rotation in tekbot's config) before then, or nobody will be on duty.", end))
		}))
	}
	return errors.Join(errs...)
}

// once runs post unless key was claimed before; a failed post releases the
// claim so the next tick retries instead of the day going silent.
func (j *Job) once(ctx context.Context, key string, post func() error) error {
	j.mu.Lock()
	if j.done == nil {
		j.done = map[string]bool{}
	}
	seen := j.done[key]
	j.mu.Unlock()
	if seen {
		return nil
	}
	ok, err := j.Claims.Claim(ctx, key)
	if err != nil {
		return fmt.Errorf("claiming %s: %w", key, err)
	}
	if ok {
		if err := post(); err != nil {
			if rerr := j.Claims.Release(ctx, key); rerr != nil {
				j.Log.Error("releasing a claim after a failed post", "key", key, "err", rerr)
			}
			return fmt.Errorf("posting %s: %w", key, err)
		}
		j.Log.Info("posted", "key", key, "channel", j.Channel)
	}
	j.mu.Lock()
	j.done[key] = true
	j.mu.Unlock()
	return nil
}

// current is the rotation with the changes made from chat.
func (j *Job) current(ctx context.Context) (schedule.Rotation, error) {
	if j.Changes == nil {
		return j.Rotation, nil
	}
	c, err := j.Changes.Changes(ctx)
	if err != nil {
		return schedule.Rotation{}, fmt.Errorf("reading rotation changes: %w", err)
	}
	return c.Apply(j.Rotation), nil
}

// Message renders the handoff for date d as of now.
func (j *Job) Message(ctx context.Context, d schedule.Date, now time.Time) (string, error) {
	rot, err := j.current(ctx)
	if err != nil {
		return "", err
	}
	return j.message(ctx, rot, d, now), nil
}

func (j *Job) message(ctx context.Context, r schedule.Rotation, d schedule.Date, now time.Time) string {
	var b strings.Builder
	duty := r.Day(d)
	fmt.Fprintf(&b, "*Build captain handoff, %s %s*\n", d.Weekday(), d)
	if duty.Person != "" {
		fmt.Fprintf(&b, "Today's build captain: %s\n", j.Mention(duty.Person))
	} else {
		fmt.Fprintf(&b, "Nobody is on duty today (%s%s).\n", duty.Reason, note(duty.Note))
	}
	if prev, ok := r.Previous(d); ok {
		fmt.Fprintf(&b, "Previous: %s (%s)\n", j.Mention(prev.Person), prev.Date)
	}
	if next := r.Next(d.AddDays(1), 1); len(next) > 0 {
		fmt.Fprintf(&b, "Next: %s (%s %s)\n", j.Mention(next[0].Person), next[0].Date.Weekday().String()[:3], next[0].Date)
	}
	var links []string
	if j.RunbookURL != "" {
		links = append(links, fmt.Sprintf("<%s|runbook>", j.RunbookURL))
	}
	if j.LogURL != "" {
		links = append(links, fmt.Sprintf("<%s|captain log>", j.LogURL))
	}
	if len(links) > 0 {
		b.WriteString(strings.Join(links, " · ") + "\n")
	}
	failures, err := j.Failures.FailedSince(ctx, now.Add(-24*time.Hour))
	switch {
	case len(failures) == 0 && err == nil:
		b.WriteString("Nothing failed in the last 24 hours. :white_check_mark:\n")
	case len(failures) > 0:
		fmt.Fprintf(&b, "Needs attention, %d failed in the last 24 hours:\n", len(failures))
	}
	for _, f := range failures {
		// Run names are DNS labels, safe as a link's label; a pipeline
		// name may come from a label anyone creating a run writes.
		name := bot.Code(f.Name)
		if f.URL != "" {
			name = fmt.Sprintf("<%s|%s>", f.URL, f.Name)
		}
		fmt.Fprintf(&b, "• %s: %s %s (%s)\n", f.Cluster, bot.Code(f.Pipeline), name, f.State)
	}
	if err != nil {
		j.Log.Error("handoff: listing failures", "err", err)
		b.WriteString("(Some clusters could not be read; see tekbot's log.)\n")
	}
	j.alertsSince(ctx, &b, r, d)
	j.flakiest(ctx, &b, now)
	j.openPages(ctx, &b)
	j.drift(ctx, &b)
	return strings.TrimRight(b.String(), "\n")
}

func note(n string) string {
	if n == "" {
		return ""
	}
	return ": " + n
}

// Run ticks at the handoff time in the rotation's zone, plus every five
// minutes so that a failed post is retried and a late start catches up,
// until ctx ends. Run it on the leader only; claims keep it exactly once
// even while leadership changes hands.
func (j *Job) Run(ctx context.Context) error {
	tick := func() {
		if err := j.Tick(ctx, time.Now()); err != nil {
			j.Log.Error("handoff tick failed; retrying in 5 minutes", "err", err)
		}
	}
	c := cron.New(cron.WithLocation(j.Rotation.Location))
	spec := fmt.Sprintf("%d %d * * *", j.Rotation.Handoff.Minute, j.Rotation.Handoff.Hour)
	if _, err := c.AddFunc(spec, tick); err != nil {
		return fmt.Errorf("scheduling the handoff: %w", err)
	}
	if _, err := c.AddFunc("@every 5m", tick); err != nil {
		return fmt.Errorf("scheduling the catch-up: %w", err)
	}
	tick()
	c.Start()
	<-ctx.Done()
	<-c.Stop().Done()
	return nil
}
