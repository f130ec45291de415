package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/config"
)

func (h *commands) pageSpec() *bot.Spec {
	return &bot.Spec{
		Verb:       "page",
		Usage:      "page [urgent] [reason] | page ack [id]",
		Summary:    "page the build captain (escalates if nobody acks), or ack a page",
		Transports: onBoth,
		// Checked in the handler: paging by policy.allow.page, while any
		// configured person may ack (a captain need not be a maintainer).
		ReadOnly: true,
		Gates:    []*bot.Spec{pagers, urgentPages},
		Handle:   h.page,
	}
}

var notConfigured = bot.Reply{Outcome: bot.Failed, Text: "Paging is not configured: it needs Slack and a rotation with a captain channel."}

// pagers may page; urgentPages may page outside working hours.
var (
	pagers      = &bot.Spec{Verb: "page", Usage: "page", DefaultAllow: []string{"maintainers", config.RoleRepoWriters}}
	urgentPages = &bot.Spec{Verb: "page", Usage: "page urgent", DefaultAllow: []string{"maintainers"}}
)

func (h *commands) page(ctx context.Context, req *bot.Request) bot.Reply {
	args := req.Command.Args
	if len(args) > 0 && strings.EqualFold(args[0], "ack") {
		if req.Caller.Person == nil {
			return bot.Reply{Outcome: bot.Denied, Text: "Only people configured in tekbot can ack a page."}
		}
		id := ""
		if len(args) > 1 {
			id = args[1]
		}
		if h.Pager == nil {
			return notConfigured
		}
		pg, err := h.Pager.Ack(ctx, h.now(), id, req.Caller.Name())
		var acked *paging.AckedError
		switch {
		case errors.Is(err, paging.ErrNothingToAck):
			return refused("No page is waiting for an ack.")
		case errors.Is(err, paging.ErrNoSuchPage):
			return refused("There is no page %s to ack.", bot.Code(id))
		case errors.As(err, &acked):
			return bot.Reply{Outcome: bot.Noop, Text: sprintf("Page %s was already acked by %s.", acked.ID, acked.By)}
		case err != nil && pg == nil:
			return h.trouble(ctx, req, "tekbot's state store", err, "ack the page")
		}
		reply := bot.Reply{Outcome: bot.Done, Public: true, Text: fmt.Sprintf("%s acked page %s (%s).", req.Caller.Name(), pg.ID, bot.UserText(pg.Reason)), Targets: []string{"page/" + pg.ID}}
		if err != nil {
			// The ack is stored: only telling the channel or PagerDuty of it failed.
			h.logFailure(ctx, req, "telling of the ack", err)
			reply.Text += fmt.Sprintf(" The captain channel or PagerDuty could not be told of it (request %s).", bot.ShortID(req.ID))
		}
		return reply
	}
	if ok, err := h.Policy.Allowed(ctx, pagers, req.Caller); err != nil || !ok {
		return bot.Reply{Outcome: bot.Denied, Text: "Sorry, you may not page the build captain. Who may: " + h.Policy.WhoMay(pagers, req.Caller.Transport, "") + "."}
	}
	urgent := len(args) > 0 && strings.EqualFold(args[0], "urgent")
	if urgent {
		args = args[1:]
		if ok, err := h.Policy.Allowed(ctx, urgentPages, req.Caller); err != nil || !ok {
			return bot.Reply{Outcome: bot.Denied, Text: "Sorry, you may not page urgently. Who may: " + h.Policy.WhoMay(urgentPages, req.Caller.Transport, "") + "."}
		}
	}
	if h.Pager == nil {
		return notConfigured
	}
	reason := strings.Join(args, " ")
	if reason == "" {
		reason = "(no reason given)"
	}
	link := ""
	if req.PullRequest != nil {
		link = req.PullRequest.URL
	}
	pg, err := h.Pager.Page(ctx, h.now(), paging.Request{ID: req.ID, Requester: req.Caller.Name(), Reason: reason, Link: link, Urgent: urgent})
	if errors.Is(err, paging.ErrRateLimited) {
		return refused("Not paged: %v.", err)
	}
	if err != nil {
		return h.trouble(ctx, req, "tekbot's state store or Slack", err, "page the build captain")
	}
	text := fmt.Sprintf("Paged the build captain (%s), page %s: %s", strings.Join(pg.Paged, ", "), pg.ID, bot.UserText(reason))
	if !pg.Delivered {
		text = fmt.Sprintf("Nobody is on duty now; page %s will reach the next captain at %s. Use `page urgent …` if it cannot wait.", pg.ID, pg.DeliverAt.Format("Mon 2006-01-02 15:04 MST"))
	}
	return bot.Reply{Outcome: bot.Done, Public: true, Text: text, Targets: []string{"page/" + pg.ID}}
}
