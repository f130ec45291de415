package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

func (h *commands) statusSpec() *bot.Spec {
	return &bot.Spec{
		Verb:       "status",
		Usage:      "status [project]",
		Summary:    "the latest PipelineRun of each pipeline on every cluster, failures first",
		Transports: onSlack,
		ReadOnly:   true,
		Handle:     h.status,
	}
}

func (h *commands) status(ctx context.Context, req *bot.Request) bot.Reply {
	project := ""
	if len(req.Command.Args) > 0 {
		project = strings.ToLower(req.Command.Args[0])
	}
	var b strings.Builder
	outcome := bot.Noop
	for i := range h.Config.Clusters {
		c := &h.Config.Clusters[i]
		label := h.pipelineLabel(c)
		latest, err := h.latestRuns(ctx, c, label)
		if err != nil {
			outcome = bot.Failed
			fmt.Fprintf(&b, "*%s* (%s): could not read PipelineRuns: %s\n", c.Name, c.Role, h.troubleWords(ctx, req, "the "+c.Name+" cluster", err))
			continue
		}
		latest = slices.DeleteFunc(latest, func(pr *pipelinev1.PipelineRun) bool {
			return project != "" && !strings.Contains(strings.ToLower(tekton.Pipeline(pr, label)), project)
		})
		failing := 0
		for _, pr := range latest {
			if tekton.StateOf(pr).Retryable() {
				failing++
			}
		}
		fmt.Fprintf(&b, "*%s* (%s, %s): %d pipelines, %d failing\n", c.Name, c.Role, c.Namespace, len(latest), failing)
		// Failures first: they are what the captain needs.
		slices.SortStableFunc(latest, func(a, b *pipelinev1.PipelineRun) int {
			return boolRank(tekton.StateOf(b).Retryable()) - boolRank(tekton.StateOf(a).Retryable())
		})
		for i, pr := range latest {
			if i == maxStatusLines {
				bullet(&b, "… and %d more; `/tekton status <project>` narrows the list", len(latest)-i)
				break
			}
			bullet(&b, "%s: %s (%s)", tekton.Pipeline(pr, label), h.runLink(c.Name, pr), tekton.StateOf(pr))
		}
	}
	return bot.Reply{Outcome: outcome, Text: strings.TrimRight(b.String(), "\n")}
}

// maxStatusLines bounds a cluster's part of the status reply: a busy
// namespace must not make a reply too long to read or to post.
const maxStatusLines = 30

// pipelineLabel is the label that names pipelines on cluster c: that of
// the repositories whose runs live there, else Pipelines-as-Code's.
func (h *commands) pipelineLabel(c *config.Cluster) string {
	for _, r := range h.Config.GitHub.Repositories {
		if r.Cluster == c.Name && r.PipelineLabel != "" {
			return r.PipelineLabel
		}
	}
	return config.DefaultPipelineLabel
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (h *commands) latestRuns(ctx context.Context, c *config.Cluster, label string) ([]*pipelinev1.PipelineRun, error) {
	newest := tekton.NewNewestByPipeline(label)
	if err := h.runs().EachRun(ctx, c.Name, c.Namespace, newest.Add); err != nil {
		return nil, err
	}
	return newest.Sorted(), nil
}
