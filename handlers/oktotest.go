package handlers

import (
	"context"
	"regexp"
	"strings"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

func (h *commands) okToTestSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         "ok-to-test",
		Usage:        "ok-to-test [sha]",
		Summary:      "approve the head commit (or the one named, which must be the head): its author may then /retest it, and its pending PipelineRuns start",
		Transports:   onGitHub,
		DefaultAllow: []string{config.RoleRepoWriters},
		Handle:       h.okToTest,
	}
}

// shaRE is an abbreviated or full commit SHA, as people paste them.
var shaRE = regexp.MustCompile(`^[0-9a-fA-F]{7,40}$`)

// okToTest approves one commit, the one the maintainer reviewed: naming it
// closes the gap between reading the PR and a push landing before the
// comment is handled. Trust is recorded in tekbot's state; the label is
// only a display for people.
func (h *commands) okToTest(ctx context.Context, req *bot.Request) bot.Reply {
	pr := req.PullRequest
	if pr == nil {
		return refused("This command works on a pull request: comment it on the PR.")
	}
	if len(req.Command.Args) > 1 {
		return refused("Usage: `/ok-to-test [sha]`, with the head commit's SHA (%s).", shortSHA(pr.HeadSHA))
	}
	if len(req.Command.Args) == 1 {
		sha := req.Command.Args[0]
		if !shaRE.MatchString(sha) {
			return refused("%s is not a commit SHA. Usage: `/ok-to-test [sha]`; this PR's head is %s.", bot.UserText(sha), shortSHA(pr.HeadSHA))
		}
		if !strings.HasPrefix(strings.ToLower(pr.HeadSHA), strings.ToLower(sha)) {
			return refused("%s is not this PR's head commit, so nothing was approved. The head is now %s: review it, then comment `/ok-to-test %s`.",
				bot.UserText(sha), shortSHA(pr.HeadSHA), shortSHA(pr.HeadSHA))
		}
	}
	if h.Approvals == nil {
		return failed("tekbot has no state store to record approvals in, so nothing was approved.")
	}
	p, stop := h.findPRRuns(ctx, req, pr)
	if stop != nil {
		return *stop
	}
	if err := h.Approvals.Approve(ctx, pr.Repository, pr.Number, pr.HeadSHA, req.Caller.Name()); err != nil {
		return h.trouble(ctx, req, "tekbot's state store", err, "record the approval")
	}
	if err := h.PullRequests.AddLabel(ctx, pr.Repository, pr.Number, bot.OkToTestLabel); err != nil {
		// The approval is recorded; the label only shows it to people.
		h.Log.WarnContext(ctx, "adding the ok-to-test label failed", "request", req.ID, "err", err)
	}
	reply := bot.Reply{Outcome: bot.Done, Public: true}
	var b strings.Builder
	b.WriteString(sprintf("Commit %s is approved: the PR's author may run `/retest` and `/test` on it.", shortSHA(pr.HeadSHA)))
	if p.repo.TrustMode() == config.TrustCommit {
		b.WriteString(" A new push needs a new `/ok-to-test`.")
	}
	for i := range p.runs {
		run := &p.runs[i]
		if tekton.StateOf(run) != tekton.StatePending {
			continue
		}
		b.WriteString("\n")
		if why := h.deployOf(p.cluster, run); why != "" {
			bullet(&b, "%s: not started: %s", p.pipeline(run), promoteInstead(run.Name, why))
			continue
		}
		if err := h.runs().Start(ctx, p.cluster.Name, run); err != nil {
			reply.Outcome = bot.Failed
			bullet(&b, "%s: could not start: %s", p.pipeline(run), h.troubleWords(ctx, req, "the "+p.cluster.Name+" cluster", err))
			continue
		}
		reply.Targets = append(reply.Targets, p.cluster.Name+"/"+run.Namespace+"/"+run.Name)
		bullet(&b, "%s: started %s", p.pipeline(run), h.runLink(p.cluster.Name, run))
	}
	reply.Text = b.String()
	return reply
}
