package handlers

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/flakes"
	"tekbot/tekton"
)

// Verdicts judges a failure from the outcome history (flakes.Reader).
type Verdicts interface {
	JudgeRun(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun, pipelineLabel, task string) (flakes.Verdict, error)
}

// Excerpter reads the lines that explain why a failed run failed
// (package triage's Reader on the run's cluster), rendered for the
// transport that asked: Markdown on GitHub, mrkdwn in Slack, each within
// the bound one reply gives one run.
type Excerpter interface {
	Excerpt(ctx context.Context, cluster, namespace, run string, t bot.Transport) (string, error)
}

func (h *commands) whySpec() *bot.Spec {
	onPR := h.whyOnPR()
	return &bot.Spec{
		Verb:  "why",
		Usage: "why [pipeline | pipelinerun | PR URL]",
		Summary: "why runs failed: flaky (and how often), broken or new, judged from 14 days of outcomes, with the log lines that explain it; " +
			"on a PR its head commit's failed runs (or the named pipeline's), in Slack a PipelineRun (name or dashboard link) or a PR's failed runs; " +
			"on a PR only who may /retest may ask (policy.allow.why)",
		Transports: onBoth,
		// Checked in the handler: on a PR its public reply posts lines
		// of the runs' logs, so only onPR's roles may ask there; a
		// Slack reply is seen by the caller alone.
		ReadOnly: true,
		Gates:    []*bot.Spec{onPR},
		Handle: func(ctx context.Context, req *bot.Request) bot.Reply {
			return h.why(ctx, req, onPR)
		},
	}
}

// whyOnPR is the policy entry for /why on a PR: policy.allow.why, or else
// whoever may /retest there (by default writers and trusted authors).
// The reply is a public comment holding lines of the runs' logs,
// redacted but still the project's: not for anyone who can comment.
func (h *commands) whyOnPR() *bot.Spec {
	allow := writers
	if h.Config != nil {
		if roles, ok := h.Config.Policy.Allow["retest"]; ok {
			allow = roles
		}
	}
	return &bot.Spec{Verb: "why", Usage: "why on a PR", DefaultAllow: allow}
}

func (h *commands) why(ctx context.Context, req *bot.Request, onPR *bot.Spec) bot.Reply {
	if req.Caller.Transport != bot.GitHub {
		return h.whySlack(ctx, req)
	}
	ok, err := h.Policy.Allowed(ctx, onPR, req.Caller)
	if err != nil {
		return h.trouble(ctx, req, "GitHub", err, "check whether you may run `why`")
	}
	if !ok {
		var repo string
		if req.PullRequest != nil {
			repo = req.PullRequest.Repository
		}
		return bot.Reply{Outcome: bot.Denied, Text: "Sorry, you may not run `why` on a PR. Who may: " +
			h.Policy.WhoMay(onPR, bot.GitHub, repo) + "."}
	}
	return h.whyOf(ctx, req, req.PullRequest, req.Command.Args)
}

const whyUsage = "Usage: `why <pipelinerun|dashboard URL|PR URL>`"

func (h *commands) whySlack(ctx context.Context, req *bot.Request) bot.Reply {
	if len(req.Command.Args) != 1 {
		return refused(whyUsage)
	}
	target := req.Command.Args[0]
	if m := prURLRE.FindStringSubmatch(target); m != nil {
		if h.PullRequests == nil {
			return failed("GitHub is not configured, so tekbot cannot read %s#%s.", m[1], m[2])
		}
		n, _ := strconv.Atoi(m[2])
		pr, err := h.PullRequests.Get(ctx, m[1], n)
		if err != nil {
			return h.trouble(ctx, req, "GitHub", err, sprintf("read %s#%d", m[1], n))
		}
		return h.whyOf(ctx, req, pr, nil)
	}
	namespace, name, ok := runTarget(target)
	if !ok {
		return refused("%s is not a PipelineRun name, dashboard link or PR link. %s", bot.UserText(target), whyUsage)
	}
	cluster, run, reply := h.locate(ctx, req, "", namespace, name)
	if reply != nil {
		return *reply
	}
	if !tekton.StateOf(run).Retryable() {
		return bot.Reply{Outcome: bot.Noop, Text: fmt.Sprintf("%s did not fail: it is %s.", h.runLink(cluster.Name, run), tekton.StateOf(run))}
	}
	var b strings.Builder
	h.explain(ctx, req, &b, cluster, run, h.pipelineLabel(cluster))
	return bot.Reply{Outcome: bot.Noop, Text: strings.TrimRight(b.String(), "\n")}
}

