package main

import (
	"context"

	"tekbot/bot"
	"tekbot/triage"
)

// alertExcerpts is the captain's alerts' view of the triage readers: the
// alerts thread is in Slack.
type alertExcerpts struct{ r *triage.Readers }

func (a alertExcerpts) Excerpt(ctx context.Context, cluster, namespace, run string) (string, error) {
	return a.r.Excerpt(ctx, cluster, namespace, run, bot.Slack)
}
