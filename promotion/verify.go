package promotion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

// Verification after a deploy. A deploy that succeeded only says the
// install run ended well; the environment's verify block says what
// "serving" means: the cluster reports the version in its components'
// <component>-info ConfigMaps, then each verification pipeline succeeds,
// all before a deadline kept in the record (so a restarted process knows
// how long is left). Any replica may check: runs are named after the
// promotion, and only the writer that moves the promotion out of
// Verifying posts and rolls back.

// autoRequester is the requester of what tekbot starts by itself.
const autoRequester = "tekbot"

// LabelVerifies marks verification PipelineRuns with the project they
// check; they carry no environment label, so the in-flight gate, which
// looks for deploys, does not count them.
const LabelVerifies = "tekbot.dev/verifies"

// versionPoll is how often the installed version is read while waiting.
const versionPoll = 10 * time.Second

func verifyTimeout(env *config.Environment) time.Duration {
	return cmp.Or(env.Verify.Timeout.Duration, config.DefaultVerifyTimeout)
}

// checkFailed is a verification that says no, as opposed to one that
// could not finish asking.
type checkFailed struct{ msg string }

func (c *checkFailed) Error() string { return c.msg }

func (e *Engine) verifyLater(id string) { e.later("verifying the deploy", id, e.Verify) }

// Verify checks promotion id, which deployed successfully, and records
// and posts the outcome. It returns at once unless id is Verifying. An
// error means it could not finish (the process is stopping): the
// promotion stays Verifying for a resume.
func (e *Engine) Verify(ctx context.Context, id string) error {
	book, err := e.read(ctx)
	if err != nil {
		return err
	}
	p := book.find(id)
	if p == nil || p.State != Verifying {
		return nil
	}
	env, err := e.Environment(p.Environment)
	if err != nil || env.Verify == nil {
		return e.verificationFailed(ctx, id, "the environment no longer configures a verification", true)
	}
	ctx, expired, stop := e.until(ctx, p.VerifyBy)
	defer stop()
	evidence, err := e.awaitVersion(ctx, env, p)
	if err == nil {
		var more []string
		more, err = e.runChecks(ctx, env, p)
		evidence = append(evidence, more...)
	}
	var no *checkFailed
	var foreign *foreignError
	switch {
	case err == nil:
		return e.verified(ctx, id, evidence)
	case errors.As(err, &foreign):
		// Neither evidence for the version nor against it: no automatic
		// rollback, people decide.
		e.disowned(ctx, p, foreign.msg)
		return e.verificationFailed(ctx, id, foreign.msg+", so tekbot does not take it as evidence either way", false)
	case expired():
		// ctx is over; the record is written with a fresh one.
		return e.verificationFailed(context.WithoutCancel(ctx), id, fmt.Sprintf("timed out after %s: %v", verifyTimeout(env), err), true)
	case errors.As(err, &no):
		return e.verificationFailed(ctx, id, no.msg, true)
	}
	return err
}

