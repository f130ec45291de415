package handlers_test

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/lifecycle"
	"tekbot/promotion"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/transport/github"
)

// promoWorld is a world whose bot can promote: release managers andrea
// and vincent, the record in the production cluster's test namespace, a
// Notifier that records what it is asked to post, and watches that end
// with the test.
type promoWorld struct {
	*world
	deps    *handlers.Deps
	notes   *notifier
	records *records
}

// records keeps audit records in memory.
type records struct {
	mu   sync.Mutex
	list []bot.Record
}

func (r *records) Record(_ context.Context, rec bot.Record) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec)
}

// byItself lists what tekbot recorded doing on its own.
func (r *records) byItself() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, rec := range r.list {
		if rec.Transport == bot.Itself {
			out = append(out, strings.Join(rec.Args, " ")+": "+string(rec.Outcome))
		}
	}
	return out
}

func newPromoWorld(t *testing.T, gitops promotion.Repos, envs ...config.Environment) *promoWorld {
	t.Helper()
	w := &promoWorld{world: newLiveWorld(t, time.Now()), notes: &notifier{posts: make(chan post, 100)}, records: &records{}}
	w.cfg.Policy.Roles["release-managers"] = []string{"andrea", "vincent"}
	w.cfg.Policy.Roles["release-leads"] = []string{"andrea"}
	w.cfg.State = config.State{Cluster: "dogfooding", Namespace: w.pNS}
	w.cfg.Slack.Channels.Releases = "C01RELEASE"
	for i := range envs {
		if envs[i].Strategy == config.StrategyPipelineRun {
			envs[i].Cluster, envs[i].Namespace = "dogfooding", w.pNS
		}
	}
	w.cfg.Promotion.Environments = envs
	// Watches run as serve runs them: added to the process's group.
	ctx, cancel := context.WithCancel(context.Background())
	var watches lifecycle.Group
	watches.Start(ctx, nil)
	t.Cleanup(func() { cancel(); _ = watches.Wait() })
	policy := bot.NewPolicy(w.cfg.Policy)
	w.deps = &handlers.Deps{
		Config: w.cfg, Clusters: w.clusters, Policy: policy, Log: w.bot.Log,
		Notifier: w.notes, GitOps: gitops, Audit: w.records,
		Runner: &watches,
	}
	w.bot = &bot.Bot{Registry: handlers.NewRegistry(w.deps), Policy: policy, Log: w.bot.Log}
	return w
}

// dogfooding deploys with Tekton's install-tekton-release pipeline.
func dogfooding() config.Environment {
	return config.Environment{
		Name: "dogfooding", Strategy: config.StrategyPipelineRun, PipelineRef: "install-tekton-release",
		Params: map[string]string{
			"projectName": "{{.Project}}", "version": "{{.Version}}",
			"releaseBucket": "gs://tekton-releases/{{.Project}}", "environment": "{{.Environment}}",
		},
		SecretWorkspaces: map[string]string{"targetCluster": "dogfooding-kubeconfig"},
	}
}

// release seeds a nightly release run of project that released tag.
func (w *promoWorld) release(project, tag string, state kube.RunState) *pipelinev1.PipelineRun {
	w.t.Helper()
	return w.create(w.nightly, w.nightlyNS, w.releaseRun(project, tag), state)
}

// releaseRun is a release run of project that releases tag.
func (w *promoWorld) releaseRun(project, tag string) *pipelinev1.PipelineRun {
	return &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:   project + "-release-" + strings.ReplaceAll(tag, ".", "-"),
			Labels: map[string]string{promotion.PipelineLabel: project + "-release"},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: project + "-release"},
			Params: pipelinev1.Params{
				{Name: "versionTag", Value: *pipelinev1.NewStructuredValues(tag)},
				{Name: "releaseMode", Value: *pipelinev1.NewStructuredValues("nightly")},
			},
		},
	}
}

func (w *promoWorld) create(c *kube.Cluster, ns string, pr *pipelinev1.PipelineRun, state kube.RunState) *pipelinev1.PipelineRun {
	w.t.Helper()
	ctx := context.Background()
	if _, err := c.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	got, err := kube.SetState(ctx, c, ns, pr.Name, state)
	if err != nil {
		w.t.Fatal(err)
	}
	return got
}

// deploys lists the deploy PipelineRuns on the production cluster.
func (w *promoWorld) deploys() []pipelinev1.PipelineRun {
	w.t.Helper()
	list, err := w.prod.Tekton.TektonV1().PipelineRuns(w.pNS).List(context.Background(), metav1.ListOptions{LabelSelector: promotion.LabelProject})
	if err != nil {
		w.t.Fatal(err)
	}
	return list.Items
}

