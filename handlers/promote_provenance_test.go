package handlers_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
)

// Provenance: what tekbot made is tekbot's. Whoever can create a
// PipelineRun, push a branch or open a PR must not be able to make tekbot
// take theirs as its own: names alone prove nothing.

// nameDigest is the digest names were derived from: the parts, NUL
// separated. With only a promotion's ID and environment (a train's ID is
// known days ahead), it is how anyone could name what tekbot would create.
func nameDigest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// squat creates a run named name, labelled as tekbot labels its runs for
// the promotion, annotated as made for request id, and ended as state.
func squat(w *promoWorld, c *kube.Cluster, ns, name, id string, labels map[string]string, state kube.RunState) *pipelinev1.PipelineRun {
	w.t.Helper()
	return w.create(c, ns, &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{tekton.AnnotationRequestID: id}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "install-tekton-release"}},
	}, state)
}

// TestPromotePreCreatedDeployRunIsNotTaken: a run created in advance under
// the name a promotion's deploy would have had from its ID is not taken as
// the deploy, whether it says the deploy succeeded or failed: tekbot
// deploys with a run of its own, and the promotion ends as that one ends.
func TestPromotePreCreatedDeployRunIsNotTaken(t *testing.T) {
	t.Parallel()
	const version = "v20261122-bbbbbbb"
	for _, squatted := range []kube.RunState{kube.Succeeded, kube.Failed} {
		t.Run(string(squatted), func(t *testing.T) {
			t.Parallel()
			w := newPromoWorld(t, nil, dogfooding())
			w.release("pipeline", version, kube.Succeeded)
			const id = "d1"
			name := "promote-pipeline-" + nameDigest(id, "dogfooding")[:10]
			squat(w, w.prod, w.pNS, name, id, map[string]string{
				promotion.LabelProject: "pipeline", promotion.LabelEnvironment: "dogfooding", promotion.LabelVersion: version,
			}, squatted)

			if r := w.slack("andrea", "promote pipeline "+version, false, id); r.Outcome != bot.Pending {
				t.Fatalf("ask: %s %q", r.Outcome, r.Text)
			}
			done := w.slack("andrea", "promote pipeline "+version, true, id)
			if done.Outcome != bot.Done || len(done.Targets) != 1 || strings.HasSuffix(done.Targets[0], "/"+name) {
				t.Fatalf("confirm: %s %q %v, want a deploy of tekbot's own", done.Outcome, done.Text, done.Targets)
			}
			w.notes.next(t, "🚀 andrea promotes")
			var own *pipelinev1.PipelineRun
			for _, r := range w.deploys() {
				if r.Name != name {
					own = &r
				}
			}
			if own == nil || own.Annotations[tekton.AnnotationRequestID] != id || params(own)["version"] != version {
				t.Fatalf("tekbot's deploy run: %+v", own)
			}
			if got := w.deployed("pipeline", "dogfooding"); got != "" {
				t.Fatalf("the squatted run made the record say %q runs", got)
			}
			w.finish(own.Name, kube.Failed)
			w.notes.next(t, "❌ Promoting *pipeline* `"+version+"` to *dogfooding* failed")
			if got := w.deployed("pipeline", "dogfooding"); got != "" {
				t.Errorf("after tekbot's deploy failed the record says %q runs", got)
			}
		})
	}
}

