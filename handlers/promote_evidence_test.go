package handlers_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/localregistry"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/registrytest"
)

// forgedRelease is what a PR author's .tekton/ PipelineRun can look like
// once Pipelines-as-Code has started it: named and labelled as the
// release pipeline, with the tag they chose, and PaC's labels.
func (w *promoWorld) forgedRelease(ns, tag string) {
	w.t.Helper()
	pr := w.releaseRun("pipeline", tag)
	pr.Name = "pr-1234-" + strings.ReplaceAll(tag, ".", "-")
	for k, v := range map[string]string{
		"pipelinesascode.tekton.dev/repository":   "pipeline",
		"pipelinesascode.tekton.dev/pull-request": "1234",
		"pipelinesascode.tekton.dev/event-type":   "pull_request",
	} {
		pr.Labels[k] = v
	}
	w.create(w.nightly, ns, pr, kube.Succeeded)
}

func TestPromoteRefusesReleaseEvidenceAPullRequestWrote(t *testing.T) {
	t.Parallel()
	const (
		failed = "v20261123-aaaaaaa" // the real nightly, whose release failed
		chosen = "v20261124-bbbbbbb" // the PR author's tag
	)
	tests := []struct {
		name string
		// releases: where release runs are read; "" is the default
		// (the nightly cluster's namespace).
		separate bool
		// forge seeds the PR author's run; a plain run (no PaC labels)
		// stands for one a PR's task created in the PR namespace.
		forge func(w *promoWorld, releaseNS string)
	}{
		{"a pipelines-as-code run in a shared namespace", false, func(w *promoWorld, _ string) { w.forgedRelease(w.nightlyNS, chosen) }},
		{"a pipelines-as-code run in the release namespace", true, func(w *promoWorld, releaseNS string) { w.forgedRelease(releaseNS, chosen) }},
		{"a plain run in the PR namespace", true, func(w *promoWorld, _ string) {
			w.create(w.nightly, w.nightlyNS, w.releaseRun("pipeline", chosen), kube.Succeeded)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := dogfooding()
			w := newPromoWorld(t, nil, env)
			releaseNS := w.nightlyNS
			if tt.separate {
				releaseNS = w.nightly.Namespace(t)
				w.cfg.Promotion.Environments[0].Releases = &config.Releases{Namespace: releaseNS}
			}
			w.create(w.nightly, releaseNS, w.releaseRun("pipeline", failed), kube.Failed)
			tt.forge(w, releaseNS)

			if r := w.slack("andrea", "promote pipeline "+chosen, false, "f1"); r.Outcome != bot.Refused || !strings.Contains(r.Text, "No release run of pipeline `"+chosen+"`") {
				t.Errorf("the forged tag: %s %q", r.Outcome, r.Text)
			}
			if r := w.slack("andrea", "promote pipeline nightly", false, "f2"); r.Outcome != bot.Refused || strings.Contains(r.Text, chosen) ||
				!strings.Contains(r.Text, "No nightly release of pipeline has succeeded") {
				t.Errorf("nightly: %s %q", r.Outcome, r.Text)
			}
			if r := w.slack("andrea", "promote pipeline "+failed, false, "f3"); r.Outcome != bot.Refused || !strings.Contains(r.Text, "did not succeed") {
				t.Errorf("the failed nightly: %s %q", r.Outcome, r.Text)
			}
			// The real release, once it succeeds, is evidence.
			good := w.releaseRun("pipeline", "v20261125-ccccccc")
			w.create(w.nightly, releaseNS, good, kube.Succeeded)
			if r := w.slack("andrea", "promote pipeline nightly", false, "f4"); r.Outcome != bot.Pending || !strings.Contains(r.Text, "→ `v20261125-ccccccc`") {
				t.Errorf("the real release: %s %q", r.Outcome, r.Text)
			}
		})
	}
}

