package handlers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/mergequeue"
	"tekbot/state"
)

// HoldLabel is Prow's label for a held PR; Tide, GitHub rulesets and
// tekbot's merge queue bridge all read it.
const HoldLabel = "do-not-merge/hold"

// HoldCheck is the check run that blocks a held PR's head: unlike the
// label, which anyone with triage rights can remove, only tekbot writes it.
const HoldCheck = "tekbot/hold"

// HoldStore keeps the holds (state.Holds).
type HoldStore interface {
	Get(ctx context.Context, repo string, number int) (*state.Hold, error)
	Put(ctx context.Context, h state.Hold) error
	Delete(ctx context.Context, repo string, number int) error
	List(ctx context.Context) ([]state.Hold, error)
}

// HoldGitHub is what /hold does on GitHub (transport/github's API).
type HoldGitHub interface {
	Get(ctx context.Context, repo string, number int) (*bot.PullRequest, error)
	AddLabel(ctx context.Context, repo string, number int, label string) error
	RemoveLabel(ctx context.Context, repo string, number int, label string) error
	Comment(ctx context.Context, repo string, number int, body string) error
	PostCheck(ctx context.Context, repo, sha string, c bot.Check) error
}

// QueueSync moves a PR in or out of GitHub's merge queue at once
// (mergequeue.Bridge), so a hold dequeues without waiting for the label's
// event.
type QueueSync interface {
	Sync(ctx context.Context, repo string, number int) (mergequeue.Action, error)
}

func (h *commands) holdSpec() *bot.Spec {
	return &bot.Spec{
		Verb:    "hold",
		Usage:   "hold [reason] [expiry, e.g. 2d]",
		Summary: "keep the PR from merging: the do-not-merge/hold label and a blocking tekbot/hold check that follows new pushes; `/hold cancel` lifts it",
		// Prow's verb, written bare as Prow's users do: tekbot replaces
		// Prow's hold plugin on the repositories it serves.
		Transports: onGitHub,
		// The handler decides, as for unhold: "/hold cancel" is an unhold,
		// which the holder may run without any role; holding itself
		// needs holdRoles.
		DefaultAllow: []string{config.RoleEveryone},
		Handle:       h.hold,
	}
}

func (h *commands) unholdSpec() *bot.Spec {
	return &bot.Spec{
		Verb:       "unhold",
		Aliases:    []string{"remove-hold"},
		Usage:      "unhold",
		Summary:    "lift a /hold (also `/remove-hold`): the person who held, people with write access, or the build captain",
		Transports: onGitHub,
		// The handler decides: the holder may unhold without any role.
		DefaultAllow: []string{config.RoleEveryone},
		Handle:       h.unhold,
	}
}

// Bounds of a hold's expiry: shorter is a typo, longer is "until /unhold".
const (
	minHoldExpiry = time.Hour
	maxHoldExpiry = 30 * 24 * time.Hour
	// maxHoldReason bounds what the check run and the record repeat.
	maxHoldReason = 300
)

var expiryRE = regexp.MustCompile(`^(\d{1,4})([hdw])$`)

// holdArgs reads "/hold [reason] [expiry]": an expiry such as 12h, 2d or
// 1w is the last word (or the first); everything else is the reason.
func holdArgs(args []string) (reason string, expiry time.Duration, err error) {
	for _, i := range []int{len(args) - 1, 0} {
		if i < 0 || i >= len(args) {
			continue
		}
		m := expiryRE.FindStringSubmatch(strings.ToLower(args[i]))
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[1]) // the pattern checked the digits
		expiry = time.Duration(n) * map[string]time.Duration{"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
		if expiry < minHoldExpiry || expiry > maxHoldExpiry {
			return "", 0, fmt.Errorf("a hold lasts from 1h to 30d, or until `/unhold` when no expiry is given; %s is not in that range", bot.UserText(args[i]))
		}
		args = append(append([]string{}, args[:i]...), args[i+1:]...)
		break
	}
	reason = strings.Join(args, " ")
	if len(reason) > maxHoldReason {
		return "", 0, fmt.Errorf("the reason is %d characters long; keep it under %d and link to the details", len(reason), maxHoldReason)
	}
	return reason, expiry, nil
}