// TestPromoteRetryRefusesAForeignRunUnderItsName: a promotion that claimed
// its deploy and stopped before creating it (a crash) is retried; someone
// who learnt the run's name created a run there meanwhile. tekbot takes it
// neither when it was made for another request nor when it claims this
// request with another spec: the promotion stops, said in the reply and
// the thread, audited.
func TestPromoteRetryRefusesAForeignRunUnderItsName(t *testing.T) {
	t.Parallel()
	const version = "v20261122-bbbbbbb"
	tests := []struct {
		name, requestID, pipeline string
	}{
		{"made for another request, the same spec", "someone-else", "install-tekton-release"},
		{"claims this request, another pipeline", "r1", "install-anything"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := newPromoWorld(t, nil, dogfooding())
			w.release("pipeline", version, kube.Succeeded)
			if r := w.slack("andrea", "promote pipeline "+version, false, "r1"); r.Outcome != bot.Pending {
				t.Fatalf("ask: %s %q", r.Outcome, r.Text)
			}
			// The claim as start writes it, with a nonce that leaked.
			name := "promote-pipeline-" + nameDigest("r1", "dogfooding", "leaked")[:10]
			record := promotion.Record{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
			err := record.Update(context.Background(), time.Now(), func(b *promotion.Book) error {
				for _, p := range b.Promotions {
					if p.ID == "r1" {
						p.State, p.Started, p.Nonce = promotion.Running, time.Now(), "leaked"
						p.Cluster, p.Namespace, p.PipelineRun = "dogfooding", w.pNS, name
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			foreign := w.create(w.prod, w.pNS, &pipelinev1.PipelineRun{
				ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: map[string]string{tekton.AnnotationRequestID: tt.requestID}},
				Spec: pipelinev1.PipelineRunSpec{
					PipelineRef: &pipelinev1.PipelineRef{Name: tt.pipeline},
					Params: pipelinev1.Params{
						{Name: "environment", Value: *pipelinev1.NewStructuredValues("dogfooding")},
						{Name: "projectName", Value: *pipelinev1.NewStructuredValues("pipeline")},
						{Name: "releaseBucket", Value: *pipelinev1.NewStructuredValues("gs://tekton-releases/pipeline")},
						{Name: "version", Value: *pipelinev1.NewStructuredValues(version)},
					},
					Workspaces: []pipelinev1.WorkspaceBinding{{Name: "targetCluster", Secret: &corev1.SecretVolumeSource{SecretName: "dogfooding-kubeconfig"}}},
				},
			}, kube.Succeeded)

			retry := w.slack("andrea", "promote pipeline "+version, true, "r1")
			want := "stopped: the PipelineRun `" + name + "` on dogfooding was not made by tekbot for this promotion"
			if retry.Outcome != bot.Refused || !strings.Contains(retry.Text, want) {
				t.Fatalf("retry: %s %q, want a refusal containing %q", retry.Outcome, retry.Text, want)
			}
			w.notes.next(t, "❌ Promoting *pipeline* `"+version+"` to *dogfooding* "+want)
			book, err := record.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if p := book.Promotions[0]; p.State != promotion.Failed || !strings.Contains(p.Result, "not made by tekbot") {
				t.Errorf("record: %s %q", p.State, p.Result)
			}
			if d := book.Deployed("pipeline", "dogfooding"); d != nil {
				t.Errorf("the foreign run (%s) made the record say %q runs", tekton.StateOf(foreign), d.Version)
			}
			if got := w.records.byItself(); !slices.Equal(got, []string{"refuse pipeline " + version + " on dogfooding: refused"}) {
				t.Errorf("audit of what tekbot did by itself = %q", got)
			}
		})
	}
}

// TestPromotePreCreatedVerificationRunIsNotTaken: a verification run
// created in advance under the name it would have had from the
// promotion's ID cannot verify a version (it succeeded) or force a
// rollback (it failed): tekbot verifies with a run of its own.
func TestPromotePreCreatedVerificationRunIsNotTaken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		squatted, own kube.RunState
		want          string
	}{
		{kube.Succeeded, kube.Failed, "❌ *pipeline* `" + bad + "` failed verification"},
		{kube.Failed, kube.Succeeded, "✅ *pipeline* `" + bad + "` is verified on *dogfooding*"},
	}
	for _, tt := range tests {
		t.Run(string(tt.squatted), func(t *testing.T) {
			t.Parallel()
			w := newVerifyWorld(t)
			w.verifiedGood()
			name := "verify-pipeline-" + nameDigest("p-bad", "dogfooding", "0")[:10]
			squat(w.promoWorld, w.nightly, w.nightlyNS, name, "p-bad", map[string]string{
				promotion.LabelVerifies: "pipeline", promotion.LabelVersion: bad,
			}, tt.squatted)

			run := w.promote("p-bad", bad)
			w.install(bad)
			w.finish(run, kube.Succeeded)
			w.notes.next(t, "Verifying it until")
			own := w.verification(bad, tt.own)
			if own.Name == name || own.Annotations[tekton.AnnotationRequestID] != "p-bad" {
				t.Fatalf("verification run %s (%v), want tekbot's own", own.Name, own.Annotations)
			}
			post := w.notes.next(t, tt.want)
			if strings.Contains(post.reply.Text, name) {
				t.Errorf("the squatted run is cited: %s", post.reply.Text)
			}
			if tt.own == kube.Succeeded {
				if n := w.runsOf(good); n != 1 || len(w.pages.list()) != 0 {
					t.Errorf("%d deploys of %s and pages %q, want no rollback", n, good, w.pages.list())
				}
			}
		})
	}
}

// TestPromoteForeignVerificationRunIsNoEvidence: someone who learnt the
// name of a verification run (its nonce leaked) creates a run there first,
// claiming the promotion's request. It is no evidence either way: the
// version is not verified, and tekbot does not roll back by itself,
// although the environment says autoRollback; the captain is paged and
// people get a Roll back button.
func TestPromoteForeignVerificationRunIsNoEvidence(t *testing.T) {
	t.Parallel()
	w := newVerifyWorld(t)
	w.verifiedGood()
	run := w.promote("p-bad", bad)
	name := "verify-pipeline-" + nameDigest("p-bad", "dogfooding", w.promotion("p-bad").Nonce, "0")[:10]
	squat(w.promoWorld, w.nightly, w.nightlyNS, name, "p-bad", map[string]string{
		promotion.LabelVerifies: "pipeline", promotion.LabelVersion: bad,
	}, kube.Succeeded)
	w.install(bad)
	w.finish(run, kube.Succeeded)
	w.notes.next(t, "Verifying it until")
	post := w.notes.next(t, "❌ *pipeline* `"+bad+"` failed verification on *dogfooding*: the PipelineRun `"+name+"` on nightly was not made by tekbot for this promotion")
	if !strings.Contains(post.reply.Text, "does not roll back by itself") || post.reply.Confirm == nil || post.reply.Confirm.Button != "Roll back" {
		t.Errorf("post: %q (confirm %+v)", post.reply.Text, post.reply.Confirm)
	}
	if p := w.promotion("p-bad"); p.State != promotion.FailedVerification {
		t.Errorf("promotion %s", p.State)
	}
	if n := w.runsOf(good); n != 1 {
		t.Errorf("%d deploys of %s: tekbot rolled back by itself", n, good)
	}
	// The page follows the post.
	waitFor(t, "the page", func() bool { return len(w.pages.list()) >= 1 })
	if got := w.pages.list(); len(got) != 1 {
		t.Errorf("pages = %q, want one", got)
	}
	if got := w.records.byItself(); !slices.Equal(got, []string{"refuse pipeline " + bad + " on dogfooding: refused"}) {
		t.Errorf("audit of what tekbot did by itself = %q", got)
	}
}

// TestPromoteGitOpsForeignChangeIsNotMerged: under autoMerge, a commit
// someone pushes onto tekbot's promotion branch, or its PR pointed at
// another base, is not merged, however green GitHub says the PR is: the
// promotion stops and says so in the releases thread, audited.
func TestPromoteGitOpsForeignChangeIsNotMerged(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(r *gitRepo, branch string)
		want   string
	}{
		{"a commit pushed onto its branch", func(r *gitRepo, branch string) {
			r.push(branch, plumbingFile, backdoored)
		}, "a commit tekbot did not write"},
		{"its base changed to a release branch", func(r *gitRepo, _ string) {
			r.retarget(1, "release-v0.59.x")
		}, "merges into `release-v0.59.x`, not into `main`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, repo, w := openedGitOpsPR(t)
			tt.change(repo, w.promotion("g1").Branch)
			repo.setReady(1, true)
			w.clock.Step(time.Minute)
			post := w.notes.next(t, "❌ Promoting *pipeline* `"+good+"` to *dogfooding* stopped: ")
			if !strings.Contains(post.reply.Text, tt.want) || post.thread.TS != threadOf(t, w.promoWorld, "g1") {
				t.Errorf("post in %+v: %s, want it in the promotion's thread saying %q", post.thread, post.reply.Text, tt.want)
			}
			if n := srv.Calls("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"); n != 0 {
				t.Errorf("%d merge requests", n)
			}
			if p := w.promotion("g1"); p.State != promotion.Failed {
				t.Errorf("promotion %s", p.State)
			}
			if got := w.records.byItself(); !slices.Equal(got, []string{"refuse pipeline " + good + " on dogfooding: refused"}) {
				t.Errorf("audit of what tekbot did by itself = %q", got)
			}
		})
	}
}

