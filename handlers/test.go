package handlers

import (
	"context"
	"slices"
	"strings"

	"tekbot/bot"
)

func (h *commands) testSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         "test",
		Usage:        "test [pipeline|all]",
		Summary:      "rerun the named pipeline for the head commit, or all of them",
		Transports:   onGitHub,
		DefaultAllow: writers,
		Handle:       h.test,
	}
}

func (h *commands) test(ctx context.Context, req *bot.Request) bot.Reply {
	p, stop := h.findPRRuns(ctx, req.PullRequest)
	if stop != nil {
		return *stop
	}
	args := req.Command.Args
	if len(args) == 0 || slices.ContainsFunc(args, func(a string) bool { return strings.EqualFold(a, "all") }) {
		return h.rerun(ctx, req, p, p.latest, nil, "")
	}
	targets, unknown := p.byName(args)
	return h.rerun(ctx, req, p, targets, unknown, "")
}