// finish plays the Tekton controller ending a deploy run.
func (w *promoWorld) finish(name string, state kube.RunState) {
	w.t.Helper()
	if _, err := kube.SetState(context.Background(), w.prod, w.pNS, name, state); err != nil {
		w.t.Fatal(err)
	}
}

func (w *promoWorld) deployed(project, env string) string {
	w.t.Helper()
	book, err := w.deps.Promotions().Book(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	if d := book.Deployed(project, env); d != nil {
		return d.Version
	}
	return ""
}

type post struct {
	thread promotion.Thread
	reply  bot.Reply
	offer  *bot.Request
}

// notifier is the Slack transport's stand-in: it keeps every post, and
// threads them as Slack does.
type notifier struct {
	mu    sync.Mutex
	n     int
	posts chan post
}

func (n *notifier) Post(_ context.Context, thread promotion.Thread, reply bot.Reply, offer *bot.Request) (promotion.Thread, error) {
	n.mu.Lock()
	n.n++
	if thread.TS == "" {
		thread.TS = fmt.Sprintf("1764000000.%06d", n.n)
	}
	n.mu.Unlock()
	n.posts <- post{thread: thread, reply: reply, offer: offer}
	return thread, nil
}

// next waits for the next post, which must contain want.
func (n *notifier) next(t *testing.T, want string) post {
	t.Helper()
	select {
	case p := <-n.posts:
		if !strings.Contains(p.reply.Text, want) {
			t.Fatalf("next post lacks %q:\n%s", want, p.reply.Text)
		}
		return p
	case <-time.After(time.Minute):
		t.Fatalf("no post containing %q within a minute", want)
	}
	return post{}
}

func params(pr *pipelinev1.PipelineRun) map[string]string {
	out := map[string]string{}
	for _, p := range pr.Spec.Params {
		out[p.Name] = p.Value.StringVal
	}
	return out
}

func TestPromoteNightly(t *testing.T) {
	t.Parallel()
	w := newPromoWorld(t, nil, dogfooding())
	w.release("pipeline", "v20261121-aaaaaaa", kube.Succeeded)
	w.release("pipeline", "v20261122-bbbbbbb", kube.Succeeded)
	w.release("pipeline", "v20261123-ccccccc", kube.Failed)
	w.release("pipeline", "v20261124-ddddddd", kube.Running)
	w.release("triggers", "v20261124-eeeeeee", kube.Succeeded)
	const want = "v20261122-bbbbbbb" // the newest that succeeded

	asked := w.slack("andrea", "promote pipeline nightly", false, "p1")
	if asked.Outcome != bot.Pending || asked.Confirm == nil || !strings.Contains(asked.Text, "`none recorded` → `"+want+"`") ||
		!strings.Contains(asked.Text, "https://dash.example/#/namespaces/"+w.nightlyNS+"/pipelineruns/pipeline-release-"+want) {
		t.Fatalf("ask: %s %q (confirm %v)", asked.Outcome, asked.Text, asked.Confirm)
	}
	if n := len(w.deploys()); n != 0 {
		t.Fatalf("%d deploys before the confirmation", n)
	}

	done := w.slack("andrea", "promote pipeline nightly", true, "p1")
	runs := w.deploys()
	if done.Outcome != bot.Done || len(runs) != 1 || !strings.Contains(done.Text, runs[0].Name) {
		t.Fatalf("confirm: %s %q, %d deploys", done.Outcome, done.Text, len(runs))
	}
	run := runs[0]
	wantParams := map[string]string{"projectName": "pipeline", "version": want, "releaseBucket": "gs://tekton-releases/pipeline", "environment": "dogfooding"}
	if got := params(&run); fmt.Sprint(got) != fmt.Sprint(wantParams) {
		t.Errorf("params = %v, want %v", got, wantParams)
	}
	if run.Spec.PipelineRef.Name != "install-tekton-release" || len(run.Spec.Workspaces) != 1 ||
		run.Spec.Workspaces[0].Name != "targetCluster" || run.Spec.Workspaces[0].Secret.SecretName != "dogfooding-kubeconfig" {
		t.Errorf("spec = %+v", run.Spec)
	}
	wantLabels := map[string]string{promotion.LabelProject: "pipeline", promotion.LabelVersion: want, promotion.LabelEnvironment: "dogfooding", promotion.LabelRequester: "andrea"}
	for k, v := range wantLabels {
		if run.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, run.Labels[k], v)
		}
	}
	if run.Annotations[tekton.AnnotationRequestID] != "p1" {
		t.Errorf("annotations = %v", run.Annotations)
	}

	// A double click, or Slack retrying the click, deploys nothing more.
	if again := w.slack("andrea", "promote pipeline nightly", true, "p1"); again.Outcome != bot.Noop || !strings.Contains(again.Text, "Already promoting") {
		t.Errorf("repeat: %s %q", again.Outcome, again.Text)
	}
	if n := len(w.deploys()); n != 1 {
		t.Errorf("%d deploys after a repeated confirmation", n)
	}

	start := w.notes.next(t, "🚀 andrea promotes *pipeline* to *dogfooding*")
	if start.thread.Channel != "C01RELEASE" {
		t.Errorf("posted to %+v", start.thread)
	}
	w.finish(run.Name, kube.Succeeded)
	end := w.notes.next(t, "✅ *pipeline* `"+want+"` is on *dogfooding*")
	if end.thread.TS == "" || end.thread.TS != threadOf(t, w, "p1") || !strings.Contains(end.reply.Text, "https://dash.example/") || end.reply.Confirm != nil {
		t.Errorf("success post: %+v", end)
	}
	if got := w.deployed("pipeline", "dogfooding"); got != want {
		t.Errorf("the record says %q runs, want %q", got, want)
	}
	list := w.slack("sam", "promotions pipeline", false, "l1")
	if !strings.Contains(list.Text, "pipeline on dogfooding: `"+want+"`") || !strings.Contains(list.Text, "andrea: pipeline `none recorded` → `"+want+"` to dogfooding, succeeded") {
		t.Errorf("promotions:\n%s", list.Text)
	}
}

