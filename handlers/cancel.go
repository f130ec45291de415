package handlers

import (
	"context"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
	"tekbot/tekton"
)

func (h *commands) cancelSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         "cancel",
		Usage:        "cancel [pipeline]",
		Summary:      "cancel the head commit's running PipelineRuns (or the named one)",
		Transports:   onGitHub,
		DefaultAllow: writers,
		ListArgs:     true,
		Handle:       h.cancel,
	}
}

func (h *commands) cancel(ctx context.Context, req *bot.Request) bot.Reply {
	p, stop := h.findPRRuns(ctx, req, req.PullRequest)
	if stop != nil {
		return *stop
	}
	candidates := p.latest
	var unknown []string
	if len(req.Command.Args) > 0 {
		candidates, unknown = p.byName(req.Command.Args)
	}
	var running []*pipelinev1.PipelineRun
	for _, pr := range candidates {
		if !tekton.StateOf(pr).Done() && !pr.IsCancelled() {
			running = append(running, pr)
		}
	}
	reply := bot.Reply{Outcome: bot.Noop, Public: true}
	var b strings.Builder
	for _, pr := range running {
		if err := h.runs().Cancel(ctx, p.cluster.Name, pr); err != nil {
			reply.Outcome = bot.Failed
			bullet(&b, "%s: could not cancel: %s", p.pipeline(pr), h.troubleWords(ctx, req, "the "+p.cluster.Name+" cluster", err))
			continue
		}
		if reply.Outcome != bot.Failed {
			reply.Outcome = bot.Done
		}
		reply.Targets = append(reply.Targets, p.cluster.Name+"/"+pr.Namespace+"/"+pr.Name)
		bullet(&b, "%s: cancelled %s", p.pipeline(pr), h.runLink(p.cluster.Name, pr))
	}
	for _, n := range unknown {
		bullet(&b, "%s: no such pipeline for this commit", bot.UserText(n))
	}
	if len(running) == 0 {
		b.WriteString(sprintf("Nothing to cancel for %s: no PipelineRun is running.\n", shortSHA(p.pr.HeadSHA)))
		h.summary(&b, p)
	}
	reply.Text = strings.TrimRight(b.String(), "\n")
	return reply
}
