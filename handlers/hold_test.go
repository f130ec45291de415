package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/state"
)

// holdStore is state.Holds in memory.
type holdStore struct {
	mu    sync.Mutex
	holds map[string]state.Hold
}

func holdKey(repo string, n int) string { return fmt.Sprintf("%s#%d", strings.ToLower(repo), n) }

func (s *holdStore) Get(_ context.Context, repo string, n int) (*state.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if h, ok := s.holds[holdKey(repo, n)]; ok {
		return &h, nil
	}
	return nil, nil
}

func (s *holdStore) Put(_ context.Context, h state.Hold) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.holds[holdKey(h.Repository, h.Number)] = h
	return nil
}

func (s *holdStore) Delete(_ context.Context, repo string, n int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.holds, holdKey(repo, n))
	return nil
}

func (s *holdStore) List(context.Context) ([]state.Hold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []state.Hold
	for _, h := range s.holds {
		out = append(out, h)
	}
	return out, nil
}

// holdGitHub records what /hold does on GitHub.
type holdGitHub struct {
	mu       sync.Mutex
	pr       bot.PullRequest
	labels   []string
	checks   map[string]bot.Check // the latest tekbot/hold per commit
	comments []string
}

func (g *holdGitHub) Get(context.Context, string, int) (*bot.PullRequest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	pr := g.pr
	return &pr, nil
}

func (g *holdGitHub) AddLabel(_ context.Context, _ string, _ int, label string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.Contains(g.labels, label) {
		g.labels = append(g.labels, label)
	}
	return nil
}

func (g *holdGitHub) RemoveLabel(_ context.Context, _ string, _ int, label string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.labels = slices.DeleteFunc(g.labels, func(l string) bool { return l == label })
	return nil
}

func (g *holdGitHub) Comment(_ context.Context, _ string, _ int, body string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.comments = append(g.comments, body)
	return nil
}

func (g *holdGitHub) PostCheck(_ context.Context, _ string, sha string, c bot.Check) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks[sha] = c
	return nil
}

func (g *holdGitHub) check(sha string) bot.Check {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.checks[sha]
}

// writer vouches for GitHub's repo-writers role.
type writer bool

func (w writer) HasRole(_ context.Context, role string) (bool, error) {
	return bool(w) && role == config.RoleRepoWriters, nil
}

type recorded struct {
	mu   sync.Mutex
	recs []bot.Record
}

func (r *recorded) Record(_ context.Context, rec bot.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
}

// holdWorld is /hold with everything it needs in memory: no apiserver.
type holdWorld struct {
	deps   *handlers.Deps
	bot    *bot.Bot
	store  *holdStore
	github *holdGitHub
	audit  *recorded
	pr     *bot.PullRequest
}

const heldHead = "4f2b9c1e5d6a7b8c9d0e1f2a3b4c5d6e7f809192"

