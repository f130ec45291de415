package promotion

import (
	"context"
	"fmt"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"knative.dev/pkg/apis"

	"tekbot/bot"
	"tekbot/tekton"
)

// createGrace is how long a running promotion may lack its deploy: the
// claim is written just before the PipelineRun or PR is created.
const createGrace = 2 * time.Minute

// watchLater watches promotion id in the background, if the process lets
// work outlive a command.
func (e *Engine) watchLater(id string) {
	if e.Background == nil {
		return
	}
	e.Background(func(ctx context.Context) {
		if err := e.Watch(ctx, id); err != nil && ctx.Err() == nil {
			e.log().ErrorContext(ctx, "promotion: watching the deploy", "promotion", id, "err", err)
		}
	})
}

// Resume watches every deploy PipelineRun under way, for a process that
// just started: the record, not memory, says what runs.
func (e *Engine) Resume(ctx context.Context) error {
	book, err := e.catchUp(ctx)
	if err != nil {
		return err
	}
	for _, p := range book.Promotions {
		if p.State == Running && p.PipelineRun != "" {
			e.watchLater(p.ID)
		}
	}
	return nil
}

// Watch follows promotion id's deploy PipelineRun with an informer (a list
// and a watch on its name, resumed by client-go when the connection
// drops) until it ends, then records the result and posts it. It returns
// at once if the promotion is not running a PipelineRun.
func (e *Engine) Watch(ctx context.Context, id string) error {
	book, err := e.read(ctx)
	if err != nil {
		return err
	}
	p := book.find(id)
	if p == nil || p.State != Running || p.PipelineRun == "" {
		return nil
	}
	c := e.Clusters.Get(p.Cluster)
	if c == nil {
		return fmt.Errorf("promotion %s: unknown cluster %q", id, p.Cluster)
	}
	runs := c.Tekton.TektonV1().PipelineRuns(p.Namespace)
	byName := fields.OneTermEqualSelector("metadata.name", p.PipelineRun).String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = byName
			return runs.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = byName
			return runs.Watch(ctx, o)
		},
	}
	var final *pipelinev1.PipelineRun
	_, err = watchtools.UntilWithSync(ctx, lw, &pipelinev1.PipelineRun{}, nil, func(ev watch.Event) (bool, error) {
		if ev.Type == watch.Deleted {
			return true, nil // final stays nil: nobody can say how it ended
		}
		pr, ok := ev.Object.(*pipelinev1.PipelineRun)
		if ok && tekton.StateOf(pr).Done() {
			final = pr
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("watching PipelineRun %s/%s/%s: %w", c.Name, p.Namespace, p.PipelineRun, err)
	}
	return e.finishRun(ctx, p.ID, final)
}

// finishRun records how a deploy PipelineRun ended (nil: it was deleted)
// and posts it. Only the writer that moves the promotion out of Running
// posts, so two watchers (replicas, a resume) say it once.
func (e *Engine) finishRun(ctx context.Context, id string, pr *pipelinev1.PipelineRun) error {
	result, took, ok := "deleted before it finished", time.Duration(0), false
	if pr != nil {
		st := tekton.StateOf(pr)
		ok, result = st == tekton.StateSucceeded, ""
		if !ok {
			result = string(st)
			if cond := pr.Status.GetCondition(apis.ConditionSucceeded); cond != nil && cond.Message != "" {
				result += ": " + cond.Message
			}
		}
		if pr.Status.StartTime != nil && pr.Status.CompletionTime != nil {
			took = pr.Status.CompletionTime.Sub(pr.Status.StartTime.Time).Round(time.Second)
		}
	}
	return e.finish(ctx, id, ok, result, took)
}

// finish ends a running promotion. On success the environment's record
// now names its version; on failure a rollback to what ran before is
// offered (when something did), as a promotion anyone who may promote
// can take, through the same gates.
func (e *Engine) finish(ctx context.Context, id string, ok bool, result string, took time.Duration) error {
	var rollback *Promotion
	to := Failed
	if ok {
		to = Succeeded
	}
	p, moved, err := e.transition(ctx, id, []State{Running}, to, func(q *Promotion, b *Book) {
		q.Finished, q.Result = e.now(), result
		if ok {
			b.deployed(q, q.Finished)
			return
		}
		if q.From != "" && q.PipelineRun != "" {
			rollback = &Promotion{
				ID: rollbackID(q.ID), Project: q.Project, Environment: q.Environment, Version: q.From, From: q.From,
				Rollback: true, State: Offered, Asked: q.Finished, Thread: q.Thread,
				Evidence: []string{fmt.Sprintf("`%s` ran on %s before %s failed", q.From, q.Environment, q.Version)},
			}
			b.put(rollback)
		}
	})
	if err != nil || !moved {
		return err
	}
	reply, offer := e.resultReply(p, ok, took, rollback)
	e.notify(ctx, p, reply, offer)
	return nil
}

// resultReply says how p ended; after a failure it offers the rollback as
// a button running "promote <project> <previous version> to <env>".
func (e *Engine) resultReply(p *Promotion, ok bool, took time.Duration, rollback *Promotion) (bot.Reply, *bot.Request) {
	after := ""
	if took > 0 {
		after = " in " + took.String()
	}
	if ok {
		return bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{p.Target()},
			Text: fmt.Sprintf("✅ *%s* `%s` is on *%s*%s (was `%s`): %s", p.Project, p.Version, p.Environment, after, orNone(p.From), p.Link())}, nil
	}
	r := bot.Reply{Outcome: bot.Failed, Public: true, Targets: []string{p.Target()},
		Text: fmt.Sprintf("❌ Promoting *%s* `%s` to *%s* failed%s (%s): %s", p.Project, p.Version, p.Environment, after, p.Result, p.Link())}
	if rollback == nil {
		if p.PipelineRun != "" {
			r.Text += "\nNo earlier version is recorded for this environment, so there is nothing to roll back to."
		}
		return r, nil
	}
	r.Text += fmt.Sprintf("\n%s may be partly deployed. Roll back to `%s`, which ran there before?", p.Environment, rollback.Version)
	env, err := e.Environment(p.Environment)
	if err != nil {
		return r, nil // the environment left the config: nobody may deploy there
	}
	r.Confirm = &bot.Confirm{
		Title:     "Roll back?",
		Text:      fmt.Sprintf("Deploy %s %s to %s again.", p.Project, rollback.Version, p.Environment),
		Button:    "Roll back",
		Approvers: e.authorised(env),
	}
	return r, &bot.Request{ID: rollback.ID, Command: bot.Command{Verb: Verb, Args: rollback.Args()}, Caller: e.caller(p.RequestedBy)}
}