// until derives a context that ends at deadline by e's clock; expired
// reports whether that is why it ended.
func (e *Engine) until(ctx context.Context, deadline time.Time) (context.Context, func() bool, func()) {
	ctx, cancel := context.WithCancel(ctx)
	var hit atomic.Bool
	t := e.clock().NewTimer(deadline.Sub(e.now()))
	go func() {
		select {
		case <-t.C():
			hit.Store(true)
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, hit.Load, func() { t.Stop(); cancel() }
}

// awaitVersion waits until every component reports p's version.
func (e *Engine) awaitVersion(ctx context.Context, env *config.Environment, p *Promotion) ([]string, error) {
	c := e.Clusters.Get(env.VerifyCluster())
	if c == nil {
		return nil, &checkFailed{fmt.Sprintf("the verify cluster %q is not configured", env.VerifyCluster())}
	}
	components := env.Verify.Components
	if len(components) == 0 {
		components = []string{p.Project}
	}
	var out []string
	for _, comp := range components {
		cm := tekton.InfoConfigMap(comp)
		var said string // what the cluster last answered, for people
		for {
			v, err := c.InstalledVersion(ctx, env.VersionNamespace(), comp)
			if err == nil && v == p.Version {
				break
			}
			if ctx.Err() == nil {
				said = reported(v, err)
				if err != nil && !errors.Is(err, tekton.ErrNotInstalled) {
					e.log().WarnContext(ctx, "promotion: reading the installed version", "promotion", p.ID, "err", err)
				}
			}
			select {
			case <-ctx.Done():
				return nil, fmt.Errorf("`%s` on %s never reported `%s` (it says %s)", cm, c.Name, p.Version, cmp.Or(said, "nothing yet"))
			case <-e.clock().After(versionPoll):
			}
		}
		out = append(out, fmt.Sprintf("`%s` on %s reports `%s`", cm, c.Name, p.Version))
	}
	return out, nil
}

// reported says what a cluster answered, for people: a version only if
// it is well-formed, never a raw error.
func reported(v string, err error) string {
	switch {
	case errors.Is(err, tekton.ErrNotInstalled):
		return "nothing: not installed"
	case err != nil:
		return "nothing readable"
	}
	if _, bad := CheckVersion(v); bad != nil {
		return "something that is not a version"
	}
	return "`" + v + "`"
}

// verifyRunName derives verification run i's name from the promotion and
// its nonce, so a retry or a second replica finds the run rather than
// starting another, and nobody can create it first to verify a version or
// fail it.
// A promotion recorded before nonces were (p.madeBeforeNonces) named its
// runs from its ID alone: a verification resumed after the upgrade finds
// its run under that name rather than starting a second one.
func verifyRunName(p *Promotion, i int) string {
	if p.madeBeforeNonces() {
		return "verify-" + p.Project + "-" + digest(p.ID, p.Environment, strconv.Itoa(i))[:10]
	}
	return "verify-" + p.Project + "-" + digest(p.ID, p.Environment, p.Nonce, strconv.Itoa(i))[:10]
}

// runChecks runs the verification pipelines one after the other, each
// to its end.
func (e *Engine) runChecks(ctx context.Context, env *config.Environment, p *Promotion) ([]string, error) {
	var out []string
	for i, vp := range env.Verify.Pipelines {
		name := cmp.Or(vp.Cluster, env.VerifyCluster())
		c := e.Clusters.Get(name)
		if c == nil {
			return out, &checkFailed{fmt.Sprintf("the verification cluster %q is not configured", name)}
		}
		pr, err := promotionRun(env, p, verifyRunName(p, i), cmp.Or(vp.Namespace, c.Namespace), vp.PipelineRef,
			map[string]string{LabelVerifies: p.Project}, vp.Params, vp.SecretWorkspaces)
		if err != nil {
			return out, &checkFailed{fmt.Sprintf("verification pipeline %s cannot be made: %v", vp.PipelineRef, err)}
		}
		link := runLink(c, pr)
		for {
			_, err := createOwn(ctx, c, pr)
			if err == nil {
				break
			}
			if errors.As(err, new(*foreignError)) {
				return out, err
			}
			e.log().WarnContext(ctx, "promotion: creating a verification run", "promotion", p.ID, "err", err)
			select {
			case <-ctx.Done():
				return out, fmt.Errorf("verification run %s could not be created", link)
			case <-e.clock().After(versionPoll):
			}
		}
		final, err := waitRun(ctx, c, pr.Namespace, pr.Name)
		switch {
		case err != nil && ctx.Err() != nil:
			return out, fmt.Errorf("verification run %s did not finish", link)
		case err != nil:
			return out, err
		case final == nil:
			return out, &checkFailed{fmt.Sprintf("verification run %s was deleted before it finished", link)}
		}
		if st := tekton.StateOf(final); st != tekton.StateSucceeded {
			return out, &checkFailed{fmt.Sprintf("verification run %s %s", link, st)}
		}
		out = append(out, fmt.Sprintf("verification run %s succeeded on %s", link, c.Name))
	}
	return out, nil
}

// verified records and posts a verification that passed: the version is
// now what an automatic rollback returns to.
func (e *Engine) verified(ctx context.Context, id string, evidence []string) error {
	p, moved, err := e.transition(ctx, id, []State{Verifying}, Verified, func(q *Promotion, b *Book) {
		q.Verification = evidence
		q.step(string(Verified), e.now(), "")
		if d := b.Deployed(q.Project, q.Environment); d != nil && d.Version == q.Version {
			d.Verified = q.Version
		}
	})
	if err != nil || !moved {
		return err
	}
	e.notify(ctx, p, bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{p.Target()},
		Text: fmt.Sprintf("✅ *%s* `%s` is verified on *%s*:\n%s", p.Project, p.Version, p.Environment, bullets(evidence))}, nil)
	return nil
}

// verificationFailed records a verification that failed or timed out.
// With autoRollback, when the failure is evidence against the version,
// and unless p is itself a rollback (one automatic rollback per
// promotion, then people decide), it rolls back to the last verified
// version through the same strategy and pages the captain; otherwise it
// offers a Roll back button. For nightlies from an image, a last verified
// version whose digest the record no longer holds cannot be rolled back
// to (evidence refuses it): it says so and pages instead.
func (e *Engine) verificationFailed(ctx context.Context, id, why string, evidence bool) error {
	var rollback *Promotion
	auto, noDigest := false, ""
	p, moved, err := e.transition(ctx, id, []State{Verifying}, FailedVerification, func(q *Promotion, b *Book) {
		now := e.now()
		q.Verification = []string{why}
		q.step(string(FailedVerification), now, why)
		d := b.Deployed(q.Project, q.Environment)
		if q.Rollback || d == nil || d.Verified == "" || d.Verified == q.Version {
			return
		}
		env, err := e.Environment(q.Environment)
		if err == nil && env.NightlyImage != "" && b.deployedImage(q.Project, q.Environment, d.Verified) == nil {
			// A rollback would be refused: people decide.
			noDigest = d.Verified
			return
		}
		auto = err == nil && env.AutoRollback && evidence
		rollback = &Promotion{
			ID: rollbackID(q.ID), Project: q.Project, Environment: q.Environment, Version: d.Verified, From: q.Version,
			Rollback: true, RollbackOf: q.ID, State: Offered, Asked: now, Thread: q.Thread,
			Evidence: []string{fmt.Sprintf("`%s` is the last version verified on %s", d.Verified, q.Environment)},
		}
		if auto {
			rollback.RequestedBy = autoRequester
		}
		b.put(rollback)
	})
	if err != nil || !moved {
		return err
	}
	reply := bot.Reply{Outcome: bot.Failed, Public: true, Targets: []string{p.Target()},
		Text: fmt.Sprintf("❌ *%s* `%s` failed verification on *%s*: %s", p.Project, p.Version, p.Environment, why)}
	var offer *bot.Request
	switch {
	case auto:
		reply.Text += fmt.Sprintf("\nRolling back to `%s`, the last verified version, by itself: once, and after that people decide. The captain is paged.", rollback.Version)
	case rollback != nil:
		if !evidence {
			reply.Text += "\nThat says nothing about the version, so tekbot does not roll back by itself: people decide. The captain is paged."
		}
		reply.Text += fmt.Sprintf("\nRoll back to `%s`, the last verified version?", rollback.Version)
		offer = e.offerRollback(&reply, p, rollback)
	case p.Rollback:
		reply.Text += "\nThis was a rollback, so tekbot does not roll back again: people decide. The captain is paged."
	case noDigest != "":
		reply.Text += fmt.Sprintf("\nNo digest is recorded for `%s`, the last verified version, as it ran here, so tekbot cannot roll back to that very image: people decide. The captain is paged.", noDigest)
	default:
		reply.Text += fmt.Sprintf("\nNo other verified version is recorded for %s, so there is nothing to roll back to.", p.Environment)
	}
	e.notify(ctx, p, reply, offer)
	if auto || p.Rollback || !evidence || noDigest != "" {
		e.page(ctx, p.ID+"/verification", fmt.Sprintf("%s %s failed verification on %s (%s)", p.Project, p.Version, p.Environment, why), p.URL)
	}
	if !auto {
		return nil
	}
	env, err := e.Environment(p.Environment)
	if err != nil {
		return err
	}
	e.log().InfoContext(ctx, "promotion: rolling back by itself", "promotion", p.ID, "rollback", rollback.ID, "to", rollback.Version)
	if _, _, err := e.start(ctx, env, rollback.ID, nil); err != nil {
		e.audited(ctx, rollback.ID, "rollback", bot.Failed, p)
		e.page(ctx, rollback.ID+"/start", fmt.Sprintf("the automatic rollback of %s on %s to %s could not start", p.Project, p.Environment, rollback.Version), p.URL)
		return err
	}
	e.audited(ctx, rollback.ID, "rollback", bot.Done, p)
	return nil
}

// audited records an action tekbot took by itself on promotion p.
func (e *Engine) audited(ctx context.Context, id, action string, outcome bot.Outcome, p *Promotion) {
	if e.Audit == nil {
		return
	}
	e.Audit.Record(ctx, bot.Record{
		Time: e.now().UTC(), RequestID: id, Transport: bot.Itself, CallerID: autoRequester,
		Verb: Verb, Args: []string{action, p.Project, p.Version, "on", p.Environment}, Targets: []string{p.Target()}, Outcome: outcome,
	})
}

// page pages the captain about key once; paging that fails is logged,
// since the releases channel has the news too.
func (e *Engine) page(ctx context.Context, key, reason, link string) {
	if e.Pager == nil {
		return
	}
	if err := e.Pager.PageCaptain(ctx, "promotion/"+key, reason, link); err != nil {
		e.log().ErrorContext(ctx, "promotion: paging the captain", "key", key, "err", err)
	}
}
