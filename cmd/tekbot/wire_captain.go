package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"tekbot/captain/handoff"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/lifecycle"
	"tekbot/schedule"
	"tekbot/state"
)

// captainDuties sets up the daily handoff and paging, which run on the
// leader, and gives the page command its pager.
func (a *app) captainDuties(cfg *config.Config, log *slog.Logger, notify notifier, rotation *state.RotationState, deps *handlers.Deps) error {
	rot, err := cfg.Rotation.Schedule()
	if err != nil {
		return fmt.Errorf("rotation: %w", err)
	}
	mention := func(name string) string {
		if p := cfg.Person(name); p != nil && p.Slack != "" {
			return "<@" + p.Slack + ">"
		}
		return name
	}
	job := &handoff.Job{
		Rotation: rot, Changes: rotation, Channel: cfg.Slack.Channels.Captain,
		RunbookURL: cfg.Rotation.RunbookURL, LogURL: cfg.Rotation.LogURL, Mention: mention,
		Poster: notify, Failures: a.clusters, Claims: a.claims, Metrics: a.metrics, Log: log.With("job", "handoff"),
		Flakes: a.verdicts,
	}
	pager := &paging.Pager{
		Rotation: func(ctx context.Context) (schedule.Rotation, error) {
			changes, err := rotation.Changes(ctx)
			return changes.Apply(rot), err
		},
		Config: cfg, Store: &paging.Store{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)},
		Notifier: notify, Channel: cfg.Slack.Channels.Captain, EscalateAfter: cfg.Rotation.EscalateAfter.Duration,
		Claims: a.claims, Log: log.With("job", "paging"),
	}
	if pd := cfg.Rotation.PagerDuty; pd != nil {
		key, err := pd.RoutingKey.Value()
		if err != nil {
			return fmt.Errorf("rotation.pagerDuty.routingKey: %w", err)
		}
		pager.PagerDuty = &paging.PagerDuty{URL: pd.URL, RoutingKey: key}
	}
	deps.Pager = pager
	monitorCaptain(a.metrics, rot, pager.Store)
	a.liveDuties(cfg, log, notify, job, pager.Rotation)
	a.runnables.Add(
		// Its error is a schedule that cannot be set: fatal.
		lifecycle.Runnable{Name: "handoff", Run: job.Run},
		leader("paging escalation", func(ctx context.Context) {
			every(ctx, time.Minute, func() { logErr(log, "paging tick", pager.Tick(ctx, time.Now())) })
		}),
		leader("closed pages", func(ctx context.Context) {
			every(ctx, time.Hour, func() {
				n, err := pager.Store.DeleteClosed(ctx, paging.ClosedRetention, time.Now())
				logErr(log, "deleting closed pages", err)
				if n > 0 {
					log.Info("deleted closed pages", "count", n)
				}
			})
		}),
	)
	return nil
}