// PullRequestClosed ends the gitops promotion whose PR was merged (it
// deploys when the GitOps controller syncs) or closed without merging.
// The GitHub transport calls it for pull_request "closed" events; the
// gates also ask GitHub when they find a promotion still running.
func (e *Engine) PullRequestClosed(ctx context.Context, repo string, number int, merged bool) error {
	book, err := e.read(ctx)
	if err != nil {
		return err
	}
	for _, p := range book.Promotions {
		if p.State == Running && p.Repository == repo && p.PullRequest == number {
			result := "merged"
			if !merged {
				result = "closed without merging; nothing was deployed"
			}
			return e.finish(ctx, p.ID, merged, result, 0)
		}
	}
	return nil
}

// catchUp ends running promotions whose deploy ended while nobody
// watched (a restart, a missed webhook), and returns the record.
func (e *Engine) catchUp(ctx context.Context) (*Book, error) {
	book, err := e.read(ctx)
	if err != nil {
		return nil, err
	}
	changed := false
	for _, p := range book.Promotions {
		if p.State != Running {
			continue
		}
		// A cluster or GitHub that cannot answer leaves the promotion
		// running, which is the safe side: the in-flight gate holds.
		ended, err := e.ended(ctx, p)
		if err != nil {
			e.log().WarnContext(ctx, "promotion: checking whether a deploy ended", "promotion", p.ID, "err", err)
		}
		changed = changed || ended
	}
	if !changed {
		return book, nil
	}
	return e.read(ctx)
}

// ended finishes p if its deploy has ended.
func (e *Engine) ended(ctx context.Context, p *Promotion) (bool, error) {
	stale := e.now().Sub(p.Started) > createGrace
	switch {
	case p.PipelineRun != "":
		c := e.Clusters.Get(p.Cluster)
		if c == nil {
			return false, fmt.Errorf("promotion %s: unknown cluster %q", p.ID, p.Cluster)
		}
		pr, err := c.Get(ctx, p.Namespace, p.PipelineRun)
		switch {
		case apierrors.IsNotFound(err) && stale:
			return true, e.finishRun(ctx, p.ID, nil)
		case err != nil && !apierrors.IsNotFound(err):
			return false, err
		case err == nil && tekton.StateOf(pr).Done():
			return true, e.finishRun(ctx, p.ID, pr)
		}
	case p.PullRequest != 0 && e.Repos != nil:
		merged, closed, err := e.Repos.PullRequestState(ctx, p.Repository, p.PullRequest)
		if err != nil {
			return false, err
		}
		if merged || closed {
			return true, e.PullRequestClosed(ctx, p.Repository, p.PullRequest, merged)
		}
	case p.PullRequest == 0 && p.Repository != "" && stale:
		return true, e.finish(ctx, p.ID, false, "the pull request was never opened", 0)
	}
	return false, nil
}