// threadOf is the thread the record keeps for a promotion.
func threadOf(t *testing.T, w *promoWorld, id string) string {
	t.Helper()
	book, err := w.deps.Promotions().Book(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range book.Promotions {
		if p.ID == id {
			return p.Thread.TS
		}
	}
	return ""
}

func TestPromoteGatesRefuse(t *testing.T) {
	t.Parallel()
	leads := dogfooding()
	leads.Name, leads.Allow = "leads-only", []string{"release-leads"}
	soaked := dogfooding()
	soaked.Name, soaked.SoakPeriod = "soaked", config.Duration{Duration: 24 * time.Hour}
	canaried := dogfooding()
	canaried.Name, canaried.CanaryPipelines = "canaried", []string{"pipeline-e2e"}
	// Releases run in a namespace of their own; canaries still run in
	// the nightly cluster's.
	canariedReleases := dogfooding()
	canariedReleases.Name, canariedReleases.CanaryPipelines = "canaried-releases", []string{"pipeline-e2e"}
	w := newPromoWorld(t, nil, dogfooding(), leads, soaked, canaried, canariedReleases)
	releaseNS := w.nightly.Namespace(t)
	w.cfg.Promotion.Environments[4].Releases = &config.Releases{Namespace: releaseNS}
	w.create(w.nightly, releaseNS, w.releaseRun("dashboard", "v20261122-abcdef0"), kube.Succeeded)
	w.release("pipeline", "v20261122-bbbbbbb", kube.Succeeded)
	w.release("pipeline", "v20261123-ccccccc", kube.Failed)
	w.release("triggers", "v20261122-1234567", kube.Succeeded)
	w.release("chains", "v0.20.0", kube.Succeeded)
	released := w.release("dashboard", "v20261122-abcdef0", kube.Succeeded)
	// A canary that failed after the dashboard's release finished.
	canary := w.create(w.nightly, w.nightlyNS, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "pipeline-e2e-1", Labels: map[string]string{promotion.PipelineLabel: "pipeline-e2e"}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "pipeline-e2e"}},
	}, kube.Failed)
	later := metav1.NewTime(released.Status.CompletionTime.Add(time.Minute))
	canary.Status.CompletionTime = &later
	if _, err := w.nightly.Tekton.TektonV1().PipelineRuns(w.nightlyNS).UpdateStatus(context.Background(), canary, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Chains is being promoted, and a triggers deploy runs outside the
	// record (started by hand, or by another replica a moment ago).
	if r := w.slack("andrea", "promote chains v0.20.0 to dogfooding", false, "busy"); r.Outcome != bot.Pending {
		t.Fatalf("ask chains: %s %q", r.Outcome, r.Text)
	}
	if r := w.slack("andrea", "promote chains v0.20.0 to dogfooding", true, "busy"); r.Outcome != bot.Done {
		t.Fatalf("start chains: %s %q", r.Outcome, r.Text)
	}
	w.create(w.prod, w.pNS, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "by-hand", Labels: map[string]string{
			promotion.LabelProject: "triggers", promotion.LabelEnvironment: "dogfooding", promotion.LabelVersion: "v20261121-7654321",
		}},
		Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "install-tekton-release"}},
	}, kube.Running)

	tests := []struct {
		name, person, text string
		outcome            bot.Outcome
		want               string
	}{
		{"not a release manager", "sam", "promote pipeline nightly to dogfooding", bot.Denied, "may not run `promote`"},
		{"policy before the version", "sam", "promote pipeline $(id) to dogfooding", bot.Denied, "may not run `promote`"},
		{"not allowed in this environment", "vincent", "promote pipeline nightly to leads-only", bot.Denied, "may not promote to leads-only. Who may: andrea"},
		{"no environment named", "andrea", "promote pipeline nightly", bot.Refused, "Which environment?"},
		{"unknown environment", "andrea", "promote pipeline nightly to prod", bot.Refused, `Unknown environment "prod"`},
		{"shell separator", "andrea", "promote pipeline v1.0.0;rm -rf", bot.Refused, `"v1.0.0;rm" is not a version`},
		{"command substitution", "andrea", "promote pipeline $(id) to dogfooding", bot.Refused, `"$(id)" is not a version`},
		{"backticks", "andrea", "promote pipeline `id` to dogfooding", bot.Refused, "is not a version"},
		{"quotes", "andrea", `promote pipeline "v1.0.0" to dogfooding`, bot.Refused, `"\"v1.0.0\"" is not a version`},
		{"look-alike v", "andrea", "promote pipeline \u04751.0.0 to dogfooding", bot.Refused, `"\u04751.0.0" is not a version`},
		{"full-width digit", "andrea", "promote pipeline v\uff11.0.0 to dogfooding", bot.Refused, `"v\uff11.0.0" is not a version`},
		{"path", "andrea", "promote pipeline ../../v1.0.0 to dogfooding", bot.Refused, "is not a version"},
		{"build metadata", "andrea", "promote pipeline v1.0.0+evil to dogfooding", bot.Refused, "is not a version"},
		{"bad date", "andrea", "promote pipeline v20261301-abc1234 to dogfooding", bot.Refused, "20261301 is not a date"},
		{"non-hex commit", "andrea", "promote pipeline v20261124-xyz to dogfooding", bot.Refused, "after the date comes the commit"},
		{"bad project", "andrea", "promote pipe;line nightly to dogfooding", bot.Refused, "is not a project name"},
		{"failed nightly", "andrea", "promote pipeline v20261123-ccccccc to dogfooding", bot.Refused, "did not succeed: [pipeline-release-v20261123-ccccccc]"},
		{"no release run", "andrea", "promote pipeline v20261120-1234567 to dogfooding", bot.Refused, "No release run of pipeline `v20261120-1234567`"},
		{"no nightly succeeded", "andrea", "promote results nightly to dogfooding", bot.Refused, "No nightly release of results has succeeded"},
		{"soak period", "andrea", "promote pipeline v20261122-bbbbbbb to soaked", bot.Refused, "still soaking: soaked needs 24h0m0s"},
		{"canary failed since", "andrea", "promote dashboard nightly to canaried", bot.Refused, "Canary `pipeline-e2e` failed since `v20261122-abcdef0`"},
		{"canary failed since, releases elsewhere", "andrea", "promote dashboard nightly to canaried-releases", bot.Refused, "Canary `pipeline-e2e` failed since `v20261122-abcdef0`"},
		{"in flight by the record", "vincent", "promote chains v0.20.0 to dogfooding", bot.Refused, "chains is already being promoted to dogfooding"},
		{"in flight on the cluster", "andrea", "promote triggers nightly to dogfooding", bot.Refused, "A deploy of triggers to dogfooding is still running"},
		{"a confirmation never asked", "andrea", "promote pipeline nightly to dogfooding", bot.Refused, "expired or does not match"},
	}
	before := len(w.deploys())
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			confirmed := tt.name == "a confirmation never asked"
			r := w.slack(tt.person, tt.text, confirmed, fmt.Sprintf("g%d", i))
			if r.Outcome != tt.outcome || !strings.Contains(r.Text, tt.want) || r.Confirm != nil {
				t.Errorf("%q: %s %q, want %s containing %q", tt.text, r.Outcome, r.Text, tt.outcome, tt.want)
			}
		})
	}
	if n := len(w.deploys()); n != before {
		t.Errorf("refused requests created %d deploys", n-before)
	}
}

