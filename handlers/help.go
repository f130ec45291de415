package handlers

import (
	"context"

	"tekbot/bot"
)

func (h *commands) helpSpec() *bot.Spec {
	return &bot.Spec{
		Verb:       "help",
		Usage:      "help",
		Summary:    "list the commands you may run",
		Transports: onBoth,
		ReadOnly:   true,
		Prefixed:   true,
		Handle:     h.help,
	}
}

func (h *commands) help(ctx context.Context, req *bot.Request) bot.Reply {
	prefix := "/tekton "
	if req.Caller.Transport == bot.GitHub {
		prefix = "/"
	}
	// Show only what the caller may run, so help never advertises a denial.
	mayRun := func(s *bot.Spec) bool {
		ok, err := h.Policy.Allowed(ctx, s, req.Caller)
		return ok || err != nil
	}
	text := "tekbot commands:\n\n" + h.registry.HelpTable(req.Caller.Transport, prefix, mayRun)
	return bot.Reply{Outcome: bot.Noop, Text: text}
}
