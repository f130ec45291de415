package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
	"tekbot/config"
)

// GitHub is what the receiver asks of GitHub's REST API; API implements
// it.
type GitHub interface {
	Permissions
	Get(ctx context.Context, repo string, number int) (*bot.PullRequest, error)
	React(ctx context.Context, repo string, commentID int64, content string) error
	Comment(ctx context.Context, repo string, number int, body string) error
}

// Receiver serves POST /github/webhook.
type Receiver struct {
	Secret   []byte
	MaxBody  int64
	Config   *config.Config
	Registry *bot.Registry
	Bot      *bot.Bot
	API      GitHub
	// Approvals are the commits approved with /ok-to-test; nil trusts no
	// PR author who is not also a writer.
	Approvals Approvals
	// Intake deduplicates, queues, claims and runs deliveries.
	Intake *bot.Intake
	// Closed is told when a PR closes, to run or drop what waits for its
	// merge; nil ignores pull_request events.
	Closed Closes
	// Pushes is told when a PR's head moves; nil ignores pushes.
	Pushes Pushes
	// Queue is told when a PR's labels, head or state change; nil leaves
	// GitHub's merge queue alone.
	Queue Queue
	// Denials keeps strangers' denials to one per person per PR per
	// deniedEvery across replicas (state.Claims); nil sends every denial.
	Denials Denials
	// RoleChanges tell the other replicas about a role event
	// (state.RoleChanges); nil keeps it to this one.
	RoleChanges RoleChanges
	// Commits find the PR of a re-run button's commit when GitHub names
	// none (a fork's PR), asked in order; nil ignores such presses.
	Commits []CommitPulls
	Metrics *bot.Metrics
	Log     *slog.Logger
	// Now is the clock for the comment window; nil means time.Now.
	Now func() time.Time
}

// RoleEvents forget what is known of a person's roles ("" for everyone's)
// when GitHub says they changed. An API that does (API) is told by the
// Receiver.
type RoleEvents interface {
	Forget(login string)
}

// RoleChanges pass a role event on to every replica (state.RoleChanges).
type RoleChanges interface {
	Note(ctx context.Context, login string, now time.Time) error
}

// Denials are claims that renew after a period (state.Claims).
type Denials interface {
	ClaimEvery(ctx context.Context, key string, period time.Duration, now time.Time) (bool, error)
}

// deniedEvery is how often a PR gets a denial for commands from people
// with no role there: strangers' comments must not make tekbot spam a PR.
const deniedEvery = 10 * time.Minute

