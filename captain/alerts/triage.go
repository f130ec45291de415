package alerts

import (
	"context"
	"fmt"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/flakes"
	"tekbot/tekton"
)

// Verdicts judges a failure from the outcome history (flakes.Reader).
type Verdicts interface {
	Judge(ctx context.Context, repo, pipeline, task string) (flakes.Verdict, error)
}

// Excerpter reads the lines of a failed run's log that explain it, as
// Slack mrkdwn within one section block (package triage's Reader on the
// run's cluster).
type Excerpter interface {
	Excerpt(ctx context.Context, cluster, namespace, run string) (string, error)
}

// verdict judges a failed run for its line: "flaky (2 times in 14 days)",
// or "" when there is no history or it cannot be read (logged: a line
// without a verdict is better than no line).
func (a *Alerter) verdict(ctx context.Context, c *tekton.Cluster, r *Run) string {
	if a.Verdicts == nil {
		return ""
	}
	// The slim Run keeps no labels: the run's repository is read from
	// the run itself, as the history recorded it.
	pr, err := c.Tekton.TektonV1().PipelineRuns(r.Namespace).Get(ctx, r.Name, metav1.GetOptions{})
	if err != nil {
		a.Log.Warn("reading a failed run for its verdict", "cluster", c.Name, "run", r.Namespace+"/"+r.Name, "err", err)
		return ""
	}
	repo, _ := flakes.Key(c.Name, pr, "")
	v, err := a.Verdicts.Judge(ctx, repo, r.Pipeline, "")
	if err != nil {
		a.Log.Warn("judging a failed run", "cluster", c.Name, "run", r.Namespace+"/"+r.Name, "err", err)
		return ""
	}
	return v.String()
}

// excerpt folds the failed run's log excerpt into the day's thread, under
// its line, once per run.
func (a *Alerter) excerpt(ctx context.Context, c *tekton.Cluster, r *Run, thread string) error {
	if a.Excerpts == nil {
		return nil
	}
	key := fmt.Sprintf("alert-excerpt/%s/%s/%s/%s", c.Name, r.Namespace, r.Name, r.UID)
	return a.sent.do(ctx, a.Claims, a.Log, key, func() error {
		text, err := a.Excerpts.Excerpt(ctx, c.Name, r.Namespace, r.Name)
		if err != nil || text == "" {
			if err != nil {
				a.Log.Warn("reading a failed run's log excerpt", "cluster", c.Name, "run", r.Namespace+"/"+r.Name, "err", err)
			}
			return nil // the line says what failed; the excerpt is a bonus
		}
		_, err = a.Chat.PostThread(ctx, a.Channel, thread, fmt.Sprintf("Why %s failed:\n%s", "`"+r.Name+"`", text))
		return err
	})
}

// observed passes a finished run, whole, to the Finished hook: the alert
// watch feeds the outcome history as the run indexes do.
func (a *Alerter) observed(c *tekton.Cluster, pr *pipelinev1.PipelineRun) {
	if a.Finished != nil && tekton.StateOf(pr).Done() {
		a.Finished(c, pr)
	}
}