func TestPromoteTwoPersonRule(t *testing.T) {
	t.Parallel()
	env := dogfooding()
	env.TwoPersonRule = true
	w := newPromoWorld(t, nil, env)
	w.release("triggers", "v20261122-1234567", kube.Succeeded)

	if r := w.slack("andrea", "promote triggers nightly", false, "t1"); r.Outcome != bot.Pending || !strings.Contains(r.Text, "Two-person rule") {
		t.Fatalf("ask: %s %q", r.Outcome, r.Text)
	}
	waiting := w.slack("andrea", "promote triggers nightly", true, "t1")
	if waiting.Outcome != bot.Pending || waiting.Confirm != nil || !waiting.Public || !strings.Contains(waiting.Text, "Waiting for a second person") {
		t.Fatalf("requester's confirmation: %s %q", waiting.Outcome, waiting.Text)
	}
	ask := w.notes.next(t, "andrea asks to promote *triggers* to *dogfooding*")
	if ask.reply.Confirm == nil || !slices.Equal(ask.reply.Confirm.Approvers, []string{"vincent"}) || ask.offer == nil ||
		ask.offer.ID != promotion.ApprovalID("t1") || ask.offer.Caller.ID != "U01ANDREA" ||
		ask.offer.Command.String() != "promote triggers v20261122-1234567 to dogfooding" {
		t.Fatalf("approval request: %+v %+v", ask.reply.Confirm, ask.offer)
	}
	press := func(person string) bot.Reply {
		return w.slack(person, ask.offer.Command.String(), true, ask.offer.ID)
	}
	tests := []struct {
		person  string
		outcome bot.Outcome
		want    string
		deploys int
	}{
		{"andrea", bot.Refused, "Two-person rule: andrea asked", 0},
		{"sam", bot.Denied, "may not run `promote`", 0},
		{"vincent", bot.Done, "andrea is promoting *triggers*", 1},
		{"vincent", bot.Noop, "Already promoting", 1}, // a second press
	}
	for _, tt := range tests {
		if r := press(tt.person); r.Outcome != tt.outcome || !strings.Contains(r.Text, tt.want) || len(w.deploys()) != tt.deploys {
			t.Errorf("%s approves: %s %q, %d deploys; want %s containing %q, %d deploys", tt.person, r.Outcome, r.Text, len(w.deploys()), tt.outcome, tt.want, tt.deploys)
		}
	}
	start := w.notes.next(t, "approved by vincent")
	if start.thread != ask.thread {
		t.Errorf("the start went to %+v, not the approval's thread %+v", start.thread, ask.thread)
	}
	if run := w.deploys()[0]; run.Labels[promotion.LabelRequester] != "andrea" || run.Annotations[promotion.AnnotationApprover] != "vincent" {
		t.Errorf("requester label %q, approver annotation %q", run.Labels[promotion.LabelRequester], run.Annotations[promotion.AnnotationApprover])
	}
}