// openedGitOpsPR promotes good to dogfooding through tekbot's own PR
// (#1) to tektoncd/plumbing, which it merges itself once ready, and
// returns when tekbot waits for its next look at the PR.
func openedGitOpsPR(t *testing.T) (*githubtest.Server, *gitRepo, *verifyWorld) {
	t.Helper()
	srv, repo, api := plumbing(t, plumbingFile, plumbingPin)
	w := newClockedWorld(t, api, func(*promoWorld) config.Environment { return autoMerged() })
	w.release("pipeline", good, kube.Succeeded)
	w.promote("g1", good)
	waitFor(t, "tekbot to wait for the next poll", w.clock.HasWaiters)
	return srv, repo, w
}

// plumbingFile in tektoncd/plumbing pins pipeline's release for
// dogfooding; backdoored is what someone else would like to merge: the
// promoted version, and more.
const (
	plumbingFile = "tekton/cd/pipeline/overlays/dogfooding/kustomization.yaml"
	plumbingPin  = "resources:\n  - https://storage.googleapis.com/tekton-releases/pipeline/previous/v20261101-0000000/release.yaml\n"
	backdoored   = "resources:\n  - https://storage.googleapis.com/tekton-releases/pipeline/previous/" + good + "/release.yaml\n  - https://evil.example/backdoor.yaml\n"
)