func (h *commands) hold(ctx context.Context, req *bot.Request) bot.Reply {
	pr := req.PullRequest
	switch {
	case pr == nil:
		return refused("This command works on a pull request: comment it on the PR.")
	case len(req.Command.Args) == 1 && strings.EqualFold(req.Command.Args[0], "cancel"):
		return h.unhold(ctx, req)
	case h.Holds == nil || h.HoldGitHub == nil:
		return failed("tekbot has no state store to record holds in, so the PR was not held.")
	case !pr.Open:
		return refused("This pull request is closed: there is nothing to hold.")
	}
	if ok, err := h.mayHold(ctx, req.Caller); err != nil || !ok {
		if err != nil {
			return h.trouble(ctx, req, "GitHub", err, "check who may hold")
		}
		return bot.Reply{Outcome: bot.Denied, Text: "Sorry, you may not hold this PR. Who may: people with write access to " + pr.Repository + ", and the author of a trusted PR."}
	}
	reason, expiry, err := holdArgs(req.Command.Args)
	if err != nil {
		return refused("Usage: `/hold [reason] [expiry]`: %s.", err)
	}
	now := h.now().UTC()
	hold := state.Hold{Repository: pr.Repository, Number: pr.Number, Login: req.Caller.ID, Reason: reason, At: now}
	if req.Caller.Person != nil {
		hold.Person = req.Caller.Person.Name
	}
	if expiry > 0 {
		hold.Expires = now.Add(expiry)
	}
	if err := h.Holds.Put(ctx, hold); err != nil {
		return h.trouble(ctx, req, "tekbot's state store", err, "record the hold")
	}
	reply := bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{holdTarget(pr)}}
	if err := h.showHold(ctx, pr, &hold); err != nil {
		reply.Outcome = bot.Failed
		reply.Text = sprintf("The hold is recorded, but GitHub could not be told: %s. Comment `/hold` again to retry.", h.troubleWords(ctx, req, "GitHub", err))
		return reply
	}
	reply.Text = "This PR is held: " + holdWords(&hold) + ". `/unhold` lifts it." + h.syncQueue(ctx, req, pr)
	return reply
}

func (h *commands) unhold(ctx context.Context, req *bot.Request) bot.Reply {
	pr := req.PullRequest
	switch {
	case pr == nil:
		return refused("This command works on a pull request: comment it on the PR.")
	case h.Holds == nil || h.HoldGitHub == nil:
		return failed("tekbot has no state store to keep holds in, so nothing was changed.")
	}
	hold, err := h.Holds.Get(ctx, pr.Repository, pr.Number)
	if err != nil {
		return h.trouble(ctx, req, "tekbot's state store", err, "read the hold")
	}
	labelled := containsFold(pr.Labels, HoldLabel)
	if hold == nil && !labelled {
		return bot.Reply{Outcome: bot.Noop, Text: "This PR is not held."}
	}
	ok, err := h.mayUnhold(ctx, req, hold)
	if err != nil {
		return h.trouble(ctx, req, "GitHub", err, "check who may lift the hold")
	}
	if !ok {
		who := "people with write access to " + pr.Repository + ", or the build captain"
		if hold != nil {
			who = "@" + hold.Login + " (who held it), " + who
		}
		return bot.Reply{Outcome: bot.Denied, Text: "Sorry, you may not lift this hold. Who may: " + who + "."}
	}
	if err := h.liftHold(ctx, pr); err != nil {
		return h.trouble(ctx, req, "GitHub or tekbot's state store", err, "lift the hold")
	}
	return bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{holdTarget(pr)}, Text: "The hold is lifted." + h.syncQueue(ctx, req, pr)}
}

// syncQueue moves the PR in or out of the merge queue after a hold
// changed, and says so; a failure is logged, and the next event or the
// periodic resync tries again.
func (h *commands) syncQueue(ctx context.Context, req *bot.Request, pr *bot.PullRequest) string {
	if h.MergeQueue == nil {
		return ""
	}
	a, err := h.MergeQueue.Sync(ctx, pr.Repository, pr.Number)
	if err != nil {
		h.logFailure(ctx, req, "sync the merge queue", err)
	}
	switch a {
	case mergequeue.Dequeued:
		return " tekbot took it out of the merge queue."
	case mergequeue.Enqueued:
		return " tekbot put it in the merge queue."
	case mergequeue.Merged:
		return " It met the repository's merge rule and tekbot merged it."
	}
	return ""
}