func TestPromoteFailureOffersRollback(t *testing.T) {
	t.Parallel()
	w := newPromoWorld(t, nil, dogfooding())
	good := w.release("pipeline", "v20261121-aaaaaaa", kube.Succeeded)
	w.release("pipeline", "v20261122-bbbbbbb", kube.Succeeded)

	promote := func(version, id string) string {
		t.Helper()
		text := "promote pipeline " + version
		if r := w.slack("andrea", text, false, id); r.Outcome != bot.Pending {
			t.Fatalf("%s: %s %q", text, r.Outcome, r.Text)
		}
		r := w.slack("andrea", text, true, id)
		if r.Outcome != bot.Done || len(r.Targets) != 1 {
			t.Fatalf("%s confirmed: %s %q", text, r.Outcome, r.Text)
		}
		w.notes.next(t, "🚀")
		return path.Base(r.Targets[0])
	}
	w.finish(promote("v20261121-aaaaaaa", "r1"), kube.Succeeded)
	w.notes.next(t, "✅")
	w.finish(promote("v20261122-bbbbbbb", "r2"), kube.Failed)
	failure := w.notes.next(t, "❌ Promoting *pipeline* `v20261122-bbbbbbb` to *dogfooding* failed")
	offer := failure.offer
	if failure.reply.Confirm == nil || failure.reply.Confirm.Button != "Roll back" || offer == nil ||
		offer.Command.String() != "promote pipeline v20261121-aaaaaaa to dogfooding" ||
		!slices.Equal(failure.reply.Confirm.Approvers, []string{"andrea", "vincent"}) {
		t.Fatalf("failure post: %q %+v %+v", failure.reply.Text, failure.reply.Confirm, offer)
	}
	if got := w.deployed("pipeline", "dogfooding"); got != "v20261121-aaaaaaa" {
		t.Errorf("after the failure the record says %q", got)
	}
	// Its release run is gone: only having run here before vouches for it.
	if err := w.nightly.Tekton.TektonV1().PipelineRuns(w.nightlyNS).Delete(context.Background(), good.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	rollback := w.slack("vincent", offer.Command.String(), true, offer.ID)
	if rollback.Outcome != bot.Done || !strings.Contains(rollback.Text, "vincent is promoting *pipeline* to *dogfooding*: `v20261121-aaaaaaa` → `v20261121-aaaaaaa`") {
		t.Fatalf("roll back: %s %q", rollback.Outcome, rollback.Text)
	}
	start := w.notes.next(t, "🚀 vincent promotes")
	if start.thread != failure.thread {
		t.Errorf("the rollback posted to %+v, not the failed promotion's thread %+v", start.thread, failure.thread)
	}
	var rb *pipelinev1.PipelineRun
	runs := w.deploys()
	for i := range runs {
		if runs[i].Annotations[tekton.AnnotationRequestID] == offer.ID {
			rb = &runs[i]
		}
	}
	if rb == nil || params(rb)["version"] != "v20261121-aaaaaaa" {
		t.Fatalf("no rollback deploy of v20261121-aaaaaaa: %+v", rb)
	}
	w.finish(rb.Name, kube.Succeeded)
	w.notes.next(t, "✅ *pipeline* `v20261121-aaaaaaa` is on *dogfooding*")
	list := w.slack("sam", "promotions", false, "l1").Text
	for _, want := range []string{
		"vincent (rollback): pipeline `v20261121-aaaaaaa` → `v20261121-aaaaaaa` to dogfooding, succeeded",
		"andrea: pipeline `v20261121-aaaaaaa` → `v20261122-bbbbbbb` to dogfooding, failed: failed",
	} {
		if !strings.Contains(list, want) {
			t.Errorf("promotions lacks %q:\n%s", want, list)
		}
	}
}

// gitRepo is a GitHub repository for githubtest.Server: one file tree per
// branch, enough for the contents, refs and pulls endpoints. A pull
// request's head follows its branch, as on GitHub.
type gitRepo struct {
	srv         *githubtest.Server
	owner, name string

	mu       sync.Mutex
	branches map[string]string            // name → head commit
	files    map[string]map[string]string // branch → path → content
	puts     []putContents
	pulls    []gh.NewPullRequest
	ready    map[int]bool // PRs GitHub would merge now
	commits  int
	// pushOnCreate is pushed (path → content) onto each branch the
	// moment it is created, as a writer racing tekbot could.
	pushOnCreate map[string]string
}

type putContents struct {
	Message, Content, SHA, Branch string
	path                          string
}

func blobSHA(content string) string {
	sum := sha1.Sum([]byte(fmt.Sprintf("blob %d\x00%s", len(content), content)))
	return hex.EncodeToString(sum[:])
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *gitRepo) serve(s *githubtest.Server, owner, repo string) {
	s.Handle("GET", "/repos/{owner}/{repo}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": 1, "name": repo, "full_name": owner + "/" + repo, "default_branch": "main"})
	})
	s.Handle("GET", "/repos/{owner}/{repo}/git/ref/{ref}", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		sha, ok := g.branches[strings.TrimPrefix(r.PathValue("ref"), "heads/")]
		if !ok {
			writeJSON(w, 404, map[string]string{"message": "Not Found"})
			return
		}
		writeJSON(w, 200, map[string]any{"ref": "refs/" + r.PathValue("ref"), "object": map[string]string{"type": "commit", "sha": sha}})
	})
	s.Handle("POST", "/repos/{owner}/{repo}/git/refs", func(w http.ResponseWriter, r *http.Request) {
		var body struct{ Ref, SHA string }
		_ = json.NewDecoder(r.Body).Decode(&body)
		g.mu.Lock()
		defer g.mu.Unlock()
		name := strings.TrimPrefix(body.Ref, "refs/heads/")
		if _, ok := g.branches[name]; ok {
			writeJSON(w, 422, map[string]string{"message": "Reference already exists"})
			return
		}
		for from, sha := range g.branches {
			if sha == body.SHA {
				g.branches[name], g.files[name] = sha, map[string]string{}
				for p, c := range g.files[from] {
					g.files[name][p] = c
				}
				for p, c := range g.pushOnCreate {
					g.commitLocked(name, p, c)
				}
				writeJSON(w, 201, map[string]any{"ref": body.Ref, "object": map[string]string{"type": "commit", "sha": sha}})
				return
			}
		}
		writeJSON(w, 422, map[string]string{"message": "Object does not exist"})
	})
	s.Handle("GET", "/repos/{owner}/{repo}/contents/{path}", func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		defer g.mu.Unlock()
		content, ok := g.files[r.URL.Query().Get("ref")][r.PathValue("path")]
		if !ok {
			writeJSON(w, 404, map[string]string{"message": "Not Found"})
			return
		}
		writeJSON(w, 200, map[string]any{
			"type": "file", "encoding": "base64", "content": base64.StdEncoding.EncodeToString([]byte(content)),
			"sha": blobSHA(content), "path": r.PathValue("path"), "name": path.Base(r.PathValue("path")), "size": len(content),
		})
	})
	s.Handle("PUT", "/repos/{owner}/{repo}/contents/{path}", func(w http.ResponseWriter, r *http.Request) {
		var body putContents
		_ = json.NewDecoder(r.Body).Decode(&body)
		body.path = r.PathValue("path")
		g.mu.Lock()
		defer g.mu.Unlock()
		cur := g.files[body.Branch][body.path]
		if body.SHA != blobSHA(cur) {
			writeJSON(w, 409, map[string]string{"message": body.path + " does not match " + body.SHA})
			return
		}
		raw, err := base64.StdEncoding.DecodeString(body.Content)
		if err != nil {
			writeJSON(w, 422, map[string]string{"message": "content is not valid Base64"})
			return
		}
		g.puts = append(g.puts, body)
		parent := g.branches[body.Branch]
		sha := g.commitLocked(body.Branch, body.path, string(raw))
		writeJSON(w, 200, map[string]any{"content": map[string]string{"sha": blobSHA(string(raw))},
			"commit": map[string]any{"sha": sha, "parents": []map[string]string{{"sha": parent}}}})
	})
	s.Handle("POST", "/repos/{owner}/{repo}/pulls", func(w http.ResponseWriter, r *http.Request) {
		var body gh.NewPullRequest
		_ = json.NewDecoder(r.Body).Decode(&body)
		n, err := g.open(body)
		if err != nil {
			writeJSON(w, 422, map[string]any{"message": "Validation Failed", "errors": []map[string]string{{"resource": "PullRequest", "code": "custom", "message": err.Error()}}})
			return
		}
		writeJSON(w, 201, g.pullJSON(n))
	})
	s.Handle("GET", "/repos/{owner}/{repo}/pulls", func(w http.ResponseWriter, r *http.Request) {
		head := r.URL.Query().Get("head")
		g.mu.Lock()
		defer g.mu.Unlock()
		list := []any{}
		for i, pr := range g.pulls {
			if head == "" || head == owner+":"+pr.GetHead() {
				list = append(list, g.pullJSONLocked(i+1))
			}
		}
		writeJSON(w, 200, list)
	})
}

