package promotion

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"tekbot/state"
)

// State is where a promotion is in its life.
type State string

// The states of a promotion. The first three wait for a person.
const (
	Asked            State = "asked"             // for its requester's confirmation
	Offered          State = "offered"           // a rollback, for anyone who may promote
	AwaitingApproval State = "awaiting approval" // for a second person (two-person rule)
	Running          State = "running"
	Succeeded        State = "succeeded"
	Failed           State = "failed"
	// After a successful deploy to an environment that verifies: the
	// check runs, then passes or fails; a failed one may be rolled back.
	Verifying          State = "verifying"
	Verified           State = "verified"
	FailedVerification State = "failed verification"
	RolledBack         State = "rolled back"
)

// Done reports whether the promotion has ended.
func (s State) Done() bool {
	return s == Succeeded || s == Failed || s == Verified || s == FailedVerification || s == RolledBack
}

// inFlight: the environment is busy with it (deploying or checking).
func (s State) inFlight() bool { return s == Running || s == Verifying }

func (s State) waiting() bool { return s == Asked || s == Offered || s == AwaitingApproval }

// Promotion is one promotion of a project's version to an environment,
// from the request to its result: the audit trail of a deploy.
type Promotion struct {
	// ID is the request that asked for it; it names what it creates.
	ID          string `json:"id"`
	Project     string `json:"project"`
	Environment string `json:"environment"`
	Version     string `json:"version"`
	// From is what the environment ran, as recorded, when it was checked.
	From     string `json:"from,omitempty"`
	Rollback bool   `json:"rollback,omitempty"`
	State    State  `json:"state"`
	// RequestedBy and ApprovedBy are config names of people.
	RequestedBy string    `json:"requestedBy,omitempty"`
	ApprovedBy  string    `json:"approvedBy,omitempty"`
	Evidence    []string  `json:"evidence,omitempty"`
	Asked       time.Time `json:"asked"`
	Started     time.Time `json:"started,omitzero"`
	Finished    time.Time `json:"finished,omitzero"`
	// Result says how it ended, or why it failed.
	Result string `json:"result,omitempty"`
	// The deploy PipelineRun (pipelinerun strategy).
	Cluster     string `json:"cluster,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	PipelineRun string `json:"pipelineRun,omitempty"`
	// The pull request (gitops strategy).
	Repository  string `json:"repository,omitempty"`
	Branch      string `json:"branch,omitempty"`
	PullRequest int    `json:"pullRequest,omitempty"`
	// URL links to the PipelineRun in the dashboard, or to the PR.
	URL string `json:"url,omitempty"`
	// Provenance: what proves that what tekbot finds is what it made.
	// Nonce is random and recorded before anything is created; the
	// names of the deploy run, the verification runs and the branch
	// derive from it, so nobody can create them first. Commit is the
	// commit tekbot wrote on Branch, the only head it merges, into Base.
	Nonce  string `json:"nonce,omitempty"`
	Commit string `json:"commit,omitempty"`
	Base   string `json:"base,omitempty"`
	// Thread is where its progress is posted.
	Thread Thread `json:"thread,omitzero"`
	// Steps are what happened after the deploy started, oldest first:
	// promoted → failed verification → rolled back, say.
	Steps []Step `json:"steps,omitempty"`
	// VerifyBy is the verification's deadline; Verification its
	// evidence, or why it failed.
	VerifyBy     time.Time `json:"verifyBy,omitzero"`
	Verification []string  `json:"verification,omitempty"`
	// RollbackOf is the promotion a rollback undoes.
	RollbackOf string `json:"rollbackOf,omitempty"`
	// Skipped says why newer nightlies were passed over when "nightly"
	// was resolved.
	Skipped []string `json:"skipped,omitempty"`
	// Image is the nightly image checked and deployed, by digest.
	Image *Image `json:"image,omitempty"`
}

// Step is one thing that happened to a promotion: stepPromoted, or the
// name of a State it entered.
type Step struct {
	What string    `json:"what"`
	At   time.Time `json:"at"`
	Note string    `json:"note,omitempty"`
}

// stepPromoted: the deploy succeeded.
const stepPromoted = "promoted"

func (p *Promotion) step(what string, at time.Time, note string) {
	p.Steps = append(p.Steps, Step{What: what, At: at, Note: note})
}

// History is the promotion's steps in short: "promoted → verified".
// madeBeforeNonces: p was started by a tekbot from before nonces, which
// named its runs and branch from p's ID alone and recorded no commit of
// its own. Since then a nonce is drawn before anything is created, so a
// started promotion without one is such an old record.
func (p *Promotion) madeBeforeNonces() bool { return p.Nonce == "" && !p.Started.IsZero() }

func (p *Promotion) History() string {
	names := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		names[i] = s.What
	}
	return strings.Join(names, " → ")
}

// Target names what the promotion created, for audit: cluster/ns/name or
// owner/repo#number.
func (p *Promotion) Target() string {
	switch {
	case p.PipelineRun != "":
		return p.Cluster + "/" + p.Namespace + "/" + p.PipelineRun
	case p.PullRequest != 0:
		return fmt.Sprintf("%s#%d", p.Repository, p.PullRequest)
	}
	return ""
}

// Link renders what the promotion created as a Markdown link.
func (p *Promotion) Link() string {
	name := p.PipelineRun
	if p.PullRequest != 0 {
		name = fmt.Sprintf("%s#%d", p.Repository, p.PullRequest)
	}
	switch {
	case name == "":
		return "nothing created yet"
	case p.URL == "":
		return "`" + name + "`"
	}
	return fmt.Sprintf("[%s](%s)", name, p.URL)
}

// Change is the promotion in short: "`from` → `to`".
func (p *Promotion) Change() string {
	return fmt.Sprintf("`%s` → `%s`", orNone(p.From), p.Version)
}

// Args are the command that promotes this version again: an approval or
// a rollback button runs it.
func (p *Promotion) Args() []string {
	return []string{p.Project, p.Version, "to", p.Environment}
}

// Deployed is what runs in an environment, as the last successful
// promotion left it.
type Deployed struct {
	Version   string    `json:"version"`
	By        string    `json:"by"`
	At        time.Time `json:"at"`
	Promotion string    `json:"promotion"`
	URL       string    `json:"url,omitempty"`
	// Before lists the versions that ran here earlier, newest first: a
	// rollback to one of them needs no new evidence.
	Before []string `json:"before,omitempty"`
	// Verified is the last version that passed the environment's
	// verification: where an automatic rollback goes.
	Verified string `json:"verified,omitempty"`
	// Images are the images, by digest, that Version, Before and
	// Verified ran as (nightlies from an image repository): a rollback,
	// which skips the release checks, deploys that very image again. They
	// are kept here because promotions are pruned long before Before is.
	Images map[string]Image `json:"images,omitempty"`
}

// Book is the whole record: what runs where, and recent promotions.
type Book struct {
	// Production maps "project/environment" to what runs there.
	Production map[string]*Deployed `json:"production"`
	// Promotions, newest first.
	Promotions []*Promotion `json:"promotions"`
}

// Limits that keep the record well inside a ConfigMap's 1 MiB.
const (
	keepPromotions = 100
	keepBefore     = 20
	// waitFor is how long a promotion waits for a confirmation or an
	// approval; after that it is forgotten and must be asked again.
	waitFor = 24 * time.Hour
)

func deployedKey(project, env string) string { return project + "/" + env }

// Deployed returns what runs in env, or nil if nothing was promoted there.
func (b *Book) Deployed(project, env string) *Deployed {
	return b.Production[deployedKey(project, env)]
}

// wasLive reports whether version ran in env before (or runs there now).
func (b *Book) wasLive(project, env, version string) bool {
	d := b.Deployed(project, env)
	return d != nil && (d.Version == version || slices.Contains(d.Before, version))
}

// find returns the promotion with that ID.
func (b *Book) find(id string) *Promotion {
	for _, p := range b.Promotions {
		if p.ID == id {
			return p
		}
	}
	return nil
}

// ApprovalID is the request ID of the Approve button of promotion id.
func ApprovalID(id string) string { return id + "+approve" }

// rollbackID is the ID of the rollback offered when promotion id fails.
func rollbackID(id string) string { return id + "+rollback" }

// forRequest finds the promotion a confirmed request is about; approval
// reports that the request is the Approve button's.
func (b *Book) forRequest(requestID string) (p *Promotion, approval bool) {
	for _, p := range b.Promotions {
		switch requestID {
		case p.ID:
			return p, false
		case ApprovalID(p.ID):
			return p, true
		}
	}
	return nil, false
}

// running lists the promotions of project to env under way: deploying
// or verifying.
func (b *Book) running(project, env string) []*Promotion {
	var out []*Promotion
	for _, p := range b.Promotions {
		if p.State.inFlight() && p.Project == project && p.Environment == env {
			out = append(out, p)
		}
	}
	return out
}

// put records p, replacing the promotion with its ID.
func (b *Book) put(p *Promotion) {
	b.Promotions = slices.DeleteFunc(b.Promotions, func(o *Promotion) bool { return o.ID == p.ID })
	b.Promotions = append([]*Promotion{p}, b.Promotions...)
}

// deployed records that p's version now runs in its environment.
func (b *Book) deployed(p *Promotion, at time.Time) {
	k := deployedKey(p.Project, p.Environment)
	d := &Deployed{Version: p.Version, By: p.RequestedBy, At: at, Promotion: p.ID, URL: p.URL}
	if old := b.Production[k]; old != nil {
		d.Verified = old.Verified
		d.Before = slices.DeleteFunc(append([]string{old.Version}, old.Before...), func(v string) bool { return v == p.Version })
		d.Before = d.Before[:min(len(d.Before), keepBefore)]
		for v, img := range old.Images {
			if v == d.Verified || slices.Contains(d.Before, v) {
				d.keepImage(v, img)
			}
		}
	}
	if p.Image != nil {
		d.keepImage(p.Version, *p.Image)
	}
	b.Production[k] = d
}

func (d *Deployed) keepImage(version string, img Image) {
	if d.Images == nil {
		d.Images = map[string]Image{}
	}
	d.Images[version] = img
}

// prune forgets what waited too long and the oldest finished promotions.
// A running promotion is never dropped: it is someone's deploy.
func (b *Book) prune(now time.Time) {
	b.Promotions = slices.DeleteFunc(b.Promotions, func(p *Promotion) bool {
		return p.State.waiting() && now.Sub(p.Asked) > waitFor
	})
	kept := 0
	b.Promotions = slices.DeleteFunc(b.Promotions, func(p *Promotion) bool {
		if p.State.inFlight() {
			return false
		}
		kept++
		return kept > keepPromotions
	})
}

// Record keeps the Book in a ConfigMap in tekbot's state namespace, so
// replicas share it and it outlives them. Writers use optimistic
// concurrency on resourceVersion, so two replicas starting promotions at
// once cannot both pass the in-flight check.
type Record struct {
	ConfigMaps state.ConfigMaps
}

const (
	recordName = "tekbot-promotions"
	recordKey  = "promotions.json"
)

func (r *Record) doc() *state.Doc[*Book] {
	return &state.Doc[*Book]{ConfigMaps: r.ConfigMaps, Name: recordName, Decode: decodeBook, Encode: encodeBook}
}

// Read returns the Book; it is empty before the first promotion.
func (r *Record) Read(ctx context.Context) (*Book, error) {
	b, err := r.doc().Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the promotion record: %w", err)
	}
	return b, nil
}

// Promoted maps "project/environment" to the version tekbot last
// promoted there, to compare with what the clusters report.
func (r *Record) Promoted(ctx context.Context) (map[string]string, error) {
	b, err := r.Read(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(b.Production))
	for k, d := range b.Production {
		out[k] = d.Version
	}
	return out, nil
}

func decodeBook(cm *corev1.ConfigMap) (*Book, error) {
	b := &Book{Production: map[string]*Deployed{}}
	if cm == nil || cm.Data[recordKey] == "" {
		return b, nil
	}
	if err := json.Unmarshal([]byte(cm.Data[recordKey]), b); err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %s: %w", cm.Namespace, cm.Name, recordKey, err)
	}
	if b.Production == nil {
		b.Production = map[string]*Deployed{}
	}
	return b, nil
}

func encodeBook(b *Book, cm *corev1.ConfigMap) error {
	raw, err := json.MarshalIndent(b, "", " ")
	if err != nil {
		return err
	}
	cm.Data = map[string]string{recordKey: string(raw)}
	return nil
}

// Update applies change to the Book and saves it, running change again
// on fresh data when another writer got there first. An error from change
// (e.g. a Refusal) leaves the record as it was.
func (r *Record) Update(ctx context.Context, now time.Time, change func(*Book) error) error {
	_, err := r.doc().Update(ctx, func(b **Book) error {
		if err := change(*b); err != nil {
			return err
		}
		(*b).prune(now)
		return nil
	})
	return err
}
