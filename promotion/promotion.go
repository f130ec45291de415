// Package promotion deploys vetted releases to an environment, as the
// "promote" command asks. It checks the gates (who may, a well-formed
// version, evidence that the release succeeded, nothing else in flight),
// waits for the confirmations, deploys with the environment's strategy (a
// PipelineRun from a template, or a GitOps pull request), watches the
// deploy, verifies it (verify.go: the version reported by the cluster,
// then verification pipelines; a failure may roll back by itself, once),
// and keeps the record of what runs where in the apiserver. Nightlies come
// from release runs or an image registry (image.go); gitops PRs may be
// merged by tekbot (merge.go); a train offers nightlies on working days
// (train.go). It speaks to people only through bot replies, the Notifier
// and the Pager: the handler parses the command and renders what the
// Engine decides.
//
// Confirmations and the two-person rule. A transport runs a confirm
// button's command once per request ID (it claims the ID), so a second
// person cannot approve by pressing the requester's dialog again. Instead:
// the request records a promotion (Asked) under its ID with the version it
// resolved; the requester's press confirms it, and is the first person's
// act. Under the two-person rule the Engine then posts, through the
// Notifier, a message in the releases channel with an Approve button of
// its own request ID (ApprovalID) for the other people who may promote
// there; only such a press starts the deploy, and the Engine refuses the
// requester's own, whatever the transport allows. A Roll back button works
// the same way: it is a promotion offered to everyone who may promote, and
// whoever presses it is its requester.
package promotion

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"k8s.io/utils/clock"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/state"
	"tekbot/tekton"
)

// Verb is the command that promotes; approval and rollback buttons run it.
const Verb = "promote"

// Thread is a chat thread: a channel and the timestamp of the thread's
// first message ("" before there is one).
type Thread struct {
	Channel string `json:"channel,omitempty"`
	TS      string `json:"ts,omitempty"`
}

// Notifier posts what happens after a command has answered: a
// promotion's start, its result, and requests for approval.
type Notifier interface {
	// Post sends reply (its Text is Markdown) to thread and returns the
	// thread to post the next messages to: posting to a thread without TS
	// starts one. When reply.Confirm is set, the message carries a confirm
	// button for reply.Confirm.Approvers that runs offer with Confirmed
	// set, through the same gates as any command.
	Post(ctx context.Context, thread Thread, reply bot.Reply, offer *bot.Request) (Thread, error)
}

// Repos is what the gitops strategy needs from GitHub; transport/github's API
// implements it. Repositories are written owner/name.
type Repos interface {
	// DefaultBranch returns the repository's default branch and the
	// commit at its head.
	DefaultBranch(ctx context.Context, repo string) (branch, sha string, err error)
	// CreateBranch creates branch at commit sha; created is false when
	// it exists already (a retry).
	CreateBranch(ctx context.Context, repo, branch, sha string) (created bool, err error)
	// File returns a file's content and blob SHA at ref (a branch).
	File(ctx context.Context, repo, ref, path string) (content []byte, blobSHA string, err error)
	// CommitFile commits new content for path on branch, replacing the
	// blob blobSHA (GitHub refuses if the file changed meanwhile), and
	// returns the commit's SHA and its parents'.
	CommitFile(ctx context.Context, repo, branch, path, message string, content []byte, blobSHA string) (commit string, parents []string, err error)
	// OpenPullRequest opens a PR from head to base, or returns the open
	// one from head.
	OpenPullRequest(ctx context.Context, repo, head, base, title, body string) (number int, url string, err error)
	// PullRequestStatus reports whether a PR was merged, or closed
	// without merging, and whether GitHub would merge it now.
	PullRequestStatus(ctx context.Context, repo string, number int) (PullRequestStatus, error)
	// Merge merges a PR whose head is still head.
	Merge(ctx context.Context, repo string, number int, head, title string) error
}

// PullRequestStatus is what a promotion follows of its pull request.
type PullRequestStatus struct {
	Merged, Closed bool
	// Ready: open, mergeable, required checks green and required reviews
	// given (GitHub's mergeable_state "clean").
	Ready bool
	// Head is the commit a merge would take, HeadRef the branch it is
	// on in HeadRepo (owner/name: a fork's, for a PR from a fork), and
	// Base the branch it merges into.
	Head, HeadRef, HeadRepo, Base string
}