func (g *gitRepo) commitLocked(branch, path, content string) string {
	g.files[branch][path] = content
	g.commits++
	g.branches[branch] = fmt.Sprintf("%040x", g.commits)
	g.syncLocked()
	return g.branches[branch]
}

// push commits content as path on branch, as anyone with write access
// can, and returns the commit.
func (g *gitRepo) push(branch, path, content string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.files[branch]; !ok {
		g.branches[branch], g.files[branch] = g.branches["main"], maps.Clone(g.files["main"])
	}
	return g.commitLocked(branch, path, content)
}

// open opens a PR as GitHub does: one open PR per head branch.
func (g *gitRepo) open(pr gh.NewPullRequest) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, o := range g.pulls {
		if o.GetHead() == pr.GetHead() {
			return 0, fmt.Errorf("A pull request already exists for %s:%s.", g.owner, pr.GetHead())
		}
	}
	g.pulls = append(g.pulls, pr)
	g.syncLocked()
	return len(g.pulls), nil
}

// setReady makes GitHub report PR n as mergeable and clean (checks green,
// reviews given), or blocked.
func (g *gitRepo) setReady(n int, ready bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ready[n] = ready
	g.syncLocked()
}

// syncLocked tells the server each PR's state: its head is its branch's.
func (g *gitRepo) syncLocked() {
	yes := true
	for i, pr := range g.pulls {
		n := i + 1
		state := githubtest.PullRequest{Number: n, Title: pr.GetTitle(), Body: pr.GetBody(), HeadRef: pr.GetHead(), HeadSHA: g.branches[pr.GetHead()], BaseRef: pr.GetBase()}
		if g.ready[n] {
			state.Mergeable = &yes
		} else if _, set := g.ready[n]; set {
			state.Mergeable, state.MergeableState = &yes, "blocked"
		}
		g.srv.SetPullRequest(g.owner, g.name, state)
	}
}

