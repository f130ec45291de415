package handlers

import (
	"context"

	"tekbot/bot"
)

// The commands below are part of the grammar (so they parse, show in help
// and are authorised like the rest) but their actions arrive with their
// own issues; until then they say so instead of failing.

func (h *commands) pageSpec() *bot.Spec {
	return notYet(&bot.Spec{
		Verb:       "page",
		Usage:      "page [reason]",
		Summary:    "page the build captain",
		Transports: onBoth,
		ReadOnly:   true,
	})
}

func (h *commands) promoteSpec() *bot.Spec {
	return notYet(&bot.Spec{
		Verb:         "promote",
		Usage:        "promote <project> <version|nightly> [to <environment>]",
		Summary:      "deploy a vetted nightly release to production",
		Transports:   onSlack,
		DefaultAllow: []string{"release-managers"},
	})
}

func notYet(s *bot.Spec) *bot.Spec {
	s.Handle = func(context.Context, *bot.Request) bot.Reply {
		return bot.Reply{Outcome: bot.Refused, Text: "`" + s.Verb + "` is not available yet in this version of tekbot."}
	}
	return s
}
