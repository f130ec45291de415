package handlers_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"tekbot/config"
	"tekbot/promotion"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
)

// TestPromoteGitOpsToTheEnd: tekbot opens the PR, waits while GitHub
// blocks it for a review, merges it once GitHub reports it clean (pinning
// the head it saw), then follows the version into the cluster and
// verifies it.
func TestPromoteGitOpsToTheEnd(t *testing.T) {
	t.Parallel()
	const pull = "/repos/{owner}/{repo}/pulls/{pull_number}"
	srv, repo, api := plumbing(t, plumbingFile, plumbingPin)
	w := newClockedWorld(t, api, func(w *promoWorld) config.Environment {
		env := verifying(w, false)
		env.Strategy, env.PipelineRef, env.Params, env.SecretWorkspaces = config.StrategyGitOps, "", nil, nil
		env.Repository, env.Path, env.Pattern = "tektoncd/plumbing", "tekton/cd/{{.Project}}/overlays/{{.Environment}}/kustomization.yaml", `previous/(v[0-9][^/]*)/`
		env.AutoMerge, env.Verify.Cluster = true, "dogfooding"
		return env
	})
	w.release("pipeline", good, kube.Succeeded)
	w.promote("g1", good)
	// Branch protection wants a review: GitHub says "blocked".
	repo.setReady(1, false)
	head := repo.head(w.promotion("g1").Branch)
	poll := func() {
		t.Helper()
		before := srv.Calls("GET", pull)
		waitFor(t, "tekbot to wait for the next poll", w.clock.HasWaiters)
		w.clock.Step(time.Minute)
		waitFor(t, "tekbot to read the pull request", func() bool { return srv.Calls("GET", pull) > before })
	}
	poll()
	waitFor(t, "tekbot to wait again", w.clock.HasWaiters)
	if n := srv.Calls("PUT", pull+"/merge"); n != 0 {
		t.Fatalf("merged %d times while GitHub blocked the PR", n)
	}
	// Approved, checks green: GitHub says "clean".
	repo.setReady(1, true)
	w.install(good)
	poll()
	w.notes.next(t, "✅ *pipeline* `"+good+"` is on *dogfooding*")
	var merges []githubtest.Request
	for _, req := range srv.Requests() {
		if req.Method == "PUT" && req.Template == pull+"/merge" {
			merges = append(merges, req)
		}
	}
	if len(merges) != 1 || merges[0].Status != 200 || merges[0].OperationID != "pulls/merge" {
		t.Fatalf("merge requests: %v", merges)
	}
	var body map[string]string
	if err := json.Unmarshal(merges[0].Body, &body); err != nil {
		t.Fatal(err)
	}
	if body["sha"] != head || !strings.Contains(body["commit_title"], "Promote pipeline "+good+" to dogfooding") {
		t.Errorf("merge body %v", body)
	}
	vr := w.verification(good, kube.Succeeded)
	ok := w.notes.next(t, "✅ *pipeline* `"+good+"` is verified on *dogfooding*")
	if !strings.Contains(ok.reply.Text, "`pipelines-info` on dogfooding reports `"+good+"`") || !strings.Contains(ok.reply.Text, vr.Name) {
		t.Errorf("verified post: %s", ok.reply.Text)
	}
	if p := w.promotion("g1"); p.State != promotion.Verified || p.Result != "merged" || p.History() != "promoted → verified" {
		t.Errorf("record: %s %q %q", p.State, p.Result, p.History())
	}
}

// TestPromoteGitOpsOfThePinnedVersionSaysSo: promoting the version the
// file pins already changes nothing. The promotion fails with that reason
// in words, in the reply and in its record, not as an error of a cluster
// that a gitops environment does not have; no branch is left behind and
// no PR is opened.
func TestPromoteGitOpsOfThePinnedVersionSaysSo(t *testing.T) {
	t.Parallel()
	srv, _, api := plumbing(t, plumbingFile, strings.Replace(plumbingPin, "v20261101-0000000", good, 1))
	w := newClockedWorld(t, api, func(*promoWorld) config.Environment { return autoMerged() })
	w.release("pipeline", good, kube.Succeeded)
	ctx := context.Background()
	r := promotion.Request{ID: "g1", Project: "pipeline", Version: good, By: "andrea"}
	if _, err := w.engine.Ask(ctx, r); err != nil {
		t.Fatal(err)
	}
	_, started, err := w.engine.Confirm(ctx, r)
	var no *promotion.Refusal
	if started || !errors.As(err, &no) || !strings.Contains(no.Msg, "pins `"+good+"` already") {
		t.Fatalf("confirm: started %v, %v; want a refusal saying the file pins it already", started, err)
	}
	if p := w.promotion("g1"); p.State != promotion.Failed || p.Result != "could not start: "+no.Msg {
		t.Errorf("record: %s %q", p.State, p.Result)
	}
	if n := srv.Calls("POST", "/repos/{owner}/{repo}/pulls"); n != 0 {
		t.Errorf("opened %d pull requests", n)
	}
	if n := srv.Calls("POST", "/repos/{owner}/{repo}/git/refs"); n != 0 {
		t.Errorf("created %d branches", n)
	}
}
