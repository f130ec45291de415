// Package alerts tells the build captain, as it happens, that a run they
// care about failed: it watches the configured PipelineRuns on every
// cluster and posts to the captain channel, in one thread per duty day, one
// line per failing pipeline (updated when it fails again) and "green
// again" when it recovers. It also compares what each environment's
// cluster reports it runs with what tekbot last promoted there (drift).
//
// Exactly-once rests on claims in the apiserver (package state), keyed by
// the run, the day's thread and the pipeline's line: two replicas, or a
// restart that sees every run again, post once.
package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/schedule"
	"tekbot/tekton"
)

// Chat posts to Slack threads and edits messages (the Slack transport's
// poster, paced and retried).
type Chat interface {
	PostThread(ctx context.Context, channel, threadTS, text string) (ts string, err error)
	Update(ctx context.Context, channel, ts, text string) error
}

// Alerter watches runs and posts alerts.
type Alerter struct {
	Clusters *tekton.Clusters
	Watch    []config.AlertWatch
	// Rotation is the rotation with the changes made from chat: it names
	// the captain to mention. Its zone and handoff time also bound a duty
	// day, which is what a thread covers.
	Rotation func(ctx context.Context) (schedule.Rotation, error)
	Mention  func(person string) string
	Chat     Chat
	Channel  string
	Days     *Days
	Claims   bot.Claimer
	Log      *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Resync is how often every cached run is looked at again, retrying
	// alerts that could not be posted; zero means five minutes.
	Resync time.Duration
	// Verdicts puts flaky/broken/new on each failure's line, Excerpts the
	// lines of its log that explain it in the thread; nil adds nothing.
	Verdicts Verdicts
	Excerpts Excerpter
	// Finished is called with every finished run the watch receives
	// (the outcome history); nil calls nothing.
	Finished func(c *tekton.Cluster, pr *pipelinev1.PipelineRun)

	sent once

	mu      sync.Mutex
	rot     schedule.Rotation
	rotRead time.Time
	day     schedule.Date // the duty day sent's memory is about
}

// rotationFresh bounds how stale the rotation an alert uses may be: a swap
// shows in the next alert after at most this long, and a burst of events
// reads it once.
const rotationFresh = 30 * time.Second

// rotation returns the rotation, read again when older than rotationFresh.
// It also forgets the previous duty day's claims when a new one starts.
func (a *Alerter) rotation(ctx context.Context, now time.Time) (schedule.Rotation, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rotRead.IsZero() || time.Since(a.rotRead) > rotationFresh {
		rot, err := a.Rotation(ctx)
		if err != nil {
			return schedule.Rotation{}, err
		}
		a.rot, a.rotRead = rot, time.Now()
	}
	if today := dutyDate(a.rot, now); today != a.day {
		a.sent.forget()
		a.day = today
	}
	return a.rot, nil
}

// Run watches until ctx ends. Run it on the leader: only one replica then
// holds the cache. Claims keep alerts single even when leadership overlaps.
func (a *Alerter) Run(ctx context.Context) error {
	resync := a.Resync
	if resync == 0 {
		resync = 5 * time.Minute
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, w := range a.Watch {
		c := a.Clusters.Get(w.Cluster)
		if c == nil {
			return fmt.Errorf("alerts: unknown cluster %q", w.Cluster)
		}
		inf, err := informer(c, w, resync, func(pr *pipelinev1.PipelineRun) { a.observed(c, pr) })
		if err != nil {
			return err
		}
		handle := func(obj any) {
			if r, ok := obj.(*Run); ok && wanted(w, r) {
				if err := a.Observe(ctx, c, r); err != nil {
					a.Log.Error("alert not posted; retrying at the next resync", "cluster", c.Name, "run", r.Namespace+"/"+r.Name, "err", err)
				}
			}
		}
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    handle,
			UpdateFunc: func(_, obj any) { handle(obj) },
		}); err != nil {
			return err
		}
		wg.Go(func() { inf.RunWithContext(ctx) })
		wg.Go(func() {
			if cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				a.Log.Info("watching runs for alerts", "cluster", c.Name, "namespace", w.Namespace, "runs", len(inf.GetStore().ListKeys()))
			}
		})
	}
	<-ctx.Done()
	return nil
}

func wanted(w config.AlertWatch, r *Run) bool {
	return len(w.Pipelines) == 0 || slices.Contains(w.Pipelines, r.Pipeline)
}