func newHoldWorld(t *testing.T, now time.Time) *holdWorld {
	t.Helper()
	cfg := &config.Config{
		People: people,
		Rotation: config.Rotation{
			TimeZone: "Europe/Rome", Handoff: "09:00", WorkingDays: config.DefaultWorkingDays,
			Start: "2026-11-02", StartPerson: "andrea", Roster: []string{"andrea", "vincent", "jerop", "dibyo"},
		},
	}
	w := &holdWorld{store: &holdStore{holds: map[string]state.Hold{}}, audit: &recorded{}}
	w.pr = &bot.PullRequest{Repository: "tektoncd/pipeline", Number: 12, HeadSHA: heldHead, Author: "octocat", URL: "https://github.com/tektoncd/pipeline/pull/12", Open: true}
	w.github = &holdGitHub{pr: *w.pr, checks: map[string]bot.Check{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	policy := bot.NewPolicy(cfg.Policy)
	w.deps = &handlers.Deps{
		Config: cfg, Policy: policy, Log: log, Audit: w.audit,
		Holds: w.store, HoldGitHub: w.github,
		Now: func() time.Time { return now },
	}
	w.bot = &bot.Bot{Registry: handlers.NewRegistry(w.deps), Policy: policy, Audit: w.audit, Log: log}
	return w
}

// comment runs a PR comment's commands as login, who has write access or
// not and may be a configured person.
func (w *holdWorld) comment(t *testing.T, login string, canWrite bool, person string, body string) []bot.Reply {
	t.Helper()
	cmds, _ := w.bot.Registry.ParseComment(body)
	if len(cmds) == 0 {
		t.Fatalf("%q holds no command", body)
	}
	caller := bot.Caller{Transport: bot.GitHub, ID: login, Vouch: writer(canWrite)}
	for i := range people {
		if people[i].Name == person {
			caller.Person = &people[i]
		}
	}
	pr := *w.pr
	pr.Labels = slices.Clone(w.github.labels)
	return w.bot.RunAll(context.Background(), &bot.Request{ID: "req-" + login, Caller: caller, PullRequest: &pr}, cmds)
}

// TestHoldAndWhoMayUnhold: /hold puts the label and a blocking check naming
// who held and why; only the holder, a writer or the captain on duty may
// lift it, whichever of Prow's spellings they use.
func TestHoldAndWhoMayUnhold(t *testing.T) {
	t.Parallel()
	captain, err := (&config.Rotation{
		TimeZone: "Europe/Rome", Handoff: "09:00", WorkingDays: config.DefaultWorkingDays,
		Start: "2026-11-02", StartPerson: "andrea", Roster: []string{"andrea", "vincent", "jerop", "dibyo"},
	}).Schedule()
	if err != nil {
		t.Fatal(err)
	}
	onDuty := captain.At(monday).Person
	offDuty := "sam"
	tests := []struct {
		name     string
		login    string
		canWrite bool
		person   string
		body     string
		want     bot.Outcome
	}{
		{"a stranger's /unhold", "mallory", false, "", "/unhold", bot.Denied},
		{"a stranger's /hold cancel", "mallory", false, "", "/hold cancel", bot.Denied},
		{"a configured person off duty", "sam-gh", false, offDuty, "/remove-hold", bot.Denied},
		{"the holder's /unhold", "vdemeester", false, "", "/unhold", bot.Done},
		{"the holder's /hold cancel", "vdemeester", false, "", "/hold cancel", bot.Done},
		{"the holder's /remove-hold, prefixed", "VDemeester", false, "", "/tekbot remove-hold", bot.Done},
		{"a writer's /unhold", "afrittoli", true, "", "/unhold", bot.Done},
		{"the captain's /unhold", "captain-gh", false, onDuty, "/unhold", bot.Done},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newHoldWorld(t, monday)
			r := w.comment(t, "vdemeester", true, "", "/hold waiting on #12")
			if r[0].Outcome != bot.Done || !strings.Contains(r[0].Text, "@vdemeester") || !strings.Contains(r[0].Text, "waiting on #12") {
				t.Fatalf("/hold answered %+v", r[0])
			}
			held := w.github.check(heldHead)
			if held.Name != handlers.HoldCheck || held.Conclusion != "action_required" || !strings.Contains(held.Title, "@vdemeester") ||
				!strings.Contains(held.Summary, "waiting on #12") || !strings.Contains(held.Summary, "2026-11-23 10:00 UTC") || held.DetailsURL != w.pr.URL {
				t.Fatalf("the hold's check is %+v", held)
			}
			if !slices.Contains(w.github.labels, handlers.HoldLabel) {
				t.Fatalf("labels %v, want %s", w.github.labels, handlers.HoldLabel)
			}
			r = w.comment(t, tt.login, tt.canWrite, tt.person, tt.body)
			if r[0].Outcome != tt.want {
				t.Fatalf("%s answered %+v, want %s", tt.body, r[0], tt.want)
			}
			h, _ := w.store.Get(context.Background(), w.pr.Repository, w.pr.Number)
			lifted := tt.want == bot.Done
			if (h == nil) != lifted || slices.Contains(w.github.labels, handlers.HoldLabel) == lifted {
				t.Errorf("after %s: record %+v, labels %v; want lifted=%v", tt.body, h, w.github.labels, lifted)
			}
			if c := w.github.check(heldHead); (c.Conclusion == "success") != lifted {
				t.Errorf("after %s the check is %+v; want lifted=%v", tt.body, c, lifted)
			}
			if !lifted && !strings.Contains(r[0].Text, "@vdemeester") {
				t.Errorf("the denial does not say who may unhold: %q", r[0].Text)
			}
		})
	}
}

// TestHoldRefusesBadInput: a bad expiry or an essay of a reason gets the
// usage and holds nothing; unholding what is not held changes nothing.
func TestHoldRefusesBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want bot.Outcome
		says string
	}{
		{"/hold 0h", bot.Refused, "from 1h to 30d"},
		{"/hold flaky infra 90d", bot.Refused, "from 1h to 30d"},
		{"/hold " + strings.Repeat("why ", 100), bot.Refused, "under 300"},
		{"/unhold", bot.Noop, "not held"},
	}
	for _, tt := range tests {
		t.Run(tt.body[:min(len(tt.body), 20)], func(t *testing.T) {
			t.Parallel()
			w := newHoldWorld(t, monday)
			r := w.comment(t, "vdemeester", true, "", tt.body)
			if r[0].Outcome != tt.want || !strings.Contains(r[0].Text, tt.says) {
				t.Errorf("%s answered %+v, want %s saying %q", tt.body, r[0], tt.want, tt.says)
			}
			if len(w.store.holds) != 0 || len(w.github.labels) != 0 || len(w.github.checks) != 0 {
				t.Errorf("%s changed something: holds %v, labels %v, checks %v", tt.body, w.store.holds, w.github.labels, w.github.checks)
			}
		})
	}
}

