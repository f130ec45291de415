package main

import (
	"context"
	"log/slog"
	"time"

	"tekbot/captain/alerts"
	"tekbot/captain/handoff"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/lifecycle"
	"tekbot/promotion"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/transport/slack"
)

// liveNotifier is what the captain's live duties need besides notifier:
// threads and edits for alerts, and user groups for @build-captain. Slack
// has them; the sandbox's terminal may.
type liveNotifier interface {
	notifier
	alerts.Chat
	handoff.GroupSetter
}

// groupInterval is how soon @build-captain follows a swap made from chat.
const groupInterval = 30 * time.Second

// liveDuties completes the handoff (open pages, drift, the alerts since
// the last one) and adds the leader's live jobs: failure alerts,
// @build-captain and drift posts. Without a liveNotifier only the handoff
// gains the parts it can read.
func (a *app) liveDuties(cfg *config.Config, log *slog.Logger, notify notifier, job *handoff.Job, rotation func(context.Context) (schedule.Rotation, error)) {
	days := &alerts.Days{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)}
	observer := &alerts.Observer{
		Environments: cfg.Promotion.Environments, Clusters: a.clusters,
		Promoted: &promotion.Record{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)},
	}
	job.Pages = &paging.Store{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)}
	job.Drift, job.Alerts = observer, days
	live, ok := notify.(liveNotifier)
	if !ok {
		if len(cfg.Alerts.Watch) > 0 || cfg.Slack.CaptainGroup != "" {
			log.Warn("failure alerts and @build-captain need Slack; they are off")
		}
		return
	}
	if len(cfg.Alerts.Watch) > 0 {
		alerter := &alerts.Alerter{
			Clusters: a.clusters, Watch: cfg.Alerts.Watch, Rotation: rotation, Mention: job.Mention,
			Chat: live, Channel: cfg.Slack.Channels.Captain, Days: days, Claims: a.claims, Log: log.With("job", "alerts"),
			Verdicts: a.verdicts, Excerpts: alertExcerpts{a.excerpts}, Finished: a.alertOutcomes,
		}
		// Its error is a watch that cannot be set up (an unknown cluster):
		// fatal.
		a.runnables.Add(lifecycle.Runnable{Name: "failure alerts", Run: alerter.Run})
	}
	if cfg.Slack.CaptainGroup != "" {
		group := &handoff.Group{
			ID: cfg.Slack.CaptainGroup, Rotation: rotation, Slack: live, Log: log.With("job", "captain-group"),
			Status: &handoff.GroupStatus{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)},
			SlackID: func(name string) string {
				if p := cfg.Person(name); p != nil {
					return p.Slack
				}
				return ""
			},
		}
		a.runnables.Add(leader("@build-captain group", func(ctx context.Context) { group.Run(ctx, groupInterval) }))
	}
	if cfg.Slack.Channels.Releases != "" && len(cfg.Promotion.Environments) > 0 {
		drift := &alerts.DriftWatch{Observer: observer, Poster: live, Channel: cfg.Slack.Channels.Releases, Claims: a.claims, Log: log.With("job", "drift")}
		a.runnables.Add(leader("drift check", func(ctx context.Context) {
			every(ctx, 5*time.Minute, func() { logErr(log, "drift check", drift.Tick(ctx)) })
		}))
	}
}

// PostThread posts to a channel, in a thread when threadTS is set, and
// returns the message's timestamp.
func (n slackNotifier) PostThread(ctx context.Context, channel, threadTS, text string) (string, error) {
	return n.slack.Poster.PostMessageTS(ctx, channel, threadTS, slack.Message{Text: text, Public: true})
}

// Update edits a message tekbot posted.
func (n slackNotifier) Update(ctx context.Context, channel, ts, text string) error {
	return n.slack.Poster.UpdateMessage(ctx, channel, ts, slack.Message{Text: text, Public: true})
}

// SetGroupMembers sets a user group's members.
func (n slackNotifier) SetGroupMembers(ctx context.Context, group string, users []string) error {
	return n.slack.Poster.SetGroupMembers(ctx, group, users)
}