// autoMerged promotes to dogfooding through a PR to tektoncd/plumbing that
// tekbot merges itself.
func autoMerged() config.Environment {
	env := config.Environment{
		Name: "dogfooding", Strategy: config.StrategyGitOps, Repository: "tektoncd/plumbing",
		Path: "tekton/cd/{{.Project}}/overlays/{{.Environment}}/kustomization.yaml", Pattern: `previous/(v[0-9][^/]*)/`,
	}
	env.AutoMerge = true
	return env
}

// TestPromotionTrainPreCreatedBranchAndPRAreNotMerged: a train's ID is
// known days ahead. Someone with write access pre-creates the branch its
// promotion would have had, with their own commit, and opens the PR.
// tekbot works on a branch of its own and merges only its own PR.
func TestPromotionTrainPreCreatedBranchAndPRAreNotMerged(t *testing.T) {
	t.Parallel()
	srv, repo, api := plumbing(t, plumbingFile, plumbingPin)
	w := newClockedWorld(t, api, func(*promoWorld) config.Environment {
		env := autoMerged()
		env.Train = &config.Train{At: "10:00", TimeZone: "UTC", Projects: []string{"pipeline"}}
		return env
	})
	w.release("pipeline", good, kube.Succeeded)
	id := "train/dogfooding/pipeline/" + monday.Format(time.DateOnly)
	theirs := fmt.Sprintf("tekbot/promote-pipeline-%s-%s", good, nameDigest(id, "dogfooding")[:8])
	repo.push(theirs, plumbingFile, backdoored)
	if _, err := repo.open(gh.NewPullRequest{Title: gh.String("Promote pipeline " + good + " to dogfooding"), Head: gh.String(theirs), Base: gh.String("main")}); err != nil {
		t.Fatal(err)
	}
	repo.setReady(1, true)

	ctx := context.Background()
	if err := w.engine.TrainTick(ctx, monday.Add(5*time.Minute), &state.Claims{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}); err != nil {
		t.Fatal(err)
	}
	offer := w.notes.next(t, "🚂 Promotion train: promote *pipeline* to *dogfooding*").offer
	if offer == nil || offer.ID != id {
		t.Fatalf("train offer %+v, want request %s", offer, id)
	}
	if _, started, err := w.engine.Confirm(ctx, promotion.Request{ID: id, Project: "pipeline", Version: good, By: "andrea"}); err != nil || !started {
		t.Fatalf("approve: started %v, %v", started, err)
	}
	w.notes.next(t, "Opened a pull request; it deploys when merged: [tektoncd/plumbing#2]")
	p := w.promotion(id)
	if p.Branch == theirs || p.PullRequest != 2 || p.Commit != repo.head(p.Branch) {
		t.Fatalf("promotion on branch %s, PR %d, commit %s; want its own branch, PR #2 and commit %s", p.Branch, p.PullRequest, p.Commit, repo.head(p.Branch))
	}
	waitFor(t, "tekbot to wait for the next poll", w.clock.HasWaiters)
	repo.setReady(2, true)
	w.clock.Step(time.Minute)
	w.notes.next(t, "✅ *pipeline* `"+good+"` is on *dogfooding*")
	var merges []githubtest.Request
	for _, req := range srv.Requests() {
		if req.Method == "PUT" && req.Template == "/repos/{owner}/{repo}/pulls/{pull_number}/merge" {
			merges = append(merges, req)
		}
	}
	var body map[string]string
	if len(merges) != 1 || merges[0].Params["pull_number"] != "2" || json.Unmarshal(merges[0].Body, &body) != nil || body["sha"] != p.Commit {
		t.Fatalf("merge requests %v, want one of #2 at %s", merges, p.Commit)
	}
}