func (a *Alerter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// dutyDate is the duty day in force at t: from one handoff to the next.
func dutyDate(rot schedule.Rotation, t time.Time) schedule.Date {
	d := schedule.DateOf(t, rot.Location)
	if t.Before(rot.HandoffAt(d)) {
		d = d.AddDays(-1)
	}
	return d
}

// Observe acts on one watched run as it is now: a failure or a recovery in
// today's duty day is posted; anything else, or anything older, is not
// (the handoff lists what failed before).
func (a *Alerter) Observe(ctx context.Context, c *tekton.Cluster, r *Run) error {
	if !r.failed() && r.State != tekton.StateSucceeded {
		return nil
	}
	now := a.now()
	if r.Finished.IsZero() || now.Sub(r.Finished) > 24*time.Hour {
		return nil
	}
	rot, err := a.rotation(ctx, now)
	if err != nil {
		return err
	}
	today := dutyDate(rot, now)
	if dutyDate(rot, r.Finished) != today {
		return nil
	}
	key := fmt.Sprintf("alert/%s/%s/%s/%s", c.Name, r.Namespace, r.Name, r.UID)
	if r.failed() {
		return a.sent.do(ctx, a.Claims, a.Log, key, func() error { return a.failure(ctx, c, r, rot, today) })
	}
	// A success is judged once: a resync does not read the record again.
	if a.sent.seen(key) {
		return nil
	}
	if err := a.recovery(ctx, c, r, rot, today); err != nil {
		return err
	}
	a.sent.mark(key)
	return nil
}

// failure records a failed run on its pipeline's line and posts the line,
// or edits it when the pipeline failed earlier in the day.
func (a *Alerter) failure(ctx context.Context, c *tekton.Cluster, r *Run, rot schedule.Rotation, today schedule.Date) error {
	thread, err := a.thread(ctx, rot, today)
	if err != nil {
		return err
	}
	key := lineKey(c.Name, r.Pipeline)
	detail := a.whatFailed(ctx, c, r)
	if v := a.verdict(ctx, c, r); v != "" {
		detail = v + ": " + detail
	}
	day, err := a.Days.Update(ctx, today, func(d *Day) {
		l := d.Lines[key]
		if l == nil {
			l = &Line{Cluster: c.Name, Pipeline: r.Pipeline}
			d.Lines[key] = l
		}
		l.addFailure(r.Name, r.Finished, c.URL(r.Namespace, r.Name), detail)
	})
	if err != nil {
		return err
	}
	line := day.Lines[key]
	text := a.lineText(rot, today, line)
	ts, fresh, err := a.posted(ctx, today, "alert-line/"+today.String()+"/"+key,
		func(d *Day) string { return d.Lines[key].TS },
		func(d *Day, ts string) { d.Lines[key].TS = ts },
		func() (string, error) { return a.Chat.PostThread(ctx, a.Channel, thread, text) })
	if err != nil {
		return err
	}
	if !fresh {
		// The pipeline failed earlier in the day: its line is edited in place.
		if err := a.Chat.Update(ctx, a.Channel, ts, text); err != nil {
			return err
		}
	}
	return a.excerpt(ctx, c, r, thread)
}

// recovery posts "green again" when a pipeline with a failure today
// succeeds after it, once per failure streak.
func (a *Alerter) recovery(ctx context.Context, c *tekton.Cluster, r *Run, rot schedule.Rotation, today schedule.Date) error {
	key := lineKey(c.Name, r.Pipeline)
	day, err := a.Days.Get(ctx, today)
	if err != nil {
		return err
	}
	l := day.Lines[key]
	if l == nil || l.Green || !r.Finished.After(l.LastFailed) || l.TS == "" || day.Thread == "" {
		return nil
	}
	claim := fmt.Sprintf("alert-green/%s/%s/%d", today, key, l.Failures)
	return a.sent.do(ctx, a.Claims, a.Log, claim, func() error {
		at := r.Finished.In(rot.Location).Format("15:04")
		text := fmt.Sprintf(":large_green_circle: *%s* %s is green again: %s succeeded at %s after %d failed today.",
			l.Cluster, bot.Code(l.Pipeline), bot.Code(r.Name), at, l.Failures)
		if _, err := a.Chat.PostThread(ctx, a.Channel, day.Thread, text); err != nil {
			return err
		}
		saved, err := a.Days.Update(ctx, today, func(d *Day) {
			if l := d.Lines[key]; l != nil && r.Finished.After(l.LastFailed) {
				l.Green, l.GreenAt = true, r.Finished
			}
		})
		if err != nil {
			return err
		}
		// The line says so too, for whoever reads only the top of it.
		return a.Chat.Update(ctx, a.Channel, l.TS, a.lineText(rot, today, saved.Lines[key]))
	})
}

// thread returns the day's thread, starting it (once across replicas) on
// the day's first alert.
func (a *Alerter) thread(ctx context.Context, rot schedule.Rotation, today schedule.Date) (string, error) {
	ts, _, err := a.posted(ctx, today, "alert-thread/"+today.String(),
		func(d *Day) string { return d.Thread },
		func(d *Day, ts string) { d.Thread = ts },
		func() (string, error) {
			text := fmt.Sprintf(":rotating_light: *Failure alerts, %s %s.* %s. Each failing pipeline gets one line here, updated when it fails again; a success says green again.",
				today.Weekday(), today, a.captain(rot, today))
			return a.Chat.PostThread(ctx, a.Channel, "", text)
		})
	return ts, err
}

func (a *Alerter) captain(rot schedule.Rotation, d schedule.Date) string {
	if p := rot.Day(d).Person; p != "" {
		return "Build captain: " + a.Mention(p)
	}
	return "Nobody is on duty today"
}

// lineText renders a pipeline's line.
func (a *Alerter) lineText(rot schedule.Rotation, today schedule.Date, l *Line) string {
	loc := rot.Location
	var b strings.Builder
	who := ""
	if p := rot.Day(today).Person; p != "" {
		who = a.Mention(p) + " "
	}
	fmt.Fprintf(&b, "%s:red_circle: *%s* %s failed %s today, last %s at %s",
		who, l.Cluster, bot.Code(l.Pipeline), times(l.Failures), bot.Code(l.LastRun), l.LastFailed.In(loc).Format("15:04"))
	if l.Detail != "" {
		b.WriteString(": " + l.Detail)
	}
	if l.URL != "" {
		fmt.Fprintf(&b, " <%s|dashboard>", l.URL)
	}
	if l.Green {
		fmt.Fprintf(&b, "\n:large_green_circle: green again since %s", l.GreenAt.In(loc).Format("15:04"))
	}
	return b.String()
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// maxDetail keeps a line readable when a step's message is a stack trace.
const maxDetail = 200

// whatFailed names the failed TaskRuns and their reasons, from their
// Succeeded conditions; without any (a run that failed before its tasks
// started) it is the run's own reason. Whoever can create a run or write
// its status writes these, so each is shown as code (bot.Code).
func (a *Alerter) whatFailed(ctx context.Context, c *tekton.Cluster, r *Run) string {
	var parts []string
	for _, child := range r.Failure.TaskRuns {
		tr, err := c.Tekton.TektonV1().TaskRuns(r.Namespace).Get(ctx, child.Name, metav1.GetOptions{})
		if err != nil {
			a.Log.Warn("reading a failed run's TaskRun", "cluster", c.Name, "taskrun", r.Namespace+"/"+child.Name, "err", err)
			continue
		}
		cond := tr.Status.GetCondition(apis.ConditionSucceeded)
		if cond == nil || !cond.IsFalse() {
			continue
		}
		task := child.Task
		if task == "" {
			task = child.Name
		}
		parts = append(parts, fmt.Sprintf("%s (%s) %s", bot.Code(task), bot.Code(child.Name), bot.Code(cond.Reason+": "+clip(cond.Message))))
	}
	if len(parts) == 0 && r.Failure.Reason != "" {
		return bot.Code(r.Failure.Reason + ": " + clip(r.Failure.Message))
	}
	return strings.Join(parts, "; ")
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxDetail {
		return s[:maxDetail] + "…"
	}
	return s
}

// waitPosted bounds how long a replica waits for another one to record
// the thread or line it is posting.
const waitPosted = 30 * time.Second

var errNotRecorded = errors.New("another replica is posting it and has not recorded it yet")

// posted returns the message get finds in today's record, posting it
// first if there is none: the replica that claims key posts and records
// it (fresh), the others wait until it is recorded.
func (a *Alerter) posted(ctx context.Context, today schedule.Date, key string, get func(*Day) string, set func(*Day, string), post func() (string, error)) (ts string, fresh bool, err error) {
	day, err := a.Days.Get(ctx, today)
	if err != nil {
		return "", false, err
	}
	if ts := get(day); ts != "" {
		return ts, false, nil
	}
	ok, err := a.Claims.Claim(ctx, key)
	if err != nil {
		return "", false, err
	}
	if ok {
		ts, err = post()
		if err != nil {
			if rerr := a.Claims.Release(ctx, key); rerr != nil {
				a.Log.Error("releasing an alert claim after a failed post", "key", key, "err", rerr)
			}
			return "", false, err
		}
		// Posted: the claim stays even if recording fails, as a second
		// message would be worse than a missing line.
		_, err = a.Days.Update(ctx, today, func(d *Day) { set(d, ts) })
		return ts, true, err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, waitPosted, true, func(ctx context.Context) (bool, error) {
		day, err := a.Days.Get(ctx, today)
		if err != nil {
			return false, err
		}
		ts = get(day)
		return ts != "", nil
	})
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", key, errNotRecorded)
	}
	return ts, false, nil
}
