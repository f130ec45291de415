package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/fake"
	"tekbot/test/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// world is a nightly and a production cluster and a bot over them. Their
// PipelineRuns are in memory (fake.Clusters, the short tier) unless a test
// needs what only a real apiserver has (newLiveWorld).
type world struct {
	t              *testing.T
	runs           handlers.Runs
	fake           *fake.Clusters // nil in a live world
	nightly, prod  *kube.Cluster  // nil unless live
	nightlyNS, pNS string
	cfg            *config.Config
	rotation       handlers.RotationStore
	clusters       *tekton.Clusters // nil unless live
	now            time.Time
	bot            *bot.Bot
}

var people = []config.Person{
	{Name: "andrea", Slack: "U01ANDREA"}, {Name: "vincent", Slack: "U01VINCENT"},
	{Name: "jerop", Slack: "U01JEROP"}, {Name: "dibyo", Slack: "U01DIBYO"}, {Name: "sam", Slack: "U01SAM"},
}

const dashboardURL = "https://dash.example/#/namespaces/{{.Namespace}}/pipelineruns/{{.Name}}"

// newWorld is a world whose clusters are in memory.
func newWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	w := &world{t: t, nightlyNS: "ci", pNS: "dogfooding-ci", now: now, rotation: &state.RotationState{ConfigMaps: fake.NewConfigMaps("tekbot")}}
	w.configure()
	w.fake = fake.NewClusters("nightly", "dogfooding")
	w.fake.URLFor = func(_, namespace, name string) string {
		return "https://dash.example/#/namespaces/" + namespace + "/pipelineruns/" + name
	}
	w.runs = w.fake
	w.build(nil)
	return w
}

// newLiveWorld is a world on two real apiservers, one namespace each, for
// what goes past the ports: ConfigMap stores and promotion's clients.
func newLiveWorld(t *testing.T, now time.Time) *world {
	t.Helper()
	w := &world{t: t, nightly: kube.Shared(t, "nightly"), prod: kube.Shared(t, "production"), now: now}
	w.nightlyNS, w.pNS = w.nightly.Namespace(t), w.prod.Namespace(t)
	w.rotation = &state.RotationState{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
	w.configure()
	dash := &config.Dashboard{PipelineRunURL: dashboardURL}
	var cs []*tekton.Cluster
	for i, kc := range []*kube.Cluster{w.nightly, w.prod} {
		c, err := tekton.NewCluster(w.cfg.Clusters[i], dash, kc.REST)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, c)
	}
	w.clusters = tekton.NewClusters(cs...)
	w.runs = w.clusters
	w.build(nil)
	return w
}

func (w *world) configure() {
	w.cfg = &config.Config{
		Clusters: []config.Cluster{
			{Name: "nightly", Role: config.RoleNightly, Namespace: w.nightlyNS},
			{Name: "dogfooding", Role: config.RoleProduction, Namespace: w.pNS},
		},
		People: people,
		Rotation: config.Rotation{
			TimeZone: "Europe/Rome", Handoff: "09:00", WorkingDays: config.DefaultWorkingDays,
			Start: "2026-11-02", StartPerson: "andrea", Roster: []string{"andrea", "vincent", "jerop", "dibyo"},
			Holidays: []string{"2026-12-25"},
		},
		Policy: config.Policy{Roles: map[string][]string{"maintainers": {"andrea", "vincent", "jerop", "dibyo"}}},
	}
}

// build gives the world a bot over its clusters, with more dependencies
// set by with.
func (w *world) build(with func(*handlers.Deps)) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	policy := bot.NewPolicy(w.cfg.Policy)
	deps := &handlers.Deps{
		Config: w.cfg, Runs: w.runs, Clusters: w.clusters, Policy: policy, Log: log, Rotation: w.rotation,
		Now: func() time.Time { return w.now },
	}
	if with != nil {
		with(deps)
	}
	w.bot = &bot.Bot{Registry: handlers.NewRegistry(deps), Policy: policy, Log: log}
}

