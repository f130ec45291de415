package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/lifecycle"
	"tekbot/transport/slack"
)

// slackTransport is the Slack transport and its API client.
type slackTransport struct {
	adapter *slack.Adapter
	api     *slackapi.Client
}

// slackTransport builds the Slack transport, when Slack is on, and posts
// promotions' progress through it; its Registry and Bot are set by
// mountSlack once they exist.
func (a *app) slackTransport(deps *handlers.Deps) (*slackTransport, error) {
	if !a.cfg.SlackEnabled() {
		return nil, nil
	}
	cfg := a.cfg.Slack
	token, err := cfg.BotToken.Value()
	if err != nil {
		return nil, fmt.Errorf("slack.botToken: %w", err)
	}
	opts := []slackapi.Option{}
	if cfg.AppToken != nil {
		appToken, err := cfg.AppToken.Value()
		if err != nil {
			return nil, fmt.Errorf("slack.appToken: %w", err)
		}
		opts = append(opts, slackapi.OptionAppLevelToken(appToken))
	}
	if cfg.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(strings.TrimSuffix(cfg.APIURL, "/")+"/"))
	}
	signing := ""
	if cfg.SigningSecret != nil {
		if signing, err = cfg.SigningSecret.Value(); err != nil {
			return nil, fmt.Errorf("slack.signingSecret: %w", err)
		}
	}
	api := slackapi.New(token, opts...)
	adapter := &slack.Adapter{
		SigningSecret: signing, MaxBody: a.cfg.Server.MaxBodyBytes, Config: a.cfg,
		Poster: slack.NewPoster(api, a.log), Intake: a.intake,
		Metrics: a.metrics,
		Log:     a.log.With("transport", "slack"),
	}
	deps.Notifier = slack.Releases{Adapter: adapter}
	return &slackTransport{adapter: adapter, api: api}, nil
}

// mountSlack receives Slack over Socket Mode or at /slack/…, once the
// commands and the bot exist.
func (a *app) mountSlack(s *slackTransport) {
	if s == nil {
		return
	}
	s.adapter.Registry, s.adapter.Bot = a.registry, a.bot
	if a.cfg.Slack.Mode == config.SlackSocket {
		// Its error is a connection that cannot be kept (a revoked
		// token): it stops the process rather than leave it deaf.
		a.runnables.Add(lifecycle.Runnable{Name: "slack socket mode", Everywhere: true, Run: func(ctx context.Context) error {
			return s.adapter.RunSocketMode(ctx, socketmode.New(s.api))
		}})
		return
	}
	mux := http.NewServeMux()
	s.adapter.Register(mux)
	a.mux.Handle("/slack/", a.bodies.Wrap(mux))
}

// slackNotifier posts through the Slack transport's rate-limited poster; a
// bot may post to a user ID to reach them in its DM.
type slackNotifier struct{ slack *slack.Adapter }

func (n slackNotifier) Post(ctx context.Context, channel, text string) error {
	return n.slack.Poster.PostMessage(ctx, channel, "", slack.Message{Text: text, Public: true})
}

// DirectMessage offers an Ack button that runs "page ack <id>" as whoever
// presses it, and only the person paged may.
func (n slackNotifier) DirectMessage(ctx context.Context, to *config.Person, text, ackPage string) error {
	reply := bot.Reply{Text: text}
	ack := bot.Command{Verb: "page", Args: []string{"ack", ackPage}}
	offer := &bot.Request{ID: "page-ack/" + ackPage + "/" + to.Name, Command: ack, Caller: bot.Caller{Transport: bot.Slack, ID: to.Slack, Person: to}}
	if ackPage != "" {
		reply.Confirm = &bot.Confirm{Title: "Ack this page?", Text: "Stops the escalation.", Button: "Ack", Approvers: []string{to.Name}, Command: &ack}
	}
	_, err := n.slack.PostReply(ctx, to.Slack, "", reply, offer)
	return err
}
