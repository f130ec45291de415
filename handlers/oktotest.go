package handlers

import (
	"context"
	"strings"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

func (h *commands) okToTestSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         "ok-to-test",
		Usage:        "ok-to-test",
		Summary:      "trust this PR: its author may then /retest, and its pending PipelineRuns start",
		Transports:   onGitHub,
		DefaultAllow: []string{config.RoleRepoWriters},
		Handle:       h.okToTest,
	}
}

func (h *commands) okToTest(ctx context.Context, req *bot.Request) bot.Reply {
	p, stop := h.findPRRuns(ctx, req.PullRequest)
	if stop != nil {
		return *stop
	}
	if err := h.PullRequests.AddLabel(ctx, p.pr.Repository, p.pr.Number, bot.OkToTestLabel); err != nil {
		return failed("Could not add the %s label: %v. Nothing was started; please try again.", bot.OkToTestLabel, err)
	}
	reply := bot.Reply{Outcome: bot.Done, Public: true}
	var b strings.Builder
	b.WriteString(sprintf("This PR is now trusted (`%s`): its author may run `/retest`.", bot.OkToTestLabel))
	for i := range p.runs {
		pr := &p.runs[i]
		if tekton.StateOf(pr) != tekton.StatePending {
			continue
		}
		if err := p.cluster.Start(ctx, pr); err != nil {
			reply.Outcome = bot.Failed
			b.WriteString("\n")
			bullet(&b, "%s: could not start: %v", p.pipeline(pr), err)
			continue
		}
		reply.Targets = append(reply.Targets, p.cluster.Name+"/"+pr.Namespace+"/"+pr.Name)
		b.WriteString("\n")
		bullet(&b, "%s: started %s", p.pipeline(pr), runLink(p.cluster, pr))
	}
	reply.Text = b.String()
	return reply
}
