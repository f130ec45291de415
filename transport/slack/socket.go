package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// RunSocketMode receives Slack over a Socket Mode connection (an app-level
// xapp- token; no public URL needed) until ctx ends. The client reconnects
// by itself; RunSocketMode returns nil when ctx ends and an error when the
// connection cannot be kept (e.g. a revoked token).
func (a *Adapter) RunSocketMode(ctx context.Context, client *socketmode.Client) error {
	done := make(chan error, 1)
	go func() { done <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-done:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-client.Events:
			a.socketEvent(ctx, client, evt)
		}
	}
}

// socketEvent acknowledges every envelope, handing commands, clicks and
// events to the functions the HTTP handlers use.
func (a *Adapter) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	log := a.Log.With("socket_event", evt.Type)
	switch evt.Type {
	case socketmode.EventTypeSlashCommand, socketmode.EventTypeInteractive, socketmode.EventTypeEventsAPI:
	case socketmode.EventTypeErrorBadMessage:
		a.ackUnreadable(ctx, client, log, evt)
		return
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth,
		socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		if ctx.Err() != nil {
			return // closing the connection on the way out is no trouble
		}
		log.Warn("slack socket mode trouble", "detail", evt.Data)
		return
	default: // connecting, connected, hello, disconnect
		log.Debug("slack socket mode")
		return
	}
	if evt.Request == nil {
		log.Warn("slack socket mode event without its envelope")
		return
	}
	ack := socketAck{ctx: ctx, client: client, envelope: evt.Request.EnvelopeID, log: log}
	switch data := evt.Data.(type) {
	case slackapi.SlashCommand:
		a.command(ctx, data, ack)
	case slackapi.InteractionCallback:
		a.interaction(ctx, data, ack)
	case slackevents.EventsAPIEvent:
		if evt.Request.RetryAttempt > 0 {
			log.Info("slack event retried", "retry", evt.Request.RetryAttempt, "reason", evt.Request.RetryReason)
		}
		a.event(ctx, data, evt.Request.RetryAttempt, ack)
	default:
		ack.reject(http.StatusBadRequest, fmt.Sprintf("unexpected %T", evt.Data))
	}
}

// ackUnreadable acknowledges an envelope the client could not parse (such
// as an event type slack-go does not know): redelivering it would not
// make it readable.
func (a *Adapter) ackUnreadable(ctx context.Context, client *socketmode.Client, log *slog.Logger, evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		log.Warn("slack socket mode: unreadable message")
		return
	}
	var env socketmode.Request
	if json.Unmarshal(bad.Message, &env) != nil || env.EnvelopeID == "" {
		log.Warn("slack socket mode: unreadable message without envelope", "err", bad.Cause)
		return
	}
	log.Info("slack socket mode: acknowledging an envelope tekbot cannot read", "type", env.Type, "err", bad.Cause)
	socketAck{ctx: ctx, client: client, envelope: env.EnvelopeID, log: log}.ok(nil)
}

// socketAck answers over Socket Mode.
type socketAck struct {
	ctx      context.Context
	client   *socketmode.Client
	envelope string
	log      *slog.Logger
}

func (s socketAck) ok(answer *slackapi.Msg) {
	var payload any // not a typed nil: that would send "payload": null
	if answer != nil {
		payload = answer
	}
	if err := s.client.AckCtx(s.ctx, s.envelope, payload); err != nil && !errors.Is(err, context.Canceled) {
		s.log.Error("slack socket mode: acknowledging failed", "envelope", s.envelope, "err", err)
	}
}

func (s socketAck) reject(status int, why string) {
	if status == http.StatusServiceUnavailable {
		s.log.Warn("slack socket mode: not acknowledged, so that Slack delivers it again", "envelope", s.envelope, "why", why)
		return
	}
	s.log.Warn("slack socket mode: acknowledging an envelope tekbot cannot use", "envelope", s.envelope, "why", why)
	s.ok(nil)
}