func (r *Receiver) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// delivery is the work a webhook asks for, decoded and filtered.
type delivery struct {
	id string
	// key names what the delivery acts on (the comment, the check run), so
	// a replay of the same signed content under a new delivery ID is
	// recognised as well as a redelivery.
	key       string
	repo      string
	number    int
	commentID int64 // 0 for check runs: nothing to react to
	login     string
	// member: GitHub says the commenter belongs to the repository (owner,
	// organisation member, collaborator), so tekbot acknowledges at once.
	member   bool
	commands []bot.Command
	// ignored counts the commands beyond bot.MaxCommentCommands.
	ignored int
	// sha is the commit a check event is for: its commands act on it, not
	// on the PR's head, which may have moved since.
	sha string
	// closed is the PR a pull_request "closed" event closed, from the
	// signed payload; the delivery then has no commands.
	closed *bot.PullRequest
	// changed is the PR a pull_request event changed (its labels, its
	// head); pushed says the head moved and Pushes follows it.
	changed *bot.PullRequest
	pushed  bool
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, req.Body, r.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("body larger than %d bytes", r.MaxBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read body", http.StatusBadRequest)
		return
	}
	if err := gh.ValidateSignature(req.Header.Get(gh.SHA256SignatureHeader), body, r.Secret); err != nil {
		r.Metrics.VerificationFailed(bot.GitHub)
		r.Log.Warn("github webhook signature rejected", "delivery", req.Header.Get(gh.DeliveryIDHeader), "remote", req.RemoteAddr)
		http.Error(w, "invalid or missing X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	id := req.Header.Get(gh.DeliveryIDHeader)
	event := req.Header.Get(gh.EventTypeHeader)
	if id == "" || event == "" {
		http.Error(w, "missing X-GitHub-Delivery or X-GitHub-Event", http.StatusBadRequest)
		return
	}
	log := r.Log.With("delivery", id, "event", event)
	if roleEvents[event] {
		r.rolesChanged(req.Context(), w, log, event, body)
		return
	}
	d, why, err := r.decode(event, body)
	if err != nil {
		log.Info("github webhook malformed", "err", err)
		http.Error(w, "malformed payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	if d == nil {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "ignored:", why)
		return
	}
	d.id = id
	work := func(ctx context.Context, claim *bot.Claim) bool { return r.process(ctx, log, d, claim) }
	if r.idempotent(d) {
		err = r.Intake.TakeBeside(d.key, nil, work)
	} else {
		err = r.Intake.Take(d.key, nil, func(ctx context.Context) bool { return work(ctx, nil) })
	}
	switch {
	case errors.Is(err, bot.ErrTaken):
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "duplicate delivery: already taken")
		return
	case err != nil:
		log.Warn("github webhook refused", "err", err)
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, "accepted %d command(s)\n", len(d.commands))
}

// decode keeps what tekbot acts on; a nil delivery comes with the reason it
// is ignored.
func (r *Receiver) decode(event string, body []byte) (*delivery, string, error) {
	switch event {
	case "ping":
		return nil, "ping", nil
	case "issue_comment", "check_run", "check_suite", "pull_request":
	default:
		return nil, "event " + event + " is not one tekbot acts on", nil
	}
	payload, err := gh.ParseWebHook(event, body)
	if err != nil {
		return nil, "", err
	}
	switch e := payload.(type) {
	case *gh.IssueCommentEvent:
		return r.decodeComment(e)
	case *gh.CheckRunEvent:
		return r.decodeCheckRun(e)
	case *gh.CheckSuiteEvent:
		return r.decodeCheckSuite(e)
	case *gh.PullRequestEvent:
		if e.GetAction() != "closed" {
			return r.decodeChanged(e)
		}
		return r.decodeClosed(e)
	}
	return nil, "unexpected payload", nil
}

func (r *Receiver) decodeComment(e *gh.IssueCommentEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	login := e.GetComment().GetUser().GetLogin()
	switch {
	case e.GetAction() != "created":
		return nil, "comment " + e.GetAction(), nil
	case e.GetIssue() == nil || !e.GetIssue().IsPullRequest():
		return nil, "comment on an issue, not a pull request", nil
	case r.isBot(e.GetComment().GetUser()):
		return nil, "comment by a bot", nil
	case r.Config.Repository(repo) == nil:
		return nil, "repository " + repo + " is not configured", nil
	}
	// On a closed PR only the commands that run on merged PRs are read:
	// they run now, or say that the PR did not merge.
	parse := r.Registry.ParseComment
	if state := e.GetIssue().GetState(); state != "open" {
		parse = r.Registry.ParseClosedComment
	}
	cmds, ignored := parse(e.GetComment().GetBody())
	if state := e.GetIssue().GetState(); state != "open" && len(cmds) == 0 {
		return nil, "pull request is " + state, nil
	}
	if len(cmds) == 0 {
		return nil, "no tekbot command", nil
	}
	// The signed created_at dates the comment: an old one is a replay, or
	// a redelivery of something long past, and is not acted on again.
	if why := r.stale("comment", repo, e.GetComment().GetID(), e.GetComment().GetCreatedAt().Time, r.Config.GitHub.MaxCommentAge()); why != "" {
		return nil, why, nil
	}
	return &delivery{
		key:  fmt.Sprintf("github-comment/%s/%d/created", repo, e.GetComment().GetID()),
		repo: repo, number: e.GetIssue().GetNumber(), commentID: e.GetComment().GetID(), login: login,
		member:   slices.Contains([]string{"OWNER", "MEMBER", "COLLABORATOR"}, e.GetComment().GetAuthorAssociation()),
		commands: cmds, ignored: ignored,
	}, "", nil
}

func (r *Receiver) isBot(u *gh.User) bool {
	login := u.GetLogin()
	return u.GetType() == "Bot" || strings.HasSuffix(login, "[bot]") || slices.Contains(r.Config.GitHub.Bots, login)
}

func (r *Receiver) personByGitHub(login string) *config.Person {
	for i := range r.Config.People {
		if strings.EqualFold(r.Config.People[i].GitHub, login) {
			return &r.Config.People[i]
		}
	}
	return nil
}

// idempotent reports whether every command of d is idempotent, so that
// the delivery may run beside its claim: a /retest then costs the rerun's
// Create, not a claim's write before it.
func (r *Receiver) idempotent(d *delivery) bool {
	for _, c := range d.commands {
		if s := r.Registry.Lookup(c.Verb); s == nil || !s.Idempotent {
			return false
		}
	}
	return true
}

// needsTrust reports whether a command of d may ask whether its sender
// has write access or is in a trusted team, so that the question is asked
// beside the PR read.
func (r *Receiver) needsTrust(d *delivery) bool {
	for _, c := range d.commands {
		s := r.Registry.Lookup(c.Verb)
		if s == nil || s.ReadOnly {
			continue
		}
		for _, role := range r.Bot.Policy.Roles(s) {
			if role == config.RoleRepoWriters || role == config.RoleTrustedAuthors {
				return true
			}
		}
	}
	return false
}

// process runs a delivery's commands and posts one reply once across
// replicas, redeliveries and replays: the intake has claimed what the
// delivery acts on, or, when claim is not nil, decides that beside the
// commands, which are then idempotent, and only the claim's winner
// replies. It reports whether nothing could be done because of a failure
// on our side, so that a redelivery is handled again.
func (r *Receiver) process(ctx context.Context, log *slog.Logger, d *delivery, claim *bot.Claim) (retry bool) {
	if d.closed != nil {
		return r.processClosed(ctx, log, d, claim)
	}
	if d.changed != nil {
		return r.processChanged(ctx, log, d, claim)
	}
	person := r.personByGitHub(d.login)
	// 👀 says "seen" at once to the repository's people; strangers get no
	// acknowledgement before their permission is known. The commands do
	// not wait for it; the reply does, so that 👀 comes first.
	var reacted sync.WaitGroup
	defer reacted.Wait()
	if d.commentID != 0 && (d.member || person != nil) {
		reacted.Go(func() {
			if err := r.API.React(ctx, d.repo, d.commentID, "eyes"); err != nil {
				log.Warn("reacting failed", "err", err)
			}
		})
	}
	repo := r.Config.Repository(d.repo)
	var early *trust
	if r.needsTrust(d) {
		early = lookUpTrust(ctx, r.API, repo, d.login)
	}
	if d.number == 0 && !r.findPullRequest(ctx, log, d) {
		return false
	}
	pr, err := r.API.Get(ctx, d.repo, d.number)
	if err == nil && d.sha != "" {
		pr.HeadSHA = d.sha
	}
	if err != nil {
		log.Error("reading pull request failed", "err", err)
		if claim != nil && !claim.Won() {
			return true
		}
		reacted.Wait()
		r.reply(ctx, log, d, fmt.Sprintf("@%s tekbot could not read this pull request: %s, so nothing was done. Please try again. (request %s)",
			d.login, bot.Explain("GitHub", err), bot.ShortID(d.id)))
		return true
	}
	caller := bot.Caller{
		Transport: bot.GitHub,
		ID:        d.login,
		Person:    person,
		Vouch:     &Vouch{Permissions: r.API, Approvals: r.Approvals, Repo: repo, Login: d.login, PR: pr, early: early},
	}
	var parts []string
	allFailed, allDenied := true, true
	replies := r.Bot.RunAll(ctx, &bot.Request{ID: d.id, Key: d.key, Caller: caller, PullRequest: pr, Claim: claim}, d.commands)
	for i, reply := range replies {
		cmd := d.commands[i]
		if reply.Outcome != bot.Failed {
			allFailed = false
		}
		if reply.Outcome != bot.Denied {
			allDenied = false
		}
		if reply.Text == "" {
			continue
		}
		if len(d.commands) > 1 {
			parts = append(parts, fmt.Sprintf("**/%s**\n%s", bot.UserText(cmd.String()), reply.Text))
		} else {
			parts = append(parts, reply.Text)
		}
	}
	if claim != nil && !claim.Won() {
		log.Info("delivery handled by another replica; not replying")
		return false
	}
	reacted.Wait()
	if allDenied && !r.mayDeny(ctx, log, d) {
		return false
	}
	if d.ignored > 0 {
		parts = append(parts, bot.IgnoredCommands(d.ignored))
	}
	if len(parts) > 0 {
		r.reply(ctx, log, d, fmt.Sprintf("@%s\n\n%s", d.login, strings.Join(parts, "\n\n")))
	}
	return allFailed
}

// mayDeny reports whether a denial may be posted now: one per person per PR
// per deniedEvery, across replicas, so that a stranger's denial never
// swallows the one the PR's author needs ("ask for /ok-to-test"). A button
// press is never answered with a denial: nobody wrote anything to answer.
func (r *Receiver) mayDeny(ctx context.Context, log *slog.Logger, d *delivery) bool {
	if d.commentID == 0 {
		log.Info("re-run button pressed by someone who may not re-run; not answered", "login", d.login, "pr", d.number)
		return false
	}
	if r.Denials == nil {
		return true
	}
	key := fmt.Sprintf("github-denial/%s#%d/%s", d.repo, d.number, strings.ToLower(d.login))
	ok, err := r.Denials.ClaimEvery(ctx, key, deniedEvery, r.now())
	if err != nil {
		log.Warn("could not check when this person was last sent a denial here; not sending one", "err", err)
		return false
	}
	if !ok {
		log.Info("denial not posted: this person had one on this PR within the last ten minutes", "login", d.login)
	}
	return ok
}

// maxCommentChars is GitHub's limit on a comment body: a reply echoing a
// huge argument must still be posted, clipped.
const maxCommentChars = 65536

func (r *Receiver) reply(ctx context.Context, log *slog.Logger, d *delivery, body string) {
	if len(body) > maxCommentChars-100 {
		body = strings.ToValidUTF8(body[:maxCommentChars-100], "") + "\n\n… (reply clipped)"
	}
	ctx, cancel := bot.Afterwards(ctx)
	defer cancel()
	if err := r.API.Comment(ctx, d.repo, d.number, body); err != nil {
		log.Error("posting reply failed", "err", err)
	}
}