// mayHold: people with write access and trusted authors, as for the
// other commands that change a PR's state.
func (h *commands) mayHold(ctx context.Context, c bot.Caller) (bool, error) {
	if c.Vouch == nil {
		return false, nil
	}
	for _, role := range writers {
		if ok, err := c.Vouch.HasRole(ctx, role); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// mayUnhold: the holder, people with write access, or the captain on duty.
// A label without a record (Prow's, or added by hand) has no holder.
func (h *commands) mayUnhold(ctx context.Context, req *bot.Request, hold *state.Hold) (bool, error) {
	c := req.Caller
	if hold != nil && c.Transport == bot.GitHub && strings.EqualFold(c.ID, hold.Login) {
		return true, nil
	}
	if c.Vouch != nil {
		ok, err := c.Vouch.HasRole(ctx, config.RoleRepoWriters)
		if err != nil || ok {
			return ok, err
		}
	}
	if c.Person == nil {
		return false, nil
	}
	rot, err := h.currentRotation(ctx)
	if err != nil {
		h.Log.WarnContext(ctx, "reading the rotation to find the captain", "request", req.ID, "err", err)
		return false, nil
	}
	return rot.At(h.now()).Person == c.Person.Name, nil
}

// showHold puts the label and the blocking check on the PR's head.
func (h *commands) showHold(ctx context.Context, pr *bot.PullRequest, hold *state.Hold) error {
	check := bot.Check{
		Name: HoldCheck, Conclusion: "action_required", DetailsURL: pr.URL,
		Title:   "Held by @" + hold.Login,
		Summary: "This pull request is held: " + holdWords(hold) + ".\n\nComment `/unhold` to lift the hold (the person who held it, people with write access, or the build captain).",
	}
	return errors.Join(
		h.HoldGitHub.AddLabel(ctx, pr.Repository, pr.Number, HoldLabel),
		h.HoldGitHub.PostCheck(ctx, pr.Repository, pr.HeadSHA, check),
	)
}

// liftHold forgets the hold, then clears the label and passes the check,
// so a failure on GitHub's side leaves no record to put the hold back.
func (h *commands) liftHold(ctx context.Context, pr *bot.PullRequest) error {
	if err := h.Holds.Delete(ctx, pr.Repository, pr.Number); err != nil {
		return err
	}
	return errors.Join(
		h.HoldGitHub.RemoveLabel(ctx, pr.Repository, pr.Number, HoldLabel),
		h.HoldGitHub.PostCheck(ctx, pr.Repository, pr.HeadSHA, bot.Check{Name: HoldCheck, Conclusion: "success", Title: "Not held", Summary: "This pull request is not held."}),
	)
}

// holdWords says who held, why and until when, for people.
func holdWords(hold *state.Hold) string {
	s := fmt.Sprintf("held by @%s on %s", hold.Login, hold.At.UTC().Format("2006-01-02 15:04 MST"))
	if hold.Reason != "" {
		s += ", because: " + bot.UserText(hold.Reason)
	}
	if !hold.Expires.IsZero() {
		s += ", until " + hold.Expires.UTC().Format("2006-01-02 15:04 MST")
	}
	return s
}

func holdTarget(pr *bot.PullRequest) string { return fmt.Sprintf("%s#%d", pr.Repository, pr.Number) }

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// PullRequestPushed keeps a hold on a PR's new head: GitHub's checks belong
// to a commit, so a push would otherwise leave the new head unheld.
func (d *Deps) PullRequestPushed(ctx context.Context, pr *bot.PullRequest) error {
	if d.Holds == nil || d.HoldGitHub == nil {
		return nil
	}
	hold, err := d.Holds.Get(ctx, pr.Repository, pr.Number)
	if err != nil || hold == nil {
		return err
	}
	return (&commands{Deps: d}).showHold(ctx, pr, hold)
}

// holdRemindBefore is how long before it lapses a hold's holder is
// reminded: a day, or half the hold for shorter ones.
func holdRemindBefore(hold *state.Hold) time.Duration {
	return min(24*time.Hour, hold.Expires.Sub(hold.At)/2)
}

// ExpireHolds reminds the holders of holds about to lapse, once, and lifts
// the holds that have lapsed. The leader runs it every minute; tests
// call it with a fake time.
func (d *Deps) ExpireHolds(ctx context.Context, now time.Time) error {
	if d.Holds == nil || d.HoldGitHub == nil {
		return nil
	}
	holds, err := d.Holds.List(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for i := range holds {
		hold := &holds[i]
		switch {
		case hold.Expires.IsZero():
		case !now.Before(hold.Expires):
			errs = append(errs, d.lapse(ctx, hold, now))
		case !hold.Reminded && !now.Before(hold.Expires.Add(-holdRemindBefore(hold))):
			errs = append(errs, d.remind(ctx, hold))
		}
	}
	return errors.Join(errs...)
}

func (d *Deps) remind(ctx context.Context, hold *state.Hold) error {
	// Recorded first: a reminder is sent at most once, even if the comment
	// then fails.
	hold.Reminded = true
	if err := d.Holds.Put(ctx, *hold); err != nil {
		return err
	}
	return d.HoldGitHub.Comment(ctx, hold.Repository, hold.Number, fmt.Sprintf(
		"@%s your hold on this PR lapses at %s. Comment `/hold [reason] [expiry]` to keep holding it, or `/unhold` to lift it now.",
		hold.Login, hold.Expires.UTC().Format("2006-01-02 15:04 MST")))
}

func (d *Deps) lapse(ctx context.Context, hold *state.Hold, now time.Time) error {
	pr, err := d.HoldGitHub.Get(ctx, hold.Repository, hold.Number)
	if err != nil {
		return err
	}
	if err := (&commands{Deps: d}).liftHold(ctx, pr); err != nil {
		return err
	}
	if d.Audit != nil {
		d.Audit.Record(ctx, bot.Record{
			Time: now, RequestID: "hold-expiry/" + holdTarget(pr), Transport: bot.Itself, CallerID: "tekbot",
			Verb: "unhold", Args: []string{}, Targets: []string{holdTarget(pr)}, Outcome: bot.Done,
		})
	}
	return d.HoldGitHub.Comment(ctx, hold.Repository, hold.Number, fmt.Sprintf(
		"The hold on this PR has lapsed (it was %s): it may merge again.", holdWords(hold)))
}
