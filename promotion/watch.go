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
	"tekbot/lifecycle"
	"tekbot/tekton"
)

// createGrace is how long a running promotion may lack its deploy: the
// claim is written just before the PipelineRun or PR is created.
const createGrace = 2 * time.Minute

// watchLater watches promotion id in the background, if the process lets
// work outlive a command.
func (e *Engine) watchLater(id string) { e.later("watching the deploy", id, e.Watch) }

// Runner runs work for the life of the process, started when added
// (lifecycle.Group).
type Runner interface {
	Add(rs ...lifecycle.Runnable) error
}

// later runs job on promotion id in the background, on this replica, if
// the process lets work outlive a command; the record says what is left to
// do if not. A failed job is logged, not fatal: the record catches up when
// a gate or a listing reads it.
func (e *Engine) later(what, id string, job func(context.Context, string) error) {
	if e.Runner == nil {
		return
	}
	err := e.Runner.Add(lifecycle.Runnable{Name: "promotion " + id + ": " + what, Everywhere: true, Run: func(ctx context.Context) error {
		if err := job(ctx, id); err != nil && ctx.Err() == nil {
			e.log().ErrorContext(ctx, "promotion: "+what, "promotion", id, "err", err)
		}
		return nil
	}})
	if err != nil {
		e.log().Info("promotion: not "+what+"; the record catches up at the next start", "promotion", id, "err", err)
	}
}

// Resume watches every deploy PipelineRun under way, for a process that
// just started: the record, not memory, says what runs.
func (e *Engine) Resume(ctx context.Context) error {
	book, err := e.catchUp(ctx)
	if err != nil {
		return err
	}
	for _, p := range book.Promotions {
		switch {
		case p.State == Running && p.PipelineRun != "":
			e.watchLater(p.ID)
		case p.State == Running && p.PullRequest != 0:
			e.followLater(p.ID)
		case p.State == Verifying:
			e.verifyLater(p.ID)
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
	final, err := waitRun(ctx, c, p.Namespace, p.PipelineRun)
	if err != nil {
		return err
	}
	return e.finishRun(ctx, p.ID, final)
}

// waitRun follows a PipelineRun with an informer (a list and a watch on
// its name, resumed by client-go when the connection drops) until it
// ends, and returns it; nil means it was deleted first.
func waitRun(ctx context.Context, c *tekton.Cluster, namespace, name string) (*pipelinev1.PipelineRun, error) {
	runs := c.Tekton.TektonV1().PipelineRuns(namespace)
	byName := fields.OneTermEqualSelector("metadata.name", name).String()
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
	_, err := watchtools.UntilWithSync(ctx, lw, &pipelinev1.PipelineRun{}, nil, func(ev watch.Event) (bool, error) {
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
		return nil, fmt.Errorf("watching PipelineRun %s/%s/%s: %w", c.Name, namespace, name, err)
	}
	return final, nil
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
				// Whoever writes the run's status writes its message.
				result += ": " + bot.Code(cond.Message)
			}
		}
		if pr.Status.StartTime != nil && pr.Status.CompletionTime != nil {
			took = pr.Status.CompletionTime.Sub(pr.Status.StartTime.Time).Round(time.Second)
		}
	}
	return e.finish(ctx, id, ok, result, took)
}

// finish ends a running promotion's deploy. On success the environment's
// record now names its version, and an environment that verifies starts
// checking it; the promotion a rollback undoes is marked rolled back. On
// failure a rollback to what ran before is offered (when something did),
// as a promotion anyone who may promote can take, through the same gates;
// an automatic rollback that fails pages the captain instead: people
// decide.
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
			q.step(stepPromoted, q.Finished, "")
			if env, err := e.Environment(q.Environment); err == nil && env.Verify != nil {
				// The transition's target, decided here because only
				// now is the environment known.
				q.State, q.VerifyBy = Verifying, q.Finished.Add(verifyTimeout(env))
			}
			if orig := b.find(q.RollbackOf); orig != nil {
				orig.step(string(RolledBack), q.Finished, fmt.Sprintf("to `%s` by %s", q.Version, q.Link()))
				if orig.State == FailedVerification {
					orig.State = RolledBack
				}
			}
			return
		}
		if q.From != "" && q.PipelineRun != "" && q.RequestedBy != autoRequester {
			rollback = &Promotion{
				ID: rollbackID(q.ID), Project: q.Project, Environment: q.Environment, Version: q.From, From: q.From,
				Rollback: true, RollbackOf: q.ID, State: Offered, Asked: q.Finished, Thread: q.Thread,
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
	switch {
	case p.State == Verifying:
		e.verifyLater(p.ID)
	case !ok && p.RequestedBy == autoRequester:
		e.page(ctx, p.ID+"/failed", fmt.Sprintf("the automatic rollback of %s on %s to %s failed (%s); tekbot will not try again", p.Project, p.Environment, p.Version, p.Result), p.URL)
	}
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
		r := bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{p.Target()},
			Text: fmt.Sprintf("✅ *%s* `%s` is on *%s*%s (was `%s`): %s", p.Project, p.Version, p.Environment, after, orNone(p.From), p.Link())}
		if p.State == Verifying {
			r.Text += fmt.Sprintf("\nVerifying it until %s.", p.VerifyBy.UTC().Format("15:04 MST"))
		}
		return r, nil
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
	offer := e.offerRollback(&r, p, rollback)
	return r, offer
}

// offerRollback puts a Roll back button for rollback on r and returns the
// request it runs; nil when the environment left the config, where nobody
// may deploy.
func (e *Engine) offerRollback(r *bot.Reply, p, rollback *Promotion) *bot.Request {
	env, err := e.Environment(p.Environment)
	if err != nil {
		return nil
	}
	r.Confirm = &bot.Confirm{
		Title:     "Roll back?",
		Text:      fmt.Sprintf("Deploy %s %s to %s again.", p.Project, rollback.Version, p.Environment),
		Button:    "Roll back",
		Approvers: e.authorised(env),
	}
	return &bot.Request{ID: rollback.ID, Command: bot.Command{Verb: Verb, Args: rollback.Args()}, Caller: e.caller(p.RequestedBy)}
}

// PullRequestClosed ends the gitops promotion whose PR was merged (it
// deploys when the GitOps controller syncs) or closed without merging.
// The watch calls it when GitHub reports the PR closed, and so do the
// gates when they find a promotion still running.
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
		if p.State == Verifying && e.now().After(p.VerifyBy.Add(createGrace)) {
			// Nobody finished the check in time (a restart without a
			// resume): it failed.
			err := e.verificationFailed(ctx, p.ID, "nobody finished the verification before its deadline", true)
			if err != nil {
				e.log().WarnContext(ctx, "promotion: ending a stale verification", "promotion", p.ID, "err", err)
			}
			changed = true
		}
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
		st, err := e.Repos.PullRequestStatus(ctx, p.Repository, p.PullRequest)
		if err != nil {
			return false, err
		}
		if st.Merged || st.Closed {
			return true, e.PullRequestClosed(ctx, p.Repository, p.PullRequest, st.Merged)
		}
	case p.PullRequest == 0 && p.Repository != "" && stale:
		return true, e.finish(ctx, p.ID, false, "the pull request was never opened", 0)
	}
	return false, nil
}
