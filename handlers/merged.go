package handlers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/state"
)

// Queue keeps the declared commands that wait for their PR to merge
// (state.Queue).
type Queue interface {
	Add(ctx context.Context, q state.Queued) (first state.Queued, added bool, err error)
	List(ctx context.Context, repo string, number int) ([]state.Queued, error)
	Remove(ctx context.Context, q state.Queued) error
	// All lists every queued command, oldest first.
	All(ctx context.Context) ([]state.Queued, error)
}

// queue keeps a command that runs on merged PRs, asked on an open one,
// until the PR merges (Deps.PullRequestClosed). The caller was authorised
// just now; the record keeps who they are for the run's audit record.
func (h *commands) queue(ctx context.Context, req *bot.Request, c *config.Command, values []string) bot.Reply {
	p := req.PullRequest
	what := bot.Code("/" + strings.Join(append([]string{c.Verb}, values...), " "))
	if h.Queue == nil {
		return refused("%s runs once this pull request merges, and this tekbot keeps no queue: comment it again after the merge. Nothing was started.", what)
	}
	q := state.Queued{Repository: p.Repository, Number: p.Number, Verb: c.Verb, Args: values, Login: req.Caller.ID, RequestID: req.ID, At: h.now().UTC()}
	if req.Caller.Person != nil {
		q.Person = req.Caller.Person.Name
	}
	first, added, err := h.Queue.Add(ctx, q)
	if err != nil {
		return h.trouble(ctx, req, "tekbot's state", err, "queue "+what)
	}
	reply := bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{fmt.Sprintf("%s#%d (queued until merged)", p.Repository, p.Number)}}
	if !added {
		reply.Outcome = bot.Noop
		reply.Text = sprintf("%s is already queued (asked by %s): it will run when this PR merges.", what, h.requester(first).Name())
		return reply
	}
	reply.Text = sprintf("Queued: %s will run when this PR merges, on its merge commit.", what)
	// The PR may have merged since it was read, and its merge found the
	// queue without this: then it runs now. Named after this request, it
	// starts once even if the merge ran it too.
	if merged := h.mergedSince(ctx, req); merged != nil {
		_, reply = h.runQueued(ctx, q, merged)
	}
	return reply
}

// mergedSince reads the PR again and returns it if it has merged.
func (h *commands) mergedSince(ctx context.Context, req *bot.Request) *bot.PullRequest {
	if h.PullRequests == nil {
		return nil
	}
	pr, err := h.PullRequests.Get(ctx, req.PullRequest.Repository, req.PullRequest.Number)
	if err != nil {
		h.logFailure(ctx, req, "reading the PR again after queueing", err)
		return nil
	}
	if !pr.Merged {
		return nil
	}
	return pr
}

// PullRequestClosed runs the commands queued on pr now that it has merged,
// on its merge commit (from GitHub's signed pull_request event), or drops
// them when it was closed without merging. Each reply is for the PR. A
// queued command leaves the queue once it has run or been dropped, and is
// named after the request that queued it: a second delivery of the merge
// starts nothing more.
func (d *Deps) PullRequestClosed(ctx context.Context, requestID string, pr *bot.PullRequest) []bot.Reply {
	if d.Queue == nil {
		return nil
	}
	h := &commands{Deps: d}
	queued, err := d.Queue.List(ctx, pr.Repository, pr.Number)
	if err != nil {
		req := &bot.Request{ID: requestID, Command: bot.Command{Verb: "queued"}}
		return []bot.Reply{h.trouble(ctx, req, "tekbot's state", err, "read the commands queued on this PR")}
	}
	var replies []bot.Reply
	for _, q := range queued {
		start := time.Now()
		req, reply := h.runQueued(ctx, q, pr)
		if d.Audit != nil {
			d.Audit.Record(ctx, bot.NewRecord(req, reply, time.Since(start)))
		}
		replies = append(replies, reply)
	}
	return replies
}

// QueuedCheckAfter is how long a command waits for its PR's close event
// before tekbot asks GitHub about the PR: GitHub does not redeliver a lost
// event by itself, and without this the command would wait forever. A
// week leaves the PRs that merge normally alone.
const QueuedCheckAfter = 7 * 24 * time.Hour

// QueuedKeptAtMost bounds the wait of a command whose PR GitHub does not
// answer about (a deleted repository, an uninstalled app): after it, the
// sweep drops the PR's queued commands, audited, rather than read it
// forever. A PR GitHub says is open keeps its queue however old.
const QueuedKeptAtMost = 90 * 24 * time.Hour

// ClosedPRs is what the sweep of old queued commands needs of GitHub: the
// PR's state now, and a comment saying what ran or was dropped.
type ClosedPRs interface {
	Get(ctx context.Context, repo string, number int) (*bot.PullRequest, error)
	Comment(ctx context.Context, repo string, number int, body string) error
}

