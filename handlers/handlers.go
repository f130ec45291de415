// Package handlers holds tekbot's commands, one file each, with their usage
// and help next to their code. A handler gets a bot.Request and returns a
// bot.Reply; it calls Tekton through package tekton and other services
// through the narrow interfaces in Deps, never through transport types.
package handlers

import (
	"context"
	"log/slog"
	"time"

	"tekbot/bot"
	"tekbot/captain/handoff"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/tekton"
)

// PullRequests is what handlers need from GitHub. The GitHub transport
// implements it; the terminal sandbox has its own.
type PullRequests interface {
	// Get reads a PR by repository (owner/repo) and number.
	Get(ctx context.Context, repo string, number int) (*bot.PullRequest, error)
	// AddLabel labels a PR, e.g. ok-to-test.
	AddLabel(ctx context.Context, repo string, number int, label string) error
}

// Approvals records the commits maintainers approve with /ok-to-test
// (state.Approvals).
type Approvals interface {
	Approve(ctx context.Context, repo string, number int, sha, by string) error
}

// RotationStore keeps the rotation's changes made from chat
// (state.RotationState); nil means the config's rotation is all there is.
type RotationStore interface {
	Changes(ctx context.Context) (state.RotationChanges, error)
	Change(ctx context.Context, change func(*state.RotationChanges) error) error
}

// Pager pages the build captain (paging.Pager).
type Pager interface {
	Page(ctx context.Context, now time.Time, r paging.Request) (*paging.Page, error)
	Ack(ctx context.Context, now time.Time, id, by string) (*paging.Page, error)
}

// CaptainGroup reads whether @build-captain follows the rotation
// (handoff.GroupStatus).
type CaptainGroup interface {
	Get(ctx context.Context) (handoff.GroupState, error)
}

// Deps are what the commands act on.
type Deps struct {
	Config *config.Config
	// Runs are the commands' PipelineRuns on every cluster; nil means
	// Clusters.
	Runs Runs
	// Clusters are the clients promote, promotions and the captain's group
	// report still hand whole to promotion, alerts and handoff.
	Clusters     *tekton.Clusters
	Policy       *bot.Policy
	PullRequests PullRequests
	// Approvals keeps /ok-to-test approvals; nil refuses /ok-to-test.
	Approvals Approvals
	// Queue keeps the declared commands asked on open PRs that run when
	// the PR merges (state.Queue); nil refuses them on open PRs.
	Queue Queue
	// Holds keeps /hold's records and HoldGitHub shows them on GitHub;
	// either nil refuses /hold.
	Holds      HoldStore
	HoldGitHub HoldGitHub
	// MergeQueue, when set, syncs a PR's merge queue entry as soon as a
	// hold changes.
	MergeQueue QueueSync
	Rotation   RotationStore
	// CaptainGroup is nil to read it from the state cluster in Clusters.
	CaptainGroup CaptainGroup
	// Pager is nil when paging is not configured (it needs Slack).
	Pager Pager
	// Notifier posts promotions' progress, approval requests and Roll
	// back buttons to the releases channel (the Slack transport); nil
	// posts nothing, and then the two-person rule cannot ask for approval.
	Notifier promotion.Notifier
	// GitOps is GitHub for gitops promotions (transport/github's API); nil
	// refuses them.
	GitOps promotion.Repos
	// Runner runs work that outlives a command (watching a deploy) until
	// the process stops (the app's lifecycle.Group); nil watches nothing.
	Runner promotion.Runner
	// Audit records what tekbot does by itself; nil records nothing.
	Audit bot.Auditor
	Log   *slog.Logger
	// Now is the clock; nil means time.Now. Tests pass a fake one.
	Now func() time.Time

	// Verdicts judge failures from the outcome history; nil gives none.
	Verdicts Verdicts
	// Excerpts read failed runs' logs (package triage); nil shows none.
	Excerpts Excerpter
}

// NewRegistry registers every command, in the order help lists them.
func NewRegistry(d *Deps) *bot.Registry {
	h := &commands{Deps: d}
	reg := bot.NewRegistry(
		h.helpSpec(),
		h.retestSpec(),
		h.testSpec(),
		h.cancelSpec(),
		h.okToTestSpec(),
		h.holdSpec(),
		h.unholdSpec(),
		h.rerunSpec(),
		h.whySpec(),
		h.statusSpec(),
		h.captainSpec(),
		h.pageSpec(),
		h.promoteSpec(),
		h.promotionsSpec(),
	)
	h.registry = reg
	h.registerDeclared(reg)
	return reg
}

// runs is Runs, or Clusters when no port was given.
func (d *Deps) runs() Runs {
	if d.Runs != nil {
		return d.Runs
	}
	return d.Clusters
}

// commands carries the dependencies every handler closes over.
type commands struct {
	*Deps
	registry *bot.Registry
}

var (
	onGitHub = []bot.Transport{bot.GitHub}
	onSlack  = []bot.Transport{bot.Slack}
	onBoth   = []bot.Transport{bot.GitHub, bot.Slack}
	// writers is the default for commands that change PipelineRuns of a
	// PR: people with write access, and the author of a trusted PR.
	writers = []string{config.RoleRepoWriters, config.RoleTrustedAuthors}
)

func refused(format string, args ...any) bot.Reply {
	return bot.Reply{Outcome: bot.Refused, Text: sprintf(format, args...)}
}

// trouble answers a failure on our side or a service's in words, and logs
// the error itself under the request ID the reply quotes.
func (h *commands) trouble(ctx context.Context, req *bot.Request, service string, err error, what string) bot.Reply {
	h.logFailure(ctx, req, what, err)
	return bot.Trouble(req, service, err, what)
}

// troubleWords is trouble for one line of a longer reply.
func (h *commands) troubleWords(ctx context.Context, req *bot.Request, service string, err error) string {
	h.logFailure(ctx, req, "", err)
	return bot.Explain(service, err) + " (request " + bot.ShortID(req.ID) + ")"
}

func (h *commands) logFailure(ctx context.Context, req *bot.Request, what string, err error) {
	if h.Log != nil {
		h.Log.ErrorContext(ctx, "command failed", "request", req.ID, "verb", req.Command.Verb, "what", what, "err", err)
	}
}

func failed(format string, args ...any) bot.Reply {
	return bot.Reply{Outcome: bot.Failed, Text: sprintf(format, args...)}
}