func (g *gitRepo) pullJSON(n int) map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pullJSONLocked(n)
}

func (g *gitRepo) pullJSONLocked(n int) map[string]any {
	pr := g.pulls[n-1]
	return map[string]any{
		"number": n, "state": "open", "html_url": fmt.Sprintf("https://github.com/%s/%s/pull/%d", g.owner, g.name, n),
		"head": map[string]any{"ref": pr.GetHead(), "sha": g.branches[pr.GetHead()]},
		"base": map[string]any{"ref": pr.GetBase()},
	}
}

// retarget points PR n at another base, as anyone with write access can.
func (g *gitRepo) retarget(n int, base string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pulls[n-1].Base = &base
	g.syncLocked()
}

// head is branch's head commit.
func (g *gitRepo) head(branch string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.branches[branch]
}

// plumbing is tektoncd/plumbing on the GitHub stand-in, with file on its
// main branch, and tekbot's GitHub API over it.
func plumbing(t *testing.T, file, content string) (*githubtest.Server, *gitRepo, *github.API) {
	t.Helper()
	srv := githubtest.NewServer(t)
	repo := &gitRepo{srv: srv, owner: "tektoncd", name: "plumbing", ready: map[int]bool{},
		branches: map[string]string{"main": fmt.Sprintf("%040x", 0)}, files: map[string]map[string]string{"main": {file: content}}}
	repo.serve(srv, "tektoncd", "plumbing")
	client := gh.NewClient(nil)
	base, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	client.BaseURL = base
	return srv, repo, github.NewAPIWithClient(client)
}