// create adds a run to an in-memory cluster in state, as the controller
// would leave it.
func (w *world) create(cluster string, pr *pipelinev1.PipelineRun, st kube.RunState) {
	w.t.Helper()
	ctx := context.Background()
	made, created, err := w.fake.CreateOnce(ctx, cluster, pr)
	if err != nil || !created {
		w.t.Fatalf("creating %s: created %v, %v", pr.Name, created, err)
	}
	if _, err := w.fake.SetState(ctx, cluster, made.Namespace, made.Name, st); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) seed(cluster, ns, name, pipeline string, st kube.RunState) {
	w.t.Helper()
	w.create(cluster, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"tekton.dev/pipeline": pipeline}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: pipeline}},
	}, st)
}

// list is the runs a selector matches in an in-memory cluster.
func (w *world) list(cluster, ns, selector string) []pipelinev1.PipelineRun {
	w.t.Helper()
	runs, err := w.fake.Matching(context.Background(), cluster, ns, selector)
	if err != nil {
		w.t.Fatal(err)
	}
	return runs
}

func (w *world) count(cluster, ns string) int {
	w.t.Helper()
	return len(w.list(cluster, ns, ""))
}

func (w *world) slack(person, text string, confirmed bool, id string) bot.Reply {
	w.t.Helper()
	cmd, ok := w.bot.Registry.ParseSlack(text)
	if !ok {
		w.t.Fatalf("no command in %q", text)
	}
	var p *config.Person
	for i := range w.cfg.People {
		if w.cfg.People[i].Name == person {
			p = &w.cfg.People[i]
		}
	}
	caller := bot.Caller{Transport: bot.Slack, ID: "U0" + strings.ToUpper(person)}
	if p != nil {
		caller = bot.Caller{Transport: bot.Slack, ID: p.Slack, Person: p}
	}
	return w.bot.Run(context.Background(), &bot.Request{ID: id, Command: cmd, Caller: caller, Confirmed: confirmed})
}

var monday = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func TestRerun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday)
	w.seed("nightly", w.nightlyNS, "triggers-release-nightly-20261123", "triggers-release", kube.Failed)
	w.seed("dogfooding", w.pNS, "deploy-pipeline-7", "deploy", kube.Failed)
	// Production reruns only PR runs and what its config allows.
	w.cfg.Clusters[1].Rerunnable = []config.Rerunnable{{Namespace: w.pNS, Pipelines: []string{"deploy"}}}
	dashURL := "https://dash.example/#/namespaces/" + w.nightlyNS + "/pipelineruns/triggers-release-nightly-20261123"

	tests := []struct {
		name      string
		person    string
		text      string
		confirmed bool
		outcome   bot.Outcome
		contains  string
		created   int // new runs on nightly + production
	}{
		{"by name on the nightly cluster", "andrea", "rerun triggers-release-nightly-20261123", false, bot.Done, "reran nightly/", 1},
		// Reruns are named after the run they retry: asking again for the
		// same run finds andrea's rerun.
		{"by dashboard URL", "vincent", "rerun <" + dashURL + "|link>", false, bot.Noop, "already rerun by andrea", 0},
		{"by namespace/name on a named cluster", "jerop", "rerun " + w.nightlyNS + "/triggers-release-nightly-20261123 on nightly", false, bot.Noop, "already rerun by andrea", 0},
		{"production asks first", "andrea", "rerun deploy-pipeline-7", false, bot.Pending, "production cluster", 0},
		{"production after the confirm", "andrea", "rerun deploy-pipeline-7", true, bot.Done, "reran dogfooding/", 1},
		{"not found", "andrea", "rerun no-such-run", false, bot.Refused, "No PipelineRun", 0},
		{"unknown cluster", "andrea", "rerun x on prd", false, bot.Refused, "Unknown cluster prd", 0},
		{"injection refused", "andrea", "rerun x;rm${IFS}-rf", false, bot.Refused, "is not a PipelineRun name", 0},
		{"bad arguments", "andrea", "rerun a b", false, bot.Refused, "Usage", 0},
		{"not a maintainer", "sam", "rerun triggers-release-nightly-20261123", false, bot.Denied, "maintainers (andrea, vincent, jerop, dibyo)", 0},
		{"stranger", "mallory", "rerun triggers-release-nightly-20261123", false, bot.Denied, "may not run", 0},
	}
	for i, tt := range tests {
		before := w.count("nightly", w.nightlyNS) + w.count("dogfooding", w.pNS)
		reply := w.slack(tt.person, tt.text, tt.confirmed, "req-"+string(rune('a'+i)))
		after := w.count("nightly", w.nightlyNS) + w.count("dogfooding", w.pNS)
		if reply.Outcome != tt.outcome || !strings.Contains(reply.Text, tt.contains) || after-before != tt.created {
			t.Errorf("%s: %s %q, %d created; want %s containing %q, %d created", tt.name, reply.Outcome, reply.Text, after-before, tt.outcome, tt.contains, tt.created)
		}
		if tt.outcome == bot.Pending && reply.Confirm == nil {
			t.Errorf("%s: no confirm dialog", tt.name)
		}
	}
	// The same confirmed request again (a double click, a Slack retry) finds
	// the run it created and creates nothing.
	before := w.count("dogfooding", w.pNS)
	if r := w.slack("andrea", "rerun deploy-pipeline-7", true, "req-e"); r.Outcome != bot.Noop || !strings.Contains(r.Text, "already rerun for this request") {
		t.Errorf("repeat: %s %q", r.Outcome, r.Text)
	}
	if w.count("dogfooding", w.pNS) != before {
		t.Error("a repeated request created a second PipelineRun")
	}
}

