package handlers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
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
	for _, c := range h.Clusters.All() {
		latest, err := latestRuns(ctx, c)
		if err != nil {
			outcome = bot.Failed
			fmt.Fprintf(&b, "*%s* (%s): could not read PipelineRuns: %v\n", c.Name, c.Role, err)
			continue
		}
		latest = slices.DeleteFunc(latest, func(pr *pipelinev1.PipelineRun) bool {
			return project != "" && !strings.Contains(strings.ToLower(tekton.Pipeline(pr, "")), project)
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
		for _, pr := range latest {
			bullet(&b, "%s: %s (%s)", tekton.Pipeline(pr, ""), runLink(c, pr), tekton.StateOf(pr))
		}
	}
	return bot.Reply{Outcome: outcome, Text: strings.TrimRight(b.String(), "\n")}
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

func latestRuns(ctx context.Context, c *tekton.Cluster) ([]*pipelinev1.PipelineRun, error) {
	newest := tekton.NewNewestByPipeline("")
	if err := c.Each(ctx, c.Namespace, newest.Add); err != nil {
		return nil, err
	}
	return newest.Sorted(), nil
}