// SweepQueued reads, once a sweep, each PR with a command queued longer
// than QueuedCheckAfter: merged, its queued commands run as its close
// event would have run them; closed without merging, they are dropped;
// open, they keep waiting. Each is audited as on a close event, and the
// PR is told in one comment. The leader runs it; tests give the time.
func (d *Deps) SweepQueued(ctx context.Context, github ClosedPRs, now time.Time) error {
	if d.Queue == nil || github == nil {
		return nil
	}
	queued, err := d.Queue.All(ctx)
	if err != nil {
		return err
	}
	type pullRequest struct {
		repo   string
		number int
	}
	read := map[pullRequest]bool{}
	var errs []error
	for _, q := range queued {
		pr := pullRequest{q.Repository, q.Number}
		if read[pr] || now.Sub(q.At) < QueuedCheckAfter {
			continue
		}
		read[pr] = true
		// Oldest first: q is the PR's oldest command.
		errs = append(errs, d.sweepPR(ctx, github, pr.repo, pr.number, now, q.At))
	}
	return errors.Join(errs...)
}

func (d *Deps) sweepPR(ctx context.Context, github ClosedPRs, repo string, number int, now, oldest time.Time) error {
	pr, err := github.Get(ctx, repo, number)
	switch {
	case err != nil && now.Sub(oldest) >= QueuedKeptAtMost:
		return d.dropUnreadable(ctx, repo, number, err)
	case err != nil:
		return fmt.Errorf("reading %s#%d for its queued commands: %w", repo, number, err)
	}
	if pr.Open {
		return nil
	}
	var parts []string
	for _, reply := range d.PullRequestClosed(ctx, fmt.Sprintf("queued-sweep-%d", now.Unix()), pr) {
		if reply.Text != "" {
			parts = append(parts, reply.Text)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return github.Comment(ctx, repo, number, "tekbot did not hear of this PR closing, and found it closed when it looked at the commands queued on it.\n\n"+strings.Join(parts, "\n\n"))
}

// dropUnreadable drops the commands queued on a PR that GitHub has not
// answered about for QueuedKeptAtMost. The PR cannot be told: the audit
// records and the log say what was dropped and why.
func (d *Deps) dropUnreadable(ctx context.Context, repo string, number int, readErr error) error {
	h := &commands{Deps: d}
	queued, err := d.Queue.List(ctx, repo, number)
	if err != nil {
		return err
	}
	var errs []error
	for _, q := range queued {
		req := &bot.Request{ID: q.RequestID, Command: bot.Command{Verb: q.Verb, Args: q.Args}, Caller: h.requester(q)}
		h.logFailure(ctx, req, "reading the PR of a command queued too long: dropped", readErr)
		if err := d.Queue.Remove(ctx, q); err != nil {
			errs = append(errs, err)
			continue
		}
		reply := refused("GitHub did not answer about %s#%d for %d days: the queued command was dropped.", repo, number, int(QueuedKeptAtMost.Hours()/24))
		reply.Targets = []string{fmt.Sprintf("%s#%d (queued until merged)", repo, number)}
		if d.Audit != nil {
			d.Audit.Record(ctx, bot.NewRecord(req, reply, 0))
		}
	}
	return errors.Join(errs...)
}

// runQueued runs or drops q, and takes it off the queue unless that failed
// on our side. The request is q's, as its requester's, for the audit.
func (h *commands) runQueued(ctx context.Context, q state.Queued, pr *bot.PullRequest) (req *bot.Request, reply bot.Reply) {
	req = &bot.Request{
		ID: q.RequestID, Command: bot.Command{Verb: q.Verb, Args: q.Args}, PullRequest: pr,
		Caller: h.requester(q),
	}
	what := bot.Code("/" + req.Command.String())
	c := h.declaredCommand(q.Verb)
	switch {
	case c == nil || !c.OnMerged():
		reply = refused("The queued %s (asked by %s) is no longer declared to run on merged PRs: it was dropped, and nothing was started.", what, req.Caller.Name())
	case !pr.Merged:
		reply = refused("This PR was closed without merging: the queued %s (asked by %s) was dropped, and nothing was started.", what, req.Caller.Name())
	default:
		checked, why := checkDeclaredArgs(c, q.Args)
		if why != "" {
			reply = refused("The queued %s no longer fits its declaration: %s It was dropped, and nothing was started.", what, why)
			break
		}
		reply = h.startDeclared(ctx, req, c, checked, prFields(pr, c))
		if reply.Text != "" {
			reply.Text = sprintf("This PR merged as `%s`: %s", shortSHA(pr.MergeCommitSHA), reply.Text)
		}
	}
	if reply.Outcome != bot.Failed {
		if err := h.Queue.Remove(ctx, q); err != nil {
			// Left queued, it runs again only under its own name: nothing more.
			h.logFailure(ctx, req, "unqueueing", err)
		}
	}
	return req, reply
}

// declaredCommand is the config's command with that verb, or nil.
func (h *commands) declaredCommand(verb string) *config.Command {
	for i := range h.Config.Commands {
		if h.Config.Commands[i].Verb == verb {
			return &h.Config.Commands[i]
		}
	}
	return nil
}

// requester is who queued q: authorised when they asked.
func (h *commands) requester(q state.Queued) bot.Caller {
	return bot.Caller{Transport: bot.GitHub, ID: q.Login, Person: h.Config.Person(q.Person)}
}
