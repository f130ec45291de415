package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/promotion"
)

// promoteRoles may promote when policy.allow does not name the verb.
var promoteRoles = []string{"release-managers"}

func (h *commands) promoteSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         promotion.Verb,
		Usage:        "promote <project> <version|nightly> [to <environment>]",
		Summary:      "deploy a vetted nightly release to production",
		Transports:   onSlack,
		DefaultAllow: promoteRoles,
		Handle:       h.promote,
	}
}

// Promotions is the promotion engine over d. Besides the promote and
// promotions commands, the app calls its Resume once at start (to watch
// deploys that were running); a gitops promotion ends with its PR, which
// the engine's watch reads from GitHub (Engine.PullRequestClosed).
func (d *Deps) Promotions() *promotion.Engine {
	e := &promotion.Engine{
		Config: d.Config, Clusters: d.Clusters,
		Roles: d.Policy.Roles(&bot.Spec{Verb: promotion.Verb, DefaultAllow: promoteRoles}),
		Repos: d.GitOps, Notifier: d.Notifier, Runner: d.Runner, Audit: d.Audit, Now: d.Now, Log: d.Log,
	}
	if d.Pager != nil {
		e.Pager = captainPager{pager: d.Pager, now: d.Now}
	}
	return e
}

// captainPager pages the captain for the promotion engine, as tekbot.
type captainPager struct {
	pager Pager
	now   func() time.Time
}

func (c captainPager) PageCaptain(ctx context.Context, key, reason, link string) error {
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	_, err := c.pager.Page(ctx, now, paging.Request{ID: key, Requester: "tekbot", Reason: reason, Link: link})
	return err
}

const promoteUsage = "Usage: `promote <project> <version|nightly> [to <environment>]`"

// promote asks, then confirms. The first request runs the gates and
// answers with a confirm dialog; the confirmed request (the requester's
// click, a second person's Approve, or a Roll back) is matched to the
// recorded promotion by its request ID, and the Engine decides what it
// may do. The version a dialog showed is the one deployed, even if a newer
// nightly appeared meanwhile.
func (h *commands) promote(ctx context.Context, req *bot.Request) bot.Reply {
	args := req.Command.Args
	if len(args) < 2 {
		return refused(promoteUsage)
	}
	r := promotion.Request{ID: req.ID, Project: strings.ToLower(args[0]), Version: args[1], By: req.Caller.Name()}
	switch {
	case len(args) == 2:
	case len(args) == 4 && strings.EqualFold(args[2], "to"):
		r.Environment = args[3]
	default:
		// An injection attempt ("v1.0.0;rm -rf") splits into several
		// words: what is wrong is the version, not only the usage.
		if r.Version != promotion.NightlyWord {
			if _, err := promotion.CheckVersion(r.Version); err != nil {
				return refused("%v", err)
			}
		}
		return refused(promoteUsage)
	}
	e := h.Promotions()
	if req.Confirmed {
		p, started, err := e.Confirm(ctx, r)
		if err != nil {
			return h.promoteFailure(ctx, req, r, err)
		}
		return confirmedReply(p, started)
	}
	p, err := e.Ask(ctx, r)
	if err != nil {
		return h.promoteFailure(ctx, req, r, err)
	}
	if p.State != promotion.Asked {
		return confirmedReply(p, false) // a retried request that has moved on
	}
	env, err := e.Environment(p.Environment)
	if err != nil {
		return h.promoteFailure(ctx, req, r, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Promote *%s* to *%s*: %s\n", p.Project, p.Environment, p.Change())
	for _, ev := range p.Evidence {
		bullet(&b, "%s", ev)
	}
	for _, why := range p.Skipped {
		bullet(&b, "%s", why)
	}
	if env.TwoPersonRule {
		b.WriteString("Two-person rule: once you confirm, someone else who may promote here approves.\n")
	}
	return bot.Reply{
		Outcome: bot.Pending,
		Text:    strings.TrimRight(b.String(), "\n"),
		Confirm: &bot.Confirm{
			Title:  "Promote to " + p.Environment + "?",
			Text:   fmt.Sprintf("Deploy %s %s to %s.", p.Project, p.Pinned(), p.Environment),
			Button: "Promote",
		},
	}
}

func confirmedReply(p *promotion.Promotion, started bool) bot.Reply {
	reply := bot.Reply{Outcome: bot.Noop, Public: true}
	if t := p.Target(); t != "" {
		reply.Targets = []string{t}
	}
	switch {
	case p.State == promotion.AwaitingApproval:
		reply.Outcome = bot.Pending
		reply.Text = fmt.Sprintf("%s asked to promote *%s* to *%s* (%s). Waiting for a second person's approval: the request is in the releases channel.",
			p.RequestedBy, p.Project, p.Environment, p.Change())
	case started:
		reply.Outcome = bot.Done
		reply.Text = fmt.Sprintf("%s is promoting *%s* to *%s*: %s: %s. Progress follows in the releases channel.",
			p.RequestedBy, p.Project, p.Environment, p.Change(), p.Link())
	case p.State == promotion.Running:
		reply.Text = fmt.Sprintf("Already promoting *%s* `%s` to *%s* for this request: %s.", p.Project, p.Version, p.Environment, p.Link())
	default:
		reply.Text = fmt.Sprintf("This promotion of *%s* `%s` to *%s* has already ended: %s (%s).", p.Project, p.Version, p.Environment, p.State, p.Link())
	}
	return reply
}

// promoteFailure turns the Engine's error into a reply: a gate's refusal
// (or denial) as it is, anything else as our failure.
func (h *commands) promoteFailure(ctx context.Context, req *bot.Request, r promotion.Request, err error) bot.Reply {
	var refusal *promotion.Refusal
	switch {
	case errors.As(err, &refusal) && refusal.Denied:
		return bot.Reply{Outcome: bot.Denied, Text: refusal.Msg}
	case errors.As(err, &refusal):
		return refused("%s", refusal.Msg)
	}
	return h.trouble(ctx, req, "a cluster or tekbot's state store", err, "promote "+r.Project)
}
