package handlers

import (
	"context"
	"maps"
	"slices"
	"strings"

	"tekbot/bot"
	"tekbot/config"
)

func (h *commands) testSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         "test",
		Usage:        "test [pipeline…|all] [key=value…]",
		Summary:      "rerun the named pipelines for the head commit (or all of them), with any params the repository lets you override",
		Transports:   onGitHub,
		DefaultAllow: writers,
		ListArgs:     true,
		Idempotent:   true,
		Elsewhere:    map[bot.Transport]string{bot.Slack: "rerun <pipelinerun|PR URL>"},
		Handle:       h.test,
	}
}

func (h *commands) test(ctx context.Context, req *bot.Request) bot.Reply {
	p, stop := h.findPRRuns(ctx, req, req.PullRequest)
	if stop != nil {
		return *stop
	}
	names, params, refusals := splitOverrides(p.repo, req.Command.Args)
	if len(refusals) > 0 {
		return refused("Nothing was rerun: %s", strings.Join(refusals, "; "))
	}
	p.params = params
	var reply bot.Reply
	if len(names) == 0 || slices.ContainsFunc(names, func(a string) bool { return strings.EqualFold(a, "all") }) {
		reply = h.rerun(ctx, req, p, p.latest, nil, "")
	} else {
		targets, unknown := p.byName(names)
		reply = h.rerun(ctx, req, p, targets, unknown, "")
	}
	if len(params) > 0 && len(reply.Targets) > 0 {
		var set []string
		for _, k := range slices.Sorted(maps.Keys(params)) {
			set = append(set, bot.UserText(k+"="+params[k]))
		}
		reply.Text = "With " + strings.Join(set, ", ") + ".\n" + reply.Text
	}
	return reply
}

// splitOverrides separates pipeline names from key=value params and checks
// each param against the repository's allow-list: refusals name the key
// or value refused and why, so the caller can fix the comment.
func splitOverrides(repo *config.Repository, args []string) (names []string, params map[string]string, refusals []string) {
	params = map[string]string{}
	for _, a := range args {
		key, value, isParam := strings.Cut(a, "=")
		if !isParam {
			names = append(names, a)
			continue
		}
		ok, allowed := repo.MatchParam(key, value)
		switch {
		case !allowed && len(repo.Params) == 0:
			refusals = append(refusals, sprintf("%s cannot be overridden: %s allows no param overrides", bot.UserText(key), repo.Name))
		case !allowed:
			refusals = append(refusals, sprintf("%s cannot be overridden (these can: %s)", bot.UserText(key), strings.Join(slices.Sorted(maps.Keys(repo.Params)), ", ")))
		case !ok:
			refusals = append(refusals, sprintf("%s: the value of %s must match `%s`", bot.UserText(a), key, repo.Params[key]))
		default:
			params[key] = value
		}
	}
	return names, params, refusals
}
