package handlers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	testclock "k8s.io/utils/clock/testing"

	"tekbot/config"
	"tekbot/promotion"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

// pages is the captain's pager as the promotion engine sees it.
type pages struct {
	mu   sync.Mutex
	keys []string
	why  []string
}

func (p *pages) PageCaptain(_ context.Context, key, reason, _ string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys, p.why = append(p.keys, key), append(p.why, reason)
	return nil
}

func (p *pages) list() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.why...)
}

// verifying deploys with install-tekton-release on the production cluster,
// then checks that pipelines-info reports the version and runs
// verify-tekton on the nightly cluster (standing in for CI), rolling
// back by itself when that fails.
func verifying(w *promoWorld, auto bool) config.Environment {
	env := dogfooding()
	env.Cluster, env.Namespace, env.InfoNamespace = "dogfooding", w.pNS, w.pNS
	env.Verify = &config.Verify{
		Timeout: config.Duration{Duration: 10 * time.Minute},
		Pipelines: []config.VerifyPipeline{{
			PipelineRef: "verify-tekton", Cluster: "nightly",
			Params: map[string]string{"version": "{{.Version}}", "target": "{{.Environment}}"},
		}},
	}
	env.AutoRollback = auto
	return env
}

// verifyWorld is a promoWorld whose engine runs on a fake clock and pages
// into pages.
type verifyWorld struct {
	*promoWorld
	engine *promotion.Engine
	clock  *testclock.FakeClock
	pages  *pages
}

func newVerifyWorld(t *testing.T) *verifyWorld {
	return newClockedWorld(t, nil, func(w *promoWorld) config.Environment { return verifying(w, true) })
}

// newClockedWorld is a world of one environment whose engine runs on a
// fake clock and pages into pages.
func newClockedWorld(t *testing.T, gitops promotion.Repos, env func(*promoWorld) config.Environment) *verifyWorld {
	w := &verifyWorld{promoWorld: newPromoWorld(t, gitops), clock: testclock.NewFakeClock(time.Now()), pages: &pages{}}
	w.cfg.Promotion.Environments = []config.Environment{env(w.promoWorld)}
	w.engine = w.deps.Promotions()
	w.engine.Clock, w.engine.Pager = w.clock, w.pages
	return w
}

// promote asks for and confirms a promotion, and returns its deploy run.
func (w *verifyWorld) promote(id, version string) string {
	w.t.Helper()
	ctx := context.Background()
	r := promotion.Request{ID: id, Project: "pipeline", Version: version, By: "andrea"}
	if _, err := w.engine.Ask(ctx, r); err != nil {
		w.t.Fatalf("ask %s: %v", version, err)
	}
	p, started, err := w.engine.Confirm(ctx, r)
	if err != nil || !started {
		w.t.Fatalf("confirm %s: started %v, %v", version, started, err)
	}
	w.notes.next(w.t, "🚀 andrea promotes")
	return p.PipelineRun
}

// install plays the install pipeline: the component reports version.
func (w *verifyWorld) install(version string) {
	w.t.Helper()
	ctx := context.Background()
	cms := w.prod.Kube.CoreV1().ConfigMaps(w.pNS)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: tekton.InfoConfigMap("pipeline")}, Data: map[string]string{"version": version}}
	_, err := cms.Update(ctx, cm, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	}
	if err != nil {
		w.t.Fatal(err)
	}
}

// verification waits for the verification run of version on the CI
// (nightly) cluster and ends it as state.
func (w *verifyWorld) verification(version string, state kube.RunState) *pipelinev1.PipelineRun {
	w.t.Helper()
	var found *pipelinev1.PipelineRun
	waitFor(w.t, "the verification run of "+version, func() bool {
		list, err := w.nightly.Tekton.TektonV1().PipelineRuns(w.nightlyNS).List(context.Background(), metav1.ListOptions{
			LabelSelector: promotion.LabelVerifies + "=pipeline," + promotion.LabelVersion + "=" + version,
		})
		if err != nil {
			w.t.Fatal(err)
		}
		for i := range list.Items {
			if pr := &list.Items[i]; !tekton.StateOf(pr).Done() {
				found = pr
			}
		}
		return found != nil
	})
	if _, err := kube.SetState(context.Background(), w.nightly, w.nightlyNS, found.Name, state); err != nil {
		w.t.Fatal(err)
	}
	return found
}

// waitFor polls an observable condition until it holds, for at most a
// minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, what, time.Minute, cond)
}