// Engine runs promotions. It keeps nothing in memory: the record in the
// apiserver is the truth, so any replica can take any step.
type Engine struct {
	Config   *config.Config
	Clusters *tekton.Clusters
	// Roles may promote (policy.allow.promote, or the verb's default);
	// an environment's allow list narrows them further.
	Roles []string
	// Repos is GitHub for the gitops strategy; nil refuses it.
	Repos Repos
	// Notifier posts progress to the releases channel; nil posts nothing
	// (and so the two-person rule cannot ask for an approval).
	Notifier Notifier
	// Runner runs a watch for the life of the process; nil watches
	// nothing, and the record catches up when a gate or a listing reads it.
	Runner Runner
	// Pager pages the build captain when a verification fails and tekbot
	// rolls back by itself; nil pages nobody.
	Pager Pager
	// Audit records what tekbot does by itself (rolling back, merging its
	// promotion PR), as commands are recorded; nil records nothing.
	Audit bot.Auditor
	// Now is the clock; nil means Clock's, then time.Now.
	Now func() time.Time
	// Clock times deadlines and polls; nil means the real one.
	Clock clock.Clock
	Log   *slog.Logger
}

// Pager pages the build captain (captain/paging, adapted by handlers).
type Pager interface {
	// PageCaptain pages about key once: a retry with the same key does
	// not page again.
	PageCaptain(ctx context.Context, key, reason, link string) error
}

// Request is a promote command: Version may be NightlyWord, Environment
// empty for the only one; By is the caller's config name.
type Request struct {
	ID, Project, Version, Environment, By string
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return e.clock().Now()
}

