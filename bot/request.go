package bot

import (
	"context"

	"tekbot/config"
)

// Caller is who sent a command.
type Caller struct {
	Transport Transport
	// ID is the transport's identity: a GitHub login or a Slack user ID.
	ID string
	// Person is the configured person behind ID, or nil for strangers.
	Person *config.Person
	// Vouch answers for roles only the transport can judge, such as
	// GitHub's repo-writers; nil means it vouches for none.
	Vouch RoleChecker
}

// Name is how replies and audit records name the caller.
func (c Caller) Name() string {
	if c.Person != nil {
		return c.Person.Name
	}
	return string(c.Transport) + ":" + c.ID
}

// RoleChecker decides a role the transport knows about.
type RoleChecker interface {
	HasRole(ctx context.Context, role string) (bool, error)
}

// OkToTestLabel marks a PR from an outside contributor as trusted, as Prow
// does: its author may then run the commands of trusted authors.
const OkToTestLabel = "ok-to-test"

// PullRequest is the PR a GitHub command was given on.
type PullRequest struct {
	Repository string // owner/repo
	Number     int
	HeadSHA    string
	Author     string
	URL        string
	Open       bool
	// Merged is set once the PR has merged (Open is then false).
	Merged bool
	Labels []string
	// BaseBranch is the branch the PR merges into; MergeCommitSHA is
	// GitHub's test merge commit while the PR is open (which the author
	// moves with every push: never act on it), the merged commit once it
	// is merged, and empty until GitHub has computed it.
	BaseBranch     string
	MergeCommitSHA string
}

// Request is one command to run.
type Request struct {
	// ID is unique per delivery (GitHub delivery ID, Slack event or trigger
	// ID) and seeds the names of created objects, so a redelivery of the
	// same request creates nothing new.
	ID      string
	Command Command
	Caller  Caller
	// PullRequest is set for commands written on a GitHub PR.
	PullRequest *PullRequest
	// Confirmed is set when the caller pressed a confirm button.
	Confirmed bool
	// Key names what the request acts on (the comment, the click), the
	// same for every delivery of it. Objects it creates carry it, so a
	// second delivery handled elsewhere recognises them as its own.
	Key string
	// Claim, when set, is decided beside the work (Intake.TakeBeside): a
	// replica that lost it did only what is keyed to its targets, and
	// neither audits nor counts the request, which the winner does.
	Claim *Claim
}

// Outcome is how a command ended, for replies, audit and metrics.
type Outcome string

// The outcomes of a command.
const (
	Done    Outcome = "done"    // it changed something
	Noop    Outcome = "noop"    // nothing to do, or an answer to a question
	Refused Outcome = "refused" // bad arguments or a failed gate
	Denied  Outcome = "denied"  // the caller may not run it
	Failed  Outcome = "failed"  // an error on our side or the cluster's
	Pending Outcome = "pending" // waiting for a confirmation
)

// Reply is a command's answer. Text is Markdown: GitHub renders it, the
// Slack transport converts it to mrkdwn.
type Reply struct {
	Outcome Outcome
	Text    string
	// Public replies go to the whole channel; private ones (the default)
	// to the caller only. GitHub replies are always public.
	Public bool
	// Confirm asks the caller to confirm before the command runs again
	// with Request.Confirmed set.
	Confirm *Confirm
	// Targets names the objects acted on, for audit:
	// cluster/namespace/name.
	Targets []string
}

// Confirm describes a confirmation dialog.
type Confirm struct {
	Title  string
	Text   string
	Button string
	// Approvers (config names) may press the button instead of the
	// caller; empty means the caller alone. The confirmed command runs as
	// whoever pressed it.
	Approvers []string
	// Command is what the button runs; nil means the request's own
	// command. A swap asks the other person to run "accept".
	Command *Command
}
