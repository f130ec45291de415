package slack

import (
	"context"

	"tekbot/bot"
	"tekbot/promotion"
)

// PostReply posts a reply into a channel thread (a new thread when ts is
// empty) and returns the thread's ts. A reply that asks for confirmation
// carries buttons that run offer, as a slash command's would. Promotions use
// it to report progress and ask for approval after the command answered.
func (a *Adapter) PostReply(ctx context.Context, channel, ts string, reply bot.Reply, offer *bot.Request) (string, error) {
	m := Message{Text: Mrkdwn(reply.Text), Public: true}
	if reply.Confirm != nil && offer != nil {
		m = confirmMessage(m.Text, reply.Confirm, offer)
		m.Public = true
	}
	posted, err := a.Poster.PostMessageTS(ctx, channel, ts, m)
	if ts == "" {
		ts = posted
	}
	return ts, err
}

// Releases is the promotion engine's Notifier: it posts a promotion's
// progress, and its Approve and Roll back buttons, into threads of the
// releases channel.
type Releases struct{ Adapter *Adapter }

// Post posts reply into thread, starting the thread when it has no TS.
func (r Releases) Post(ctx context.Context, thread promotion.Thread, reply bot.Reply, offer *bot.Request) (promotion.Thread, error) {
	ts, err := r.Adapter.PostReply(ctx, thread.Channel, thread.TS, reply, offer)
	return promotion.Thread{Channel: thread.Channel, TS: ts}, err
}
