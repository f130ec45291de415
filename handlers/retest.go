package handlers

import (
	"context"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
	"tekbot/tekton"
)

func (h *commands) retestSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         "retest",
		Usage:        "retest [pipeline]",
		Summary:      "rerun the head commit's failed, timed-out or cancelled PipelineRuns (or the named one, whatever its result)",
		Transports:   onGitHub,
		DefaultAllow: writers,
		ListArgs:     true,
		Idempotent:   true,
		Elsewhere:    map[bot.Transport]string{bot.Slack: "rerun <PR URL>"},
		Handle:       h.retest,
	}
}

func (h *commands) retest(ctx context.Context, req *bot.Request) bot.Reply {
	p, stop := h.findPRRuns(ctx, req, req.PullRequest)
	if stop != nil {
		return *stop
	}
	if len(req.Command.Args) > 0 {
		targets, unknown := p.byName(req.Command.Args)
		return h.rerun(ctx, req, p, targets, unknown, "")
	}
	var failed []*pipelinev1.PipelineRun
	for _, pr := range p.latest {
		if tekton.StateOf(pr).Retryable() {
			failed = append(failed, pr)
		}
	}
	return h.rerun(ctx, req, p, failed, nil, "no latest run failed, timed out or was cancelled")
}