func TestStatusListsFailuresFirst(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday)
	w.seed("nightly", w.nightlyNS, "pipeline-release-nightly-1", "pipeline-release", kube.Succeeded)
	w.seed("nightly", w.nightlyNS, "triggers-release-nightly-1", "triggers-release", kube.Failed)
	w.seed("nightly", w.nightlyNS, "triggers-release-nightly-2", "triggers-release", kube.Succeeded)
	w.seed("nightly", w.nightlyNS, "dashboard-release-nightly-2", "dashboard-release", kube.Failed)
	reply := w.slack("sam", "status", false, "s1")
	if reply.Outcome != bot.Noop {
		t.Fatalf("status: %s %s", reply.Outcome, reply.Text)
	}
	text := reply.Text
	if !strings.Contains(text, "3 pipelines, 1 failing") || strings.Index(text, "dashboard-release") > strings.Index(text, "pipeline-release") {
		t.Errorf("want the failing dashboard first and triggers' newer success counted:\n%s", text)
	}
	if r := w.slack("sam", "status triggers", false, "s2"); !strings.Contains(r.Text, "1 pipelines, 0 failing") {
		t.Errorf("status triggers:\n%s", r.Text)
	}
}

func TestCaptain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		now  time.Time
		text string
		want []string
	}{
		// 2026-11-23 is the 16th duty day (index 15 → dibyo).
		{"after the handoff", time.Date(2026, 11, 23, 8, 30, 0, 0, time.UTC), "captain", []string{"dibyo (<@U01DIBYO>)", "Next: andrea"}},
		// 08:30 Rome on Tuesday is before the handoff: Monday's captain.
		{"before the handoff", time.Date(2026, 11, 24, 7, 30, 0, 0, time.UTC), "who", []string{"dibyo", "duty of 2026-11-23"}},
		// A duty runs handoff to handoff, so Monday 08:30 is still Sunday's.
		{"weekend until Monday's handoff", time.Date(2026, 11, 23, 7, 30, 0, 0, time.UTC), "who", []string{"Nobody is build captain", "Next: dibyo"}},
		{"the old bot's phrasing", monday, "who is the build captain ?", []string{"dibyo"}},
		{"next", monday, "captain next 2", []string{"2026-11-23: dibyo", "2026-11-24: andrea"}},
		{"schedule skips the holiday", time.Date(2026, 12, 24, 12, 0, 0, 0, time.UTC), "captain schedule 1", []string{"2026-12-25: — (holiday)", "2026-12-28: dibyo"}},
		{"bad count", monday, "captain next 0", []string{"Usage: `captain next [N]`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, tt.now)
			reply := w.slack("sam", tt.text, false, "c")
			for _, s := range tt.want {
				if !strings.Contains(reply.Text, s) {
					t.Errorf("%q: reply lacks %q:\n%s", tt.text, s, reply.Text)
				}
			}
		})
	}
}

func TestHelpShowsOnlyWhatTheCallerMayRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday)
	if r := w.slack("andrea", "help", false, "h1"); !strings.Contains(r.Text, "/tekton rerun") {
		t.Errorf("a maintainer's help lacks rerun:\n%s", r.Text)
	}
	r := w.slack("sam", "help", false, "h2")
	if strings.Contains(r.Text, "/tekton rerun") || !strings.Contains(r.Text, "/tekton status") {
		t.Errorf("sam's help should list status but not rerun:\n%s", r.Text)
	}
	if r := w.slack("sam", "rerunn x", false, "h3"); r.Outcome != bot.Refused || !strings.Contains(r.Text, "Did you mean `rerun") {
		t.Errorf("typo: %s", r.Text)
	}
}

