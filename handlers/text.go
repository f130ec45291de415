package handlers

import (
	"fmt"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/bot"
)

func sprintf(format string, args ...any) string { return fmt.Sprintf(format, args...) }

// runLink renders a run as a Markdown link to the dashboard, or its name.
func (h *commands) runLink(cluster string, pr *pipelinev1.PipelineRun) string {
	return bot.Link(pr.Name, h.runs().URL(cluster, pr.Namespace, pr.Name))
}

func shortSHA(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func bullet(b *strings.Builder, format string, args ...any) {
	b.WriteString("- ")
	fmt.Fprintf(b, format, args...)
	b.WriteString("\n")
}