// whyOf explains the failed latest runs of a PR's head commit, or the
// latest runs of the named pipelines.
func (h *commands) whyOf(ctx context.Context, req *bot.Request, pr *bot.PullRequest, names []string) bot.Reply {
	p, stop := h.findPRRuns(ctx, req, pr)
	if stop != nil {
		return *stop
	}
	var b strings.Builder
	targets := p.latest
	if len(names) > 0 {
		var unknown []string
		targets, unknown = p.byName(names)
		for _, n := range unknown {
			bullet(&b, "No pipeline %s ran on %s.", bot.UserText(n), shortSHA(pr.HeadSHA))
		}
	}
	explained := 0
	for _, run := range targets {
		if !tekton.StateOf(run).Retryable() {
			if len(names) > 0 {
				bullet(&b, "%s: %s did not fail (%s).", bot.Code(p.pipeline(run)), h.runLink(p.cluster.Name, run), tekton.StateOf(run))
			}
			continue
		}
		// The index keeps no status beyond the state: read the run whole
		// for its TaskRuns.
		full, err := h.runs().Run(ctx, p.cluster.Name, run.Namespace, run.Name)
		if err != nil {
			bullet(&b, "%s: %s", bot.Code(p.pipeline(run)), h.troubleWords(ctx, req, "the "+p.cluster.Name+" cluster", err))
			continue
		}
		h.explain(ctx, req, &b, p.cluster, full, p.repo.PipelineLabel)
		explained++
	}
	if explained == 0 && len(names) == 0 {
		b.WriteString(fmt.Sprintf("No latest run of %s failed.\n", shortSHA(pr.HeadSHA)))
		h.summary(&b, p)
	}
	return bot.Reply{Outcome: bot.Noop, Public: req.Caller.Transport == bot.GitHub, Text: strings.TrimRight(b.String(), "\n")}
}

// explain writes a failed run's verdict, its failed tasks' verdicts, and
// the excerpt of its log when a triage reader is configured.
func (h *commands) explain(ctx context.Context, req *bot.Request, b *strings.Builder, c *config.Cluster, run *pipelinev1.PipelineRun, label string) {
	pipeline := tekton.Pipeline(run, label)
	bullet(b, "%s %s %s: %s", bot.Code(pipeline), h.runLink(c.Name, run), tekton.StateOf(run), h.verdict(ctx, req, c, run, label, ""))
	tasks, err := h.runs().FailedTasks(ctx, c.Name, run.Namespace, run.Status.ChildReferences)
	if err != nil {
		h.logFailure(ctx, req, "read the failed TaskRuns", err)
	}
	for _, t := range tasks {
		b.WriteString("  ")
		bullet(b, "task %s: %s", bot.Code(t), h.verdict(ctx, req, c, run, label, t))
	}
	if h.Excerpts == nil {
		return
	}
	text, err := h.Excerpts.Excerpt(ctx, c.Name, run.Namespace, run.Name, req.Caller.Transport)
	if err != nil {
		b.WriteString("  ")
		bullet(b, "no log excerpt: %s", h.troubleWords(ctx, req, "the "+c.Name+" cluster", err))
		return
	}
	// The excerpt comes rendered within its bound (triage.Readers): cutting
	// it here would split its code block and drop its last lines, the
	// failure.
	b.WriteString(text + "\n")
}

// verdict renders the judgement of a failure with its advice, or says
// that none could be made.
func (h *commands) verdict(ctx context.Context, req *bot.Request, c *config.Cluster, run *pipelinev1.PipelineRun, label, task string) string {
	if h.Verdicts == nil {
		return "no verdict (tekbot keeps no outcome history here)"
	}
	v, err := h.Verdicts.JudgeRun(ctx, c.Name, run, label, task)
	if err != nil {
		return "no verdict: " + h.troubleWords(ctx, req, "tekbot's outcome history", err)
	}
	return v.String() + "; " + v.Advice()
}

// rerunVerdicts says what the history makes of the failures a /retest
// reran: a retest of a broken pipeline is worth knowing about at once.
func (h *commands) rerunVerdicts(ctx context.Context, req *bot.Request, b *strings.Builder, p *prRuns, reran []*pipelinev1.PipelineRun) {
	if h.Verdicts == nil {
		return
	}
	first := true
	for _, orig := range reran {
		if !tekton.StateOf(orig).Retryable() || tekton.StateOf(orig) == tekton.StateCancelled {
			continue
		}
		if first {
			b.WriteString("What the last 14 days say of these failures:\n")
			first = false
		}
		v, err := h.Verdicts.JudgeRun(ctx, p.cluster.Name, orig, p.repo.PipelineLabel, "")
		if err != nil {
			bullet(b, "%s: no verdict: %s", p.pipeline(orig), h.troubleWords(ctx, req, "tekbot's outcome history", err))
			continue
		}
		if v.Kind == flakes.Flaky {
			bullet(b, "%s: %s", p.pipeline(orig), v)
		} else {
			bullet(b, "%s: %s; %s", p.pipeline(orig), v, v.Advice())
		}
	}
}