// TestPromoteNightlyImageByProvenanceAndDigest publishes a nightly image
// as Tekton's release pipeline and Chains do, to a registry on loopback,
// and promotes it through Slack: with chains, only a provenance signed
// with the configured key, naming the release pipeline and the commit
// the tag carries, vouches for it, and the soak runs from when that says
// the build finished; in every case the digest checked when asked is the
// one deployed, and a tag moved before the confirmation deploys nothing.
func TestPromoteNightlyImageByProvenanceAndDigest(t *testing.T) {
	t.Parallel()
	const (
		version = "v20261124-4f2b9c1"
		commit  = "4f2b9c1e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
	)
	now := time.Now()
	key, other := registrytest.Key(t), registrytest.Key(t)
	moveTag := func(ctx context.Context, t *testing.T, r *localregistry.Registry, n localregistry.Nightly) {
		if _, err := r.Publish(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		chains bool
		change func(*localregistry.Nightly)
		// between runs after the ask, before the confirmation.
		between                    func(context.Context, *testing.T, *localregistry.Registry, localregistry.Nightly)
		askRefused, confirmRefused string
	}{
		{name: "signed provenance", chains: true},
		{name: "signed with another key", chains: true, change: func(n *localregistry.Nightly) { n.Key = other },
			askRefused: "Provenance: no attestation of the image tagged `" + version + "` is signed with the configured key."},
		{name: "built by another pipeline", chains: true, change: func(n *localregistry.Nightly) { n.Pipeline = "pipeline-pr-build" },
			askRefused: "Provenance: `" + version + "` was built by pipeline \"pipeline-pr-build\", not the release pipeline `pipeline-release`."},
		// A PR's .tekton/ run with an embedded spec, named as the release
		// pipeline: Tekton labels it with its own name, Chains signs it.
		{name: "built by a pull request's run named as the release pipeline", chains: true, change: func(n *localregistry.Nightly) {
			n.Labels = map[string]string{"pipelinesascode.tekton.dev/pull-request": "1234", "pipelinesascode.tekton.dev/event-type": "pull_request"}
		}, askRefused: "Provenance: `" + version + "` was built by a run Pipelines-as-Code started for a pull request"},
		{name: "built from another commit", chains: true, change: func(n *localregistry.Nightly) { n.Commit = "0badc0de" + commit[8:] },
			askRefused: "Provenance: `" + version + "` was not built from a commit starting 4f2b9c1"},
		{name: "no attestation", chains: true, change: func(n *localregistry.Nightly) { n.Key = nil },
			askRefused: "Provenance: the image tagged `" + version + "` has no attestation from Tekton Chains"},
		{name: "a backdated image built an hour ago", chains: true, change: func(n *localregistry.Nightly) { n.Finished = now.Add(-time.Hour) },
			askRefused: "`" + version + "` is still soaking"},
		{name: "re-tagged between ask and confirm", chains: true, between: moveTag,
			confirmRefused: "The tag `" + version + "` no longer points to the image checked when this was asked"},
		{name: "without chains", chains: false},
		{name: "without chains, re-tagged between ask and confirm", chains: false, between: moveTag,
			confirmRefused: "The tag `" + version + "` no longer points to the image checked when this was asked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg := registrytest.Start(t)
			n := localregistry.Nightly{
				Repository: "tektoncd/pipeline/controller", Tag: version, Created: now.Add(-72 * time.Hour),
				Key: key, Pipeline: "pipeline-release", Commit: commit, Finished: now.Add(-48 * time.Hour),
			}
			if tt.change != nil {
				tt.change(&n)
			}
			digest, err := reg.Publish(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			env := dogfooding()
			env.Params["image"], env.Params["digest"] = "{{.ImageRef}}", "{{.Digest}}"
			env.SoakPeriod = config.Duration{Duration: 24 * time.Hour}
			env.NightlyImage = reg.Host + "/tektoncd/{{.Project}}/controller"
			if tt.chains {
				env.Chains = &config.Chains{PublicKey: key.PublicPEM()}
			}
			w := newPromoWorld(t, nil, env)

			asked := w.slack("andrea", "promote pipeline "+version, false, "d1")
			if tt.askRefused != "" {
				if asked.Outcome != bot.Refused || !strings.Contains(asked.Text, tt.askRefused) {
					t.Fatalf("ask: %s %q, want refused with %q", asked.Outcome, asked.Text, tt.askRefused)
				}
				return
			}
			wants := []string{"image `tektoncd/pipeline/controller:" + version + "` is `" + digest.String() + "`"}
			if tt.chains {
				wants = append(wants, "provenance signed by Tekton Chains: pipeline `pipeline-release`, commit `"+commit+"`", "soaked 48h")
			} else {
				wants = append(wants, "as the image says", "soaked 72h")
			}
			for _, want := range wants {
				if !strings.Contains(asked.Text, want) {
					t.Errorf("the ask lacks %q:\n%s", want, asked.Text)
				}
			}
			if asked.Outcome != bot.Pending || asked.Confirm == nil || !strings.Contains(asked.Confirm.Text, digest.String()) || strings.Contains(asked.Text, reg.Host) {
				t.Fatalf("ask: %s %q (confirm %+v)", asked.Outcome, asked.Text, asked.Confirm)
			}
			if tt.between != nil {
				tt.between(ctx, t, reg, n)
			}
			done := w.slack("andrea", "promote pipeline "+version, true, "d1")
			runs := w.deploys()
			if tt.confirmRefused != "" {
				if done.Outcome != bot.Refused || !strings.Contains(done.Text, tt.confirmRefused) || len(runs) != 0 {
					t.Fatalf("confirm: %s %q, %d deploys; want refused with %q", done.Outcome, done.Text, len(runs), tt.confirmRefused)
				}
				return
			}
			if done.Outcome != bot.Done || len(runs) != 1 {
				t.Fatalf("confirm: %s %q, %d deploys", done.Outcome, done.Text, len(runs))
			}
			got := params(&runs[0])
			if want := reg.Host + "/tektoncd/pipeline/controller:" + version + "@" + digest.String(); got["image"] != want || got["digest"] != digest.String() {
				t.Errorf("deploy params image=%q digest=%q, want %q and %q", got["image"], got["digest"], want, digest)
			}
			book, err := w.deps.Promotions().Book(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if p := book.Promotions[0]; p.Image == nil || p.Image.Digest != digest.String() {
				t.Errorf("the record keeps image %+v, want digest %s", p.Image, digest)
			}
		})
	}
}

// TestPromoteRollbackDeploysTheDigestDeployedBefore: a rollback skips the
// evidence gate, so it must not trust the tag either: with the tag moved
// to another image since, it deploys the digest the record kept, also
// once the promotions that recorded it have been pruned. A version whose
// digest is recorded nowhere (deployed before the record kept them) is
// refused, in words, and nothing is deployed.
func TestPromoteRollbackDeploysTheDigestDeployedBefore(t *testing.T) {
	t.Parallel()
	const old, next = "v20261123-aaaaaaa", "v20261124-bbbbbbb"
	tests := []struct {
		name string
		// forget edits the record before the rollback.
		forget  func(b *promotion.Book)
		refused string
	}{
		{name: "its promotion kept"},
		{name: "its promotion pruned since", forget: func(b *promotion.Book) { b.Promotions = nil }},
		{name: "recorded before digests were kept", forget: func(b *promotion.Book) {
			b.Promotions = nil
			for _, d := range b.Production {
				d.Images = nil
			}
		}, refused: "No digest is recorded for pipeline `" + old + "` as it ran on dogfooding before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			reg, key := registrytest.Start(t), registrytest.Key(t)
			publish := func(tag string, key *localregistry.Key) string {
				d, err := reg.Publish(ctx, localregistry.Nightly{Repository: "tektoncd/pipeline/controller", Tag: tag, Created: time.Now(),
					Key: key, Pipeline: "pipeline-release", Commit: tag[10:] + strings.Repeat("0", 33), Finished: time.Now().Add(-time.Hour)})
				if err != nil {
					t.Fatal(err)
				}
				return d.String()
			}
			deployed := publish(old, key)
			publish(next, key)
			env := dogfooding()
			env.Params["image"] = "{{.ImageRef}}"
			env.NightlyImage = reg.Host + "/tektoncd/{{.Project}}/controller"
			env.Chains = &config.Chains{PublicKey: key.PublicPEM()}
			w := newPromoWorld(t, nil, env)
			promote := func(id, version string) string {
				t.Helper()
				if r := w.slack("andrea", "promote pipeline "+version, false, id); r.Outcome != bot.Pending {
					t.Fatalf("ask %s: %s %q", version, r.Outcome, r.Text)
				}
				if r := w.slack("andrea", "promote pipeline "+version, true, id); r.Outcome != bot.Done {
					t.Fatalf("confirm %s: %s %q", version, r.Outcome, r.Text)
				}
				for _, run := range w.deploys() {
					if run.Annotations[tekton.AnnotationRequestID] == id {
						w.finish(run.Name, kube.Succeeded)
						w.notes.next(t, "🚀")
						w.notes.next(t, "✅ *pipeline* `"+version+"` is on *dogfooding*")
						return params(&run)["image"]
					}
				}
				t.Fatalf("no deploy for %s", id)
				return ""
			}
			promote("r1", old)
			promote("r2", next)
			publish(old, nil) // the tag moves to an image nobody checked
			if tt.forget != nil {
				record := promotion.Record{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
				if err := record.Update(ctx, time.Now(), func(b *promotion.Book) error { tt.forget(b); return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if tt.refused != "" {
				r := w.slack("andrea", "promote pipeline "+old, false, "r3")
				if r.Outcome != bot.Refused || !strings.Contains(r.Text, tt.refused) || strings.Contains(r.Text, reg.Host) {
					t.Errorf("rollback: %s %q, want refused with %q", r.Outcome, r.Text, tt.refused)
				}
				if n := len(w.deploys()); n != 2 {
					t.Errorf("%d deploys, want the 2 promotions only", n)
				}
				return
			}
			if got, want := promote("r3", old), reg.Host+"/tektoncd/pipeline/controller:"+old+"@"+deployed; got != want {
				t.Errorf("the rollback deployed %q, want %q", got, want)
			}
		})
	}
}

// TestPromoteAutomaticRollbackWithoutARecordedDigestPages: nightlies come
// from an image, and the record holds no digest for the last verified
// version (deployed before the record kept them, its promotion pruned).
// A failed verification does not roll back to whatever the tag points to
// now: it says why and pages, and deploys nothing.
func TestPromoteAutomaticRollbackWithoutARecordedDigestPages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := registrytest.Start(t)
	for _, tag := range []string{good, bad} {
		if _, err := reg.Publish(ctx, localregistry.Nightly{Repository: "tektoncd/pipeline/controller", Tag: tag, Created: time.Now().Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	w := newClockedWorld(t, nil, func(w *promoWorld) config.Environment {
		env := verifying(w, true)
		env.NightlyImage = reg.Host + "/tektoncd/{{.Project}}/controller"
		env.Params["image"] = "{{.ImageRef}}"
		return env
	})
	w.verifiedGood()
	run := w.promote("p-bad", bad)
	record := promotion.Record{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
	err := record.Update(ctx, time.Now(), func(b *promotion.Book) error {
		b.Promotions = slices.DeleteFunc(b.Promotions, func(p *promotion.Promotion) bool { return p.ID == "p-good" })
		for _, d := range b.Production {
			d.Images = nil
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w.install(bad)
	w.finish(run, kube.Succeeded)
	w.notes.next(t, "Verifying it until")
	w.verification(bad, kube.Failed)
	post := w.notes.next(t, "❌ *pipeline* `"+bad+"` failed verification on *dogfooding*")
	if !strings.Contains(post.reply.Text, "No digest is recorded for `"+good+"`, the last verified version") || post.reply.Confirm != nil {
		t.Errorf("failure post: %q (confirm %+v)", post.reply.Text, post.reply.Confirm)
	}
	// The page follows the post.
	waitFor(t, "the page", func() bool { return len(w.pages.list()) >= 1 })
	if got := w.pages.list(); len(got) != 1 {
		t.Errorf("pages = %q, want one", got)
	}
	if n := w.runsOf(good); n != 1 {
		t.Errorf("%d deploys of %s: tekbot rolled back without a digest", n, good)
	}
}