func (w *verifyWorld) promotion(id string) *promotion.Promotion {
	w.t.Helper()
	book, err := w.engine.Book(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	for _, p := range book.Promotions {
		if p.ID == id {
			return p
		}
	}
	w.t.Fatalf("no promotion %s in the record", id)
	return nil
}

// runsOf counts the deploy runs of version.
func (w *verifyWorld) runsOf(version string) int {
	n := 0
	for _, r := range w.deploys() {
		if r.Labels[promotion.LabelVersion] == version {
			n++
		}
	}
	return n
}

const (
	good = "v20261121-aaaaaaa"
	bad  = "v20261122-bbbbbbb"
)

// verifiedGood releases good and bad, then promotes good and verifies
// it: the version a rollback returns to.
func (w *verifyWorld) verifiedGood() {
	w.t.Helper()
	w.release("pipeline", good, kube.Succeeded)
	w.release("pipeline", bad, kube.Succeeded)
	run := w.promote("p-good", good)
	w.install(good)
	w.finish(run, kube.Succeeded)
	w.notes.next(w.t, "Verifying it until")
	vr := w.verification(good, kube.Succeeded)
	if got := params(vr); got["version"] != good || got["target"] != "dogfooding" || vr.Spec.PipelineRef.Name != "verify-tekton" {
		w.t.Errorf("verification run %s: %v", vr.Name, got)
	}
	ok := w.notes.next(w.t, "✅ *pipeline* `"+good+"` is verified on *dogfooding*")
	for _, want := range []string{"`pipelines-info` on dogfooding reports `" + good + "`", "verification run [" + vr.Name + "](https://dash.example/#/namespaces/" + w.nightlyNS + "/pipelineruns/" + vr.Name + ") succeeded on nightly"} {
		if !strings.Contains(ok.reply.Text, want) {
			w.t.Errorf("verified post lacks %q:\n%s", want, ok.reply.Text)
		}
	}
	if p := w.promotion("p-good"); p.State != promotion.Verified || p.History() != "promoted → verified" {
		w.t.Errorf("good promotion: %s, %s", p.State, p.History())
	}
}

func TestPromoteVerifiedThenFailedVerificationRollsBackOnce(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t)
	w.verifiedGood()

	run := w.promote("p-bad", bad)
	w.install(bad)
	w.finish(run, kube.Succeeded)
	w.notes.next(t, "Verifying it until")
	failed := w.verification(bad, kube.Failed)
	post := w.notes.next(t, "❌ *pipeline* `"+bad+"` failed verification on *dogfooding*: verification run ["+failed.Name+"](")
	if !strings.Contains(post.reply.Text, "Rolling back to `"+good+"`") || post.reply.Confirm != nil {
		t.Errorf("failure post: %q (confirm %v)", post.reply.Text, post.reply.Confirm)
	}
	w.notes.next(t, "🚀 tekbot promotes *pipeline* to *dogfooding*: `"+bad+"` → `"+good+"`")
	if n := len(w.pages.list()); n != 1 {
		t.Fatalf("%d pages after the failed verification, want 1: %q", n, w.pages.list())
	}
	var rollback string
	for _, r := range w.deploys() {
		if r.Annotations[tekton.AnnotationRequestID] == "p-bad+rollback" {
			rollback = r.Name
		}
	}
	if rollback == "" || w.runsOf(good) != 2 {
		t.Fatalf("no rollback deploy of %s: %d deploys of it", good, w.runsOf(good))
	}
	w.install(good)
	w.finish(rollback, kube.Succeeded)
	w.notes.next(t, "✅ *pipeline* `"+good+"` is on *dogfooding*")
	if p := w.promotion("p-bad"); p.State != promotion.RolledBack || p.History() != "promoted → failed verification → rolled back" {
		t.Errorf("bad promotion: %s, %q", p.State, p.History())
	}
	if got := w.records.byItself(); len(got) != 1 || got[0] != "rollback pipeline "+bad+" on dogfooding: done" {
		t.Errorf("audit records of what tekbot did by itself = %q, want the one rollback", got)
	}
	// The rollback fails its verification too: tekbot does not roll
	// back again, and pages for people to decide.
	w.verification(good, kube.Failed)
	again := w.notes.next(t, "❌ *pipeline* `"+good+"` failed verification")
	if !strings.Contains(again.reply.Text, "does not roll back again") || again.reply.Confirm != nil {
		t.Errorf("second failure post: %q", again.reply.Text)
	}
	// The page follows the post.
	waitFor(t, "the second page", func() bool { return len(w.pages.list()) >= 2 })
	if got := w.pages.list(); len(got) != 2 || !strings.Contains(got[1], "failed verification") {
		t.Errorf("pages = %q", got)
	}
	if n := len(w.deploys()); n != 3 {
		t.Errorf("%d deploy runs, want 3: good, bad, one rollback", n)
	}
	list := w.slack("sam", "promotions pipeline", false, "l1").Text
	if !strings.Contains(list, "`"+good+"` → `"+bad+"` to dogfooding, promoted → failed verification → rolled back") {
		t.Errorf("promotions:\n%s", list)
	}
}

func TestPromoteVersionThatNeverAppearsTimesOutAndRollsBack(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t)
	w.verifiedGood()

	// The deploy run succeeds, but the cluster keeps reporting good.
	run := w.promote("p-stuck", bad)
	w.finish(run, kube.Succeeded)
	w.notes.next(t, "Verifying it until")
	waitFor(t, "the verification to wait on the clock", w.clock.HasWaiters)
	if w.promotion("p-stuck").State != promotion.Verifying {
		t.Fatalf("verification ended before its deadline")
	}
	w.clock.Step(10*time.Minute + time.Second)
	post := w.notes.next(t, "❌ *pipeline* `"+bad+"` failed verification on *dogfooding*: timed out after 10m0s: `pipelines-info` on dogfooding never reported `"+bad+"` (it says `"+good+"`)")
	if !strings.Contains(post.reply.Text, "Rolling back to `"+good+"`") {
		t.Errorf("failure post: %q", post.reply.Text)
	}
	w.notes.next(t, "🚀 tekbot promotes")
	if got := w.pages.list(); len(got) != 1 {
		t.Errorf("pages = %q", got)
	}
	if n := w.runsOf(good); n != 2 {
		t.Fatalf("%d deploys of %s, want the first and one rollback", n, good)
	}
	for _, r := range w.deploys() {
		if r.Annotations[tekton.AnnotationRequestID] == "p-stuck+rollback" {
			w.finish(r.Name, kube.Succeeded)
		}
	}
	w.notes.next(t, "✅ *pipeline* `"+good+"` is on *dogfooding*")
	w.verification(good, kube.Succeeded)
	w.notes.next(t, "✅ *pipeline* `"+good+"` is verified")
	if p := w.promotion("p-stuck"); p.State != promotion.RolledBack || p.History() != "promoted → failed verification → rolled back" {
		t.Errorf("stuck promotion: %s, %q", p.State, p.History())
	}
}