// TestCaptainChanges: days off, covers and swaps change who is on duty and
// are kept in the cluster; swaps wait for the other person.
func TestCaptainChanges(t *testing.T) {
	t.Parallel()
	// Mon 23 Nov 2026, 10:00 UTC: dibyo today; then andrea, vincent, jerop.
	w := newWorld(t, monday)
	steps := []struct {
		person, text string
		confirmed    bool
		outcome      bot.Outcome
		contains     string
	}{
		{"sam", "captain off 2026-11-24", false, bot.Denied, "maintainers (andrea, vincent, jerop, dibyo)"},
		{"andrea", "captain off 2026-11-20", false, bot.Refused, "from today on"},
		{"andrea", "captain off 2026-11-24", false, bot.Done, "day off"},
		// The day off takes no turn: andrea is on duty on Wednesday.
		{"sam", "captain next 2", false, bot.Noop, "2026-11-25: andrea"},
		{"vincent", "captain cover 2026-11-25", false, bot.Done, "instead of andrea"},
		{"sam", "captain schedule 1", false, bot.Noop, "2026-11-25: vincent (<@U01VINCENT>) (override)"},
		{"mallory", "captain cover", false, bot.Denied, "Only people configured"},
		// jerop (Fri 27) asks dibyo (Mon 23, today) to swap; dibyo's click
		// runs the accept, as dibyo. Typed by hand it is refused.
		{"jerop", "captain swap <@U01DIBYO>", false, bot.Pending, "swap"},
		{"sam", "captain next 1", false, bot.Noop, "2026-11-23: dibyo"},
		{"dibyo", "captain accept-swap jerop 2026-11-27 2026-11-23", false, bot.Refused, "confirms with the button"},
		{"sam", "captain accept-swap jerop 2026-11-27 2026-11-23", true, bot.Refused, "no longer matches"},
		{"dibyo", "captain accept-swap jerop 2026-11-27 2026-11-23", true, bot.Done, "Swapped"},
		{"sam", "captain next 5", false, bot.Noop, "2026-11-23: jerop"},
		{"sam", "captain next 5", false, bot.Noop, "dibyo (<@U01DIBYO>) (override)"},
		{"jerop", "captain swap <@U01JEROP>", false, bot.Refused, "not someone else"},
	}
	for i, st := range steps {
		r := w.slack(st.person, st.text, st.confirmed, fmt.Sprint("cc-", i))
		if r.Outcome != st.outcome || !strings.Contains(r.Text, st.contains) {
			t.Fatalf("step %d, %s: %q → %s %q; want %s containing %q", i, st.person, st.text, r.Outcome, r.Text, st.outcome, st.contains)
		}
		if st.outcome == bot.Pending && (r.Confirm == nil || len(r.Confirm.Approvers) != 1 || r.Confirm.Approvers[0] != "dibyo" ||
			r.Confirm.Command == nil || r.Confirm.Command.String() != "captain accept-swap jerop 2026-11-27 2026-11-23") {
			t.Fatalf("step %d: the swap must wait for dibyo: %+v", i, r.Confirm)
		}
	}
}

// TestPagePolicy: who may page and ack is decided before the pager is used
// (the pager itself is tested in captain/paging).
func TestPagePolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday)
	for _, tt := range []struct {
		person, text string
		outcome      bot.Outcome
		contains     string
	}{
		{"sam", "page nightly is red", bot.Denied, "may not page"},
		{"jerop", "page urgent prod is down", bot.Failed, "not configured"},
		{"mallory", "page ack", bot.Denied, "Only people configured"},
		{"sam", "page ack abc", bot.Failed, "not configured"},
	} {
		if r := w.slack(tt.person, tt.text, false, "p-"+tt.person); r.Outcome != tt.outcome || !strings.Contains(r.Text, tt.contains) {
			t.Errorf("%s: %q → %s %q, want %s containing %q", tt.person, tt.text, r.Outcome, r.Text, tt.outcome, tt.contains)
		}
	}
}