// madeBeforeNonces rewrites promotion id's record as a tekbot from before
// nonces left it: no nonce, and no commit of its own recorded.
func madeBeforeNonces(t *testing.T, w *promoWorld, id string) {
	t.Helper()
	record := promotion.Record{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
	err := record.Update(context.Background(), time.Now(), func(b *promotion.Book) error {
		for _, p := range b.Promotions {
			if p.ID == id {
				p.Nonce, p.Commit, p.Base = "", "", ""
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPromoteInFlightAtUpgradeCarriesOn: promotions a tekbot from before
// nonces started carry on after the upgrade as they would have: the
// verification runs under the name that tekbot derived from the ID alone
// (so a resumed one finds its run rather than starting a second), and a
// gitops promotion with no recorded commit is merged at the head GitHub
// says is ready, not stopped as foreign.
func TestPromoteInFlightAtUpgradeCarriesOn(t *testing.T) {
	t.Parallel()
	t.Run("verification", func(t *testing.T) {
		t.Parallel()
		w := newVerifyWorld(t)
		w.verifiedGood()
		run := w.promote("p-old", bad)
		madeBeforeNonces(t, w.promoWorld, "p-old")
		w.install(bad)
		w.finish(run, kube.Succeeded)
		w.notes.next(t, "Verifying it until")
		vr := w.verification(bad, kube.Succeeded)
		if want := "verify-pipeline-" + nameDigest("p-old", "dogfooding", "0")[:10]; vr.Name != want {
			t.Errorf("verification run %s, want %s as named before nonces", vr.Name, want)
		}
		w.notes.next(t, "✅ *pipeline* `"+bad+"` is verified on *dogfooding*")
	})
	t.Run("gitops", func(t *testing.T) {
		t.Parallel()
		srv, repo, w := openedGitOpsPR(t)
		madeBeforeNonces(t, w.promoWorld, "g1")
		repo.setReady(1, true)
		w.clock.Step(time.Minute)
		w.notes.next(t, "✅ *pipeline* `"+good+"` is on *dogfooding*")
		head := repo.head(w.promotion("g1").Branch)
		var merges []githubtest.Request
		for _, req := range srv.Requests() {
			if req.Method == "PUT" && req.Template == "/repos/{owner}/{repo}/pulls/{pull_number}/merge" {
				merges = append(merges, req)
			}
		}
		var body map[string]string
		if len(merges) != 1 || json.Unmarshal(merges[0].Body, &body) != nil || body["sha"] != head {
			t.Errorf("merge requests %v, want one at the head %s", merges, head)
		}
	})
}

// TestPromoteGitOpsPushUnderItsCommitIsNotMerged: someone with write
// access pushes to tekbot's new branch between its creation and tekbot's
// commit, which the contents API then puts on top of theirs: the head is
// tekbot's, but the branch carries their change too. tekbot sees that its
// commit's parent is not where it created the branch, opens no PR and
// merges nothing; the promotion stops, said in the reply and the thread.
func TestPromoteGitOpsPushUnderItsCommitIsNotMerged(t *testing.T) {
	t.Parallel()
	srv, repo, api := plumbing(t, plumbingFile, plumbingPin)
	repo.pushOnCreate = map[string]string{"tekton/cd/pipeline/overlays/dogfooding/backdoor.yaml": "kind: ClusterRoleBinding\n"}
	w := newClockedWorld(t, api, func(*promoWorld) config.Environment { return autoMerged() })
	w.release("pipeline", good, kube.Succeeded)
	if r := w.slack("andrea", "promote pipeline "+good, false, "g1"); r.Outcome != bot.Pending {
		t.Fatalf("ask: %s %q", r.Outcome, r.Text)
	}
	r := w.slack("andrea", "promote pipeline "+good, true, "g1")
	const want = "someone pushed to it first"
	if r.Outcome != bot.Refused || !strings.Contains(r.Text, want) {
		t.Fatalf("confirm: %s %q, want a refusal containing %q", r.Outcome, r.Text, want)
	}
	w.notes.next(t, "❌ Promoting *pipeline* `"+good+"` to *dogfooding* stopped: ")
	if n := srv.Calls("POST", "/repos/{owner}/{repo}/pulls") + srv.Calls("PUT", "/repos/{owner}/{repo}/pulls/{pull_number}/merge"); n != 0 {
		t.Errorf("%d pull requests opened or merged", n)
	}
	if p := w.promotion("g1"); p.State != promotion.Failed || p.Commit != "" {
		t.Errorf("promotion %s, commit %q recorded", p.State, p.Commit)
	}
}