func TestPromoteGitOpsChangesOnlyTheVersion(t *testing.T) {
	t.Parallel()
	const (
		file = "tekton/cd/pipeline/overlays/dogfooding/kustomization.yaml"
		old  = "v20261121-aaaaaaa"
		want = "v20261122-bbbbbbb"
	)
	original := "# Pinned by tekbot; earlier pins were v20261101-0000000 and v0.59.0.\n" +
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" +
		"  - https://storage.googleapis.com/tekton-releases/pipeline/previous/" + old + "/release.yaml\n" +
		"patches:\n  - path: feature-flags.yaml\n"
	srv, repo, api := plumbing(t, file, original)
	w := newPromoWorld(t, api, config.Environment{
		Name: "dogfooding", Strategy: config.StrategyGitOps, Repository: "tektoncd/plumbing",
		Path: "tekton/cd/{{.Project}}/overlays/{{.Environment}}/kustomization.yaml", Pattern: `tekton-releases/[a-z-]+/previous/(v[0-9][^/]*)/`,
	})
	w.release("pipeline", want, kube.Succeeded)

	if r := w.slack("andrea", "promote pipeline nightly", false, "g1"); r.Outcome != bot.Pending {
		t.Fatalf("ask: %s %q", r.Outcome, r.Text)
	}
	done := w.slack("andrea", "promote pipeline nightly", true, "g1")
	if done.Outcome != bot.Done || !strings.Contains(done.Text, "https://github.com/tektoncd/plumbing/pull/1") {
		t.Fatalf("confirm: %s %q", done.Outcome, done.Text)
	}
	if again := w.slack("andrea", "promote pipeline nightly", true, "g1"); again.Outcome != bot.Noop {
		t.Errorf("repeat: %s %q", again.Outcome, again.Text)
	}
	repo.mu.Lock()
	puts, pulls := repo.puts, repo.pulls
	repo.mu.Unlock()
	if len(puts) != 1 || len(pulls) != 1 {
		t.Fatalf("%d commits and %d PRs, want one of each", len(puts), len(pulls))
	}
	raw, err := base64.StdEncoding.DecodeString(puts[0].Content)
	if err != nil {
		t.Fatal(err)
	}
	origLines, newLines := strings.Split(original, "\n"), strings.Split(string(raw), "\n")
	var changed []string
	for i := range origLines {
		if i < len(newLines) && origLines[i] != newLines[i] {
			changed = append(changed, origLines[i]+" ⇒ "+newLines[i])
			if strings.Replace(origLines[i], old, want, 1) != newLines[i] {
				t.Errorf("line %d changed more than the version:\n-%s\n+%s", i+1, origLines[i], newLines[i])
			}
		}
	}
	if len(newLines) != len(origLines) || len(changed) != 1 {
		t.Errorf("want exactly the pinned line changed, got %d of %d lines:\n%s", len(changed), len(newLines), strings.Join(changed, "\n"))
	}
	pr := pulls[0]
	if pr.GetBase() != "main" || pr.GetHead() != puts[0].Branch || puts[0].SHA != blobSHA(original) {
		t.Errorf("PR %s → %s, commit on %s replacing %s", pr.GetHead(), pr.GetBase(), puts[0].Branch, puts[0].SHA)
	}
	for _, s := range []string{"Asked by **andrea**", "`none recorded` → `" + want + "`", "pipelineruns/pipeline-release-" + want, file} {
		if !strings.Contains(pr.GetBody(), s) {
			t.Errorf("PR description lacks %q:\n%s", s, pr.GetBody())
		}
	}
	w.notes.next(t, "Opened a pull request; it deploys when merged: [tektoncd/plumbing#1](https://github.com/tektoncd/plumbing/pull/1)")
	if got := w.deployed("pipeline", "dogfooding"); got != "" {
		t.Errorf("before the merge the record says %q", got)
	}
	// GitHub's pull_request "closed" webhook, which the transport relays.
	srv.SetPullRequest("tektoncd", "plumbing", githubtest.PullRequest{Number: 1, Merged: true})
	if err := w.deps.Promotions().PullRequestClosed(context.Background(), "tektoncd/plumbing", 1, true); err != nil {
		t.Fatal(err)
	}
	w.notes.next(t, "✅ *pipeline* `"+want+"` is on *dogfooding*")
	if got := w.deployed("pipeline", "dogfooding"); got != want {
		t.Errorf("after the merge the record says %q", got)
	}
}