// TestHoldLabelWithoutRecord: a do-not-merge/hold label tekbot did not set
// (Prow's, or by hand) has no holder: a writer may lift it, a stranger not.
func TestHoldLabelWithoutRecord(t *testing.T) {
	t.Parallel()
	for _, canWrite := range []bool{false, true} {
		w := newHoldWorld(t, monday)
		w.github.labels = []string{handlers.HoldLabel}
		r := w.comment(t, "someone", canWrite, "", "/unhold")
		want := map[bool]bot.Outcome{false: bot.Denied, true: bot.Done}[canWrite]
		if r[0].Outcome != want || slices.Contains(w.github.labels, handlers.HoldLabel) == canWrite {
			t.Errorf("writer=%v: %+v, labels %v", canWrite, r[0], w.github.labels)
		}
	}
}

// TestHoldFollowsPushes: a push to a held PR gets the blocking check on its
// new head; a push to a PR not held gets nothing.
func TestHoldFollowsPushes(t *testing.T) {
	t.Parallel()
	const newHead = "0123456789abcdef0123456789abcdef01234567"
	w := newHoldWorld(t, monday)
	pushed := *w.pr
	pushed.HeadSHA = newHead
	if err := w.deps.PullRequestPushed(context.Background(), &pushed); err != nil || len(w.github.checks) != 0 {
		t.Fatalf("a push to a PR not held: %v, checks %v", err, w.github.checks)
	}
	w.comment(t, "vdemeester", true, "", "/hold until the release is cut")
	if err := w.deps.PullRequestPushed(context.Background(), &pushed); err != nil {
		t.Fatal(err)
	}
	if c := w.github.check(newHead); c.Conclusion != "action_required" || !strings.Contains(c.Summary, "until the release is cut") {
		t.Errorf("the new head's check is %+v, want the hold", c)
	}
}

// TestHoldExpiry: a hold with an expiry reminds its holder once before it
// lapses, then lifts itself, audited, on the clock the leader passes.
func TestHoldExpiry(t *testing.T) {
	t.Parallel()
	w := newHoldWorld(t, monday)
	if r := w.comment(t, "vdemeester", true, "", "/hold let the release settle 2d"); r[0].Outcome != bot.Done || !strings.Contains(r[0].Text, "until 2026-11-25 10:00 UTC") {
		t.Fatalf("/hold 2d answered %+v", r[0])
	}
	steps := []struct {
		after    time.Duration
		comments int
		held     bool
	}{
		{time.Hour, 0, true},
		{23 * time.Hour, 0, true},
		{24 * time.Hour, 1, true}, // the reminder, a day before
		{36 * time.Hour, 1, true}, // not twice
		{48 * time.Hour, 2, false},
		{49 * time.Hour, 2, false},
	}
	ctx := context.Background()
	for _, s := range steps {
		if err := w.deps.ExpireHolds(ctx, monday.Add(s.after)); err != nil {
			t.Fatal(err)
		}
		h, _ := w.store.Get(ctx, w.pr.Repository, w.pr.Number)
		if len(w.github.comments) != s.comments || (h != nil) != s.held {
			t.Fatalf("after %s: comments %q, hold %+v; want %d comments, held=%v", s.after, w.github.comments, h, s.comments, s.held)
		}
	}
	if !strings.Contains(w.github.comments[0], "@vdemeester") || !strings.Contains(w.github.comments[0], "lapses at 2026-11-25 10:00 UTC") {
		t.Errorf("reminder: %q", w.github.comments[0])
	}
	if c := w.github.check(heldHead); c.Conclusion != "success" || slices.Contains(w.github.labels, handlers.HoldLabel) {
		t.Errorf("after the lapse: check %+v, labels %v", c, w.github.labels)
	}
	last := w.audit.recs[len(w.audit.recs)-1]
	if last.Transport != bot.Itself || last.Verb != "unhold" || !slices.Equal(last.Targets, []string{"tektoncd/pipeline#12"}) {
		t.Errorf("the lapse's audit record: %+v", last)
	}
}

// TestHoldNeedsWriteAccess: a stranger's /hold holds nothing.
func TestHoldNeedsWriteAccess(t *testing.T) {
	t.Parallel()
	w := newHoldWorld(t, monday)
	if r := w.comment(t, "mallory", false, "", "/hold forever"); r[0].Outcome != bot.Denied {
		t.Errorf("a stranger's /hold answered %+v", r[0])
	}
	if len(w.store.holds) != 0 || len(w.github.labels) != 0 || len(w.github.checks) != 0 {
		t.Errorf("a stranger's /hold changed something: %v %v %v", w.store.holds, w.github.labels, w.github.checks)
	}
}