func (e *Engine) clock() clock.Clock {
	if e.Clock != nil {
		return e.Clock
	}
	return clock.RealClock{}
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

func (e *Engine) record() (*Record, error) {
	c := e.Clusters.Get(e.Config.State.Cluster)
	if c == nil {
		return nil, fmt.Errorf("the state cluster %q is not configured", e.Config.State.Cluster)
	}
	return &Record{ConfigMaps: state.ConfigMapsIn(c.Kube, e.Config.State.Namespace)}, nil
}

func (e *Engine) read(ctx context.Context) (*Book, error) {
	r, err := e.record()
	if err != nil {
		return nil, err
	}
	return r.Read(ctx)
}

func (e *Engine) update(ctx context.Context, change func(*Book) error) error {
	r, err := e.record()
	if err != nil {
		return err
	}
	return r.Update(ctx, e.now(), change)
}

// Environment finds the named environment; "" means the only one.
func (e *Engine) Environment(name string) (*config.Environment, error) {
	envs := e.Config.Promotion.Environments
	names := make([]string, len(envs))
	for i := range envs {
		if envs[i].Name == name || (name == "" && len(envs) == 1) {
			return &envs[i], nil
		}
		names[i] = "`" + envs[i].Name + "`"
	}
	switch {
	case len(envs) == 0:
		return nil, refuse("No promotion environments are configured (promotion.environments).")
	case name == "":
		return nil, refuse("Which environment? Add `to <environment>`: %s.", strings.Join(names, ", "))
	}
	return nil, refuse("Unknown environment %+q. Environments: %s.", name, strings.Join(names, ", "))
}

// authorised lists, in config order, the people who may promote to env:
// they hold one of the verb's roles and, if env has an allow list, one
// of its roles.
func (e *Engine) authorised(env *config.Environment) []string {
	holds := func(person string, roles []string) bool {
		return slices.ContainsFunc(roles, func(role string) bool {
			return role == config.RoleEveryone || slices.Contains(e.Config.Policy.Roles[role], person)
		})
	}
	var out []string
	for _, p := range e.Config.People {
		if holds(p.Name, e.Roles) && (len(env.Allow) == 0 || holds(p.Name, env.Allow)) {
			out = append(out, p.Name)
		}
	}
	return out
}

// mayPromote is gate 1 past the verb's policy, which bot.Bot checked.
func (e *Engine) mayPromote(person string, env *config.Environment) error {
	who := e.authorised(env)
	if slices.Contains(who, person) {
		return nil
	}
	if len(who) == 0 {
		who = []string{"nobody"}
	}
	return &Refusal{Denied: true, Msg: fmt.Sprintf("Sorry, you may not promote to %s. Who may: %s.", env.Name, strings.Join(who, ", "))}
}

// caller is how an offered button names the person it is offered for.
func (e *Engine) caller(name string) bot.Caller {
	c := bot.Caller{Transport: bot.Slack, Person: e.Config.Person(name)}
	if c.Person != nil {
		c.ID = c.Person.Slack
	}
	return c
}

// Ask runs the gates for a new request and records it, waiting for the
// requester's confirmation. Asking again with the same ID re-runs the
// gates unless the promotion has moved on.
func (e *Engine) Ask(ctx context.Context, r Request) (*Promotion, error) {
	env, err := e.Environment(r.Environment)
	if err != nil {
		return nil, err
	}
	if err := e.mayPromote(r.By, env); err != nil {
		return nil, err
	}
	if err := CheckProject(r.Project); err != nil {
		return nil, err
	}
	version := r.Version
	var skipped []string
	if version == NightlyWord {
		if version, skipped, err = e.ResolveNightly(ctx, env, r.Project); err != nil {
			return nil, err
		}
	} else if _, err := CheckVersion(version); err != nil {
		return nil, err
	}
	p := &Promotion{ID: r.ID, Project: r.Project, Environment: env.Name, Version: version, State: Asked, RequestedBy: r.By, Asked: e.now(), Skipped: skipped}
	if err := e.check(ctx, env, p); err != nil {
		return nil, err
	}
	err = e.update(ctx, func(b *Book) error {
		if old := b.find(p.ID); old != nil && !old.State.waiting() {
			p = old // a repeated request must not reset a started one
			return nil
		}
		b.put(p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// check runs gates 2 to 4 on p, which names a version, and notes the
// evidence and what the environment runs now.
func (e *Engine) check(ctx context.Context, env *config.Environment, p *Promotion) error {
	if _, err := CheckVersion(p.Version); err != nil {
		return err
	}
	if env.Strategy == config.StrategyGitOps && e.Repos == nil {
		return fmt.Errorf("%s deploys through GitHub pull requests, and GitHub is not configured", env.Name)
	}
	book, err := e.catchUp(ctx)
	if err != nil {
		return err
	}
	evidence, img, err := e.evidence(ctx, env, book, p.Project, p.Version)
	if err != nil {
		return err
	}
	// What was checked when asked is what is deployed: a tag moved since
	// would deploy an image nobody checked.
	if p.Image != nil && (img == nil || *img != *p.Image) {
		return refuse("The tag `%s` no longer points to the image checked when this was asked (`%s`), so nothing was deployed. Please ask again.", p.Version, p.Image.Digest)
	}
	p.Evidence, p.Image = evidence, img
	p.From = ""
	if d := book.Deployed(p.Project, env.Name); d != nil {
		p.From = d.Version
	}
	return e.inFlight(ctx, env, book, p)
}

// Confirm acts on a press of a button tekbot offered: the requester's
// confirmation, a rollback offer (whoever presses it becomes the
// requester), or, under the two-person rule, the second person's
// approval. After the gates pass again, it either asks for that approval
// or starts the deploy; started reports whether this call started it.
func (e *Engine) Confirm(ctx context.Context, r Request) (p *Promotion, started bool, err error) {
	book, err := e.read(ctx)
	if err != nil {
		return nil, false, err
	}
	p, approval := book.forRequest(r.ID)
	if p == nil || p.Project != r.Project || (r.Environment != "" && r.Environment != p.Environment) ||
		(r.Version != NightlyWord && r.Version != p.Version) {
		return nil, false, refuse("This confirmation has expired or does not match a request; nothing was done. Please ask again.")
	}
	env, err := e.Environment(p.Environment)
	if err != nil {
		return nil, false, err
	}
	if err := e.mayPromote(r.By, env); err != nil {
		return nil, false, err
	}
	requester, approver := p.RequestedBy, ""
	switch {
	case p.State == Running:
		// A retry: finish what a failed attempt may have left half done.
		return e.start(ctx, env, p.ID, nil)
	case p.State.Done():
		return p, false, nil
	case approval && p.State != AwaitingApproval:
		return nil, false, refuse("This promotion is not waiting for an approval.")
	case approval && r.By == p.RequestedBy:
		return nil, false, refuse("Two-person rule: %s asked for this promotion, so someone else who may promote to %s must approve it.", r.By, env.Name)
	case approval:
		approver = r.By
	case p.State == AwaitingApproval:
		return p, false, nil // the requester pressed Promote twice
	case p.State == Asked && r.By != p.RequestedBy:
		return nil, false, refuse("Only %s, who asked, can confirm this promotion.", p.RequestedBy)
	case p.State == Offered:
		requester = r.By
	}
	checked := *p
	if err := e.check(ctx, env, &checked); err != nil {
		return nil, false, err
	}
	set := func(q *Promotion, _ *Book) {
		q.RequestedBy, q.ApprovedBy, q.Evidence, q.From, q.Image = requester, approver, checked.Evidence, checked.From, checked.Image
	}
	if env.TwoPersonRule && !approval {
		p, err := e.askApproval(ctx, env, p.ID, requester, set)
		return p, false, err
	}
	return e.start(ctx, env, p.ID, set)
}

// transition moves promotion id from one of the states in from to state
// to, applying set, in one write of the record. moved is false (and p
// its current state) when it was not in one of those states. Moving to
// Running is the in-flight claim: it fails while another promotion of the
// project to the environment runs.
func (e *Engine) transition(ctx context.Context, id string, from []State, to State, set func(*Promotion, *Book)) (p *Promotion, moved bool, err error) {
	err = e.update(ctx, func(b *Book) error {
		cur := b.find(id)
		if cur == nil {
			return refuse("This promotion has expired; nothing was done. Please ask again.")
		}
		p, moved = cur, slices.Contains(from, cur.State)
		if !moved {
			return nil
		}
		if to == Running {
			if other := b.running(cur.Project, cur.Environment); len(other) > 0 {
				return inFlightRefusal(other[0])
			}
		}
		cur.State = to
		if set != nil {
			set(cur, b)
		}
		return nil
	})
	return p, moved, err
}

func inFlightRefusal(o *Promotion) error {
	return refuse("%s is already being promoted to %s: %s, asked by %s, running since %s (%s). Wait for it to finish.",
		o.Project, o.Environment, o.Change(), o.RequestedBy, o.Started.UTC().Format("15:04 MST"), o.Link())
}

// askApproval records who asked and posts the request for a second
// person's approval, with a button only they may press.
func (e *Engine) askApproval(ctx context.Context, env *config.Environment, id, requester string, set func(*Promotion, *Book)) (*Promotion, error) {
	if e.Notifier == nil {
		return nil, fmt.Errorf("the two-person rule of %s needs tekbot to post for an approval, and no notifier is configured", env.Name)
	}
	approvers := slices.DeleteFunc(e.authorised(env), func(n string) bool { return n == requester })
	if len(approvers) == 0 {
		return nil, refuse("Two-person rule: nobody else may promote to %s, so nobody can approve. Ask an admin to add a second person.", env.Name)
	}
	p, moved, err := e.transition(ctx, id, []State{Asked, Offered}, AwaitingApproval, set)
	if err != nil || !moved {
		return p, err
	}
	reply := bot.Reply{
		Outcome: bot.Pending,
		Public:  true,
		Text: fmt.Sprintf("%s asks to promote *%s* to *%s*: %s.\n%s\nTwo-person rule: one of %s must approve.",
			requester, p.Project, p.Environment, p.Change(), bullets(p.Evidence), strings.Join(approvers, ", ")),
		Confirm: &bot.Confirm{
			Title:     "Approve this promotion?",
			Text:      fmt.Sprintf("Deploy %s %s to %s, as %s asked.", p.Project, p.Pinned(), p.Environment, requester),
			Button:    "Approve",
			Approvers: approvers,
		},
	}
	offer := &bot.Request{ID: ApprovalID(p.ID), Command: bot.Command{Verb: Verb, Args: p.Args()}, Caller: e.caller(requester)}
	e.notify(ctx, p, reply, offer)
	return p, nil
}

// start claims the environment and deploys. It is safe to repeat: the
// deploy's names come from the promotion's ID, so a retry finds what the
// first attempt created.
func (e *Engine) start(ctx context.Context, env *config.Environment, id string, set func(*Promotion, *Book)) (*Promotion, bool, error) {
	p, _, err := e.transition(ctx, id, []State{Asked, Offered, AwaitingApproval}, Running, func(q *Promotion, b *Book) {
		if set != nil {
			set(q, b)
		}
		q.Started = e.now()
		if q.Image == nil && env.NightlyImage != "" {
			// An automatic rollback skips the gates: it deploys the
			// image the version was deployed as.
			q.Image = b.deployedImage(q.Project, q.Environment, q.Version)
		}
		e.target(env, q)
	})
	if err != nil || p.State != Running {
		return p, false, err
	}
	created, err := e.deploy(ctx, env, p)
	if foreign := (*foreignError)(nil); errors.As(err, &foreign) {
		if err := e.disown(ctx, p.ID, foreign.msg); err != nil {
			return nil, false, err
		}
		return nil, false, refuse("%s", stopped(p, foreign.msg))
	}
	if err != nil {
		e.log().ErrorContext(ctx, "promotion: starting the deploy", "promotion", p.ID, "err", err)
		why := "could not start: " + startFailure(env, err)
		if _, _, ferr := e.transition(ctx, p.ID, []State{Running}, Failed, func(q *Promotion, _ *Book) {
			q.Finished, q.Result = e.now(), why
		}); ferr != nil {
			e.log().ErrorContext(ctx, "promotion: recording a failed start", "promotion", p.ID, "err", ferr)
		}
		return nil, false, fmt.Errorf("promoting %s %s to %s: %w", p.Project, p.Version, p.Environment, err)
	}
	if created {
		e.announce(ctx, p)
		switch {
		case env.Strategy == config.StrategyPipelineRun:
			e.watchLater(p.ID)
		case env.AutoMerge:
			e.followLater(p.ID)
		}
	}
	return p, created, nil
}

// startFailure says in words why env's deploy could not start: a
// refusal as it is, else what failed where (a gitops deploy is a branch,
// a commit and a PR on GitHub, not a run on a cluster).
func startFailure(env *config.Environment, err error) string {
	if no := (*Refusal)(nil); errors.As(err, &no) {
		return no.Msg
	}
	if env.Strategy == config.StrategyGitOps {
		return bot.Explain("GitHub", err)
	}
	return bot.Explain("the "+env.Cluster+" cluster", err)
}

// disown ends running promotion id, which met something under its names
// that tekbot did not make (a run, a branch, a commit on its PR): tekbot
// neither follows nor merges it. Whoever moves the promotion says so in
// its thread, audits and logs it.
func (e *Engine) disown(ctx context.Context, id, why string) error {
	p, moved, err := e.transition(ctx, id, []State{Running}, Failed, func(q *Promotion, _ *Book) {
		q.Finished, q.Result = e.now(), "stopped: "+why
	})
	if err != nil || !moved {
		return err
	}
	e.disowned(ctx, p, why)
	e.notify(ctx, p, bot.Reply{Outcome: bot.Failed, Public: true, Targets: []string{p.Target()}, Text: stopped(p, why)}, nil)
	return nil
}

// disowned logs and audits that promotion p met something under its names
// that tekbot did not make.
func (e *Engine) disowned(ctx context.Context, p *Promotion, why string) {
	e.log().WarnContext(ctx, "promotion: refusing what tekbot did not make", "promotion", p.ID, "why", why)
	e.audited(ctx, p.ID+"/foreign", "refuse", bot.Refused, p)
}

// stopped says why p stopped at something tekbot did not make.
func stopped(p *Promotion, why string) string {
	return fmt.Sprintf("❌ Promoting *%s* `%s` to *%s* stopped: %s. tekbot does not take it as its own: it neither follows nor merges it, and deploys nothing more for this request. Find out who made it.",
		p.Project, p.Version, p.Environment, why)
}

// announce posts that a deploy started.
func (e *Engine) announce(ctx context.Context, p *Promotion) {
	approved := ""
	if p.ApprovedBy != "" {
		approved = ", approved by " + p.ApprovedBy
	}
	what := "Deploying"
	if p.PullRequest != 0 {
		what = "Opened a pull request; it deploys when merged"
	}
	text := fmt.Sprintf("🚀 %s promotes *%s* to *%s*: %s%s. %s: %s",
		p.RequestedBy, p.Project, p.Environment, p.Change(), approved, what, p.Link())
	e.notify(ctx, p, bot.Reply{Outcome: bot.Done, Public: true, Text: text, Targets: []string{p.Target()}}, nil)
}

// notify posts to p's thread, and records the thread the first post
// opens. Chat being down does not stop a deploy: failures are logged.
func (e *Engine) notify(ctx context.Context, p *Promotion, reply bot.Reply, offer *bot.Request) {
	if e.Notifier == nil {
		return
	}
	thread := p.Thread
	if thread.Channel == "" {
		thread.Channel = e.Config.Slack.Channels.Releases
	}
	got, err := e.Notifier.Post(ctx, thread, reply, offer)
	if err != nil {
		e.log().ErrorContext(ctx, "promotion: posting progress", "promotion", p.ID, "err", err)
		return
	}
	if got == p.Thread {
		return
	}
	p.Thread = got
	err = e.update(ctx, func(b *Book) error {
		if q := b.find(p.ID); q != nil {
			q.Thread = got
		}
		return nil
	})
	if err != nil {
		e.log().ErrorContext(ctx, "promotion: recording the thread", "promotion", p.ID, "err", err)
	}
}

// Book returns the record, brought up to date with deploys that ended
// while nobody watched.
func (e *Engine) Book(ctx context.Context) (*Book, error) { return e.catchUp(ctx) }

func orNone(v string) string {
	if v == "" {
		return "none recorded"
	}
	return v
}

func bullets(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("- " + l + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}
