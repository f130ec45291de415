package github_test

// Regression tests for issue 11: what an outside contributor could make
// tekbot do through PR comments, each refused on a real apiserver with
// GitHub's own payloads, signed as GitHub signs them.

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"tekbot/config"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
)

const pushedSHA = "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"

// push moves the PR's head to sha, as a push by its author does.
func (e *env) push(sha string) {
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: prNumber, User: contributor, HeadSHA: sha})
}

func (e *env) say(r *replica, login, body string, commentID int64) {
	e.t.Helper()
	id := "d-" + login + "-" + strings.ReplaceAll(body, " ", "_") + "-" + time.Now().Format("150405.000000000")
	if code, msg := r.Deliver(e.t, "issue_comment", id, e.comment(login, body, commentID)); code != http.StatusAccepted {
		e.t.Fatalf("%s by %s: %d %s", body, login, code, msg)
	}
	r.Drain(e.t)
}

func (e *env) specStatus(name string) string {
	e.t.Helper()
	run, err := e.cluster.Tekton.TektonV1().PipelineRuns(e.ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return string(run.Spec.Status)
}

func (e *env) lastComment() string {
	e.t.Helper()
	cs := e.gh.Comments(owner, repoName, prNumber)
	if len(cs) == 0 {
		e.t.Fatal("no reply on the PR")
	}
	return cs[len(cs)-1].Body
}

// TestTrustCoversTheApprovedCommitOnly: after a maintainer's /ok-to-test,
// the author pushes; Pipelines-as-Code creates the new commit's runs
// Pending. Neither /test all, /test <name> nor /retest <name> by the author
// starts them, and an /ok-to-test naming the old commit approves nothing.
func TestTrustCoversTheApprovedCommitOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Failed, false)
	e.say(e.replica(), maintainer, "/ok-to-test", 5001)
	e.say(e.replica(), contributor, "/retest", 5002)
	if got := reruns(e.runs()); len(got) != 1 {
		t.Fatalf("the author's /retest of the approved commit: reruns %v", keys(got))
	}

	e.push(pushedSHA)
	pending := e.seedAt(pushedSHA, "integration", "", true)
	failed := e.seedAt(pushedSHA, "lint", kube.Failed, false)
	for i, body := range []string{"/test all", "/test integration", "/retest integration", "/retest lint", "/retest"} {
		e.say(e.replica(), contributor, body, int64(5010+i))
	}
	if st := e.specStatus(pending.Name); st != "PipelineRunPending" {
		t.Fatalf("the unapproved commit's pending run was started (spec.status %q)", st)
	}
	for of := range reruns(e.runs()) {
		if of == pending.Name || of == failed.Name {
			t.Fatalf("a run of the unapproved commit was rerun: %s", of)
		}
	}

	e.say(e.replica(), maintainer, "/ok-to-test "+headSHA[:7], 5020)
	if body := e.lastComment(); !strings.Contains(body, "not this PR's head") || !strings.Contains(body, pushedSHA[:7]) {
		t.Fatalf("an /ok-to-test naming the old commit should be refused naming the head: %q", body)
	}
	if st := e.specStatus(pending.Name); st != "PipelineRunPending" {
		t.Fatalf("an /ok-to-test of the old commit started the new one's run")
	}

	e.say(e.replica(), maintainer, "/ok-to-test "+pushedSHA[:10], 5021)
	if st := e.specStatus(pending.Name); st != "" {
		t.Fatalf("/ok-to-test of the head did not start its pending run (spec.status %q)", st)
	}
	e.say(e.replica(), contributor, "/retest lint", 5022)
	if _, ok := reruns(e.runs())[failed.Name]; !ok {
		t.Fatalf("after approving the head, the author's /retest lint should rerun it: %s", e.lastComment())
	}
}

// TestTrustPRIsStickyWhenConfigured: with trust: pr, Prow's behaviour, an
// approval covers the author's later pushes.
func TestTrustPRIsStickyWhenConfigured(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.GitHub.Repositories[0].Trust = config.TrustPR
	e.seed("unit-tests", kube.Succeeded, false)
	e.say(e.replica(), maintainer, "/ok-to-test", 5101)
	e.push(pushedSHA)
	failed := e.seedAt(pushedSHA, "lint", kube.Failed, false)
	e.say(e.replica(), contributor, "/retest", 5102)
	if _, ok := reruns(e.runs())[failed.Name]; !ok {
		t.Fatalf("with trust: pr the author's /retest after a push should rerun: %s", e.lastComment())
	}
}

// TestTrustPRIsNotALabel: with trust: pr, the ok-to-test label that
// someone with triage rights added, with no /ok-to-test by a maintainer,
// does not let the author run anything.
func TestTrustPRIsNotALabel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.GitHub.Repositories[0].Trust = config.TrustPR
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: prNumber, User: contributor, HeadSHA: headSHA, Labels: []string{"ok-to-test"}})
	failed := e.seed("unit-tests", kube.Failed, false)
	e.say(e.replica(), contributor, "/retest", 5201)
	if _, ok := reruns(e.runs())[failed.Name]; ok {
		t.Fatalf("the author's /retest ran on the strength of a label: %s", e.lastComment())
	}
	if !strings.Contains(e.lastComment(), "ok-to-test") {
		t.Errorf("denial %q does not say what is needed", e.lastComment())
	}
}

// TestDeployRunsAreNotRerunFromAPR: a run of the PR that runs a promotion
// environment's deploy pipeline, or binds its secret, is not rerun by
// /test or /retest, even for a maintainer; the reply points to promote.
func TestDeployRunsAreNotRerunFromAPR(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.Promotion.Environments = []config.Environment{{
		Name: "production", Cluster: "dogfooding", Strategy: config.StrategyPipelineRun, Namespace: "tekton-deploys",
		PipelineRef: "install-tekton-release", SecretWorkspaces: map[string]string{"targetCluster": "dogfooding-kubeconfig"},
	}}
	e.seed("install-tekton-release", kube.Failed, false)
	e.seed("unit-tests", kube.Failed, false)
	e.say(e.replica(), maintainer, "/retest", 5201)
	got := reruns(e.runs())
	if len(got) != 1 {
		t.Fatalf("want only unit-tests rerun, got reruns of %v", keys(got))
	}
	for _, r := range got {
		if tekton.Pipeline(&r, config.DefaultPipelineLabel) != "unit-tests" {
			t.Fatalf("a deploy was rerun: %s", r.Name)
		}
	}
	if body := e.lastComment(); !strings.Contains(body, "/tekton promote") {
		t.Fatalf("the reply should point to promote: %q", body)
	}
}

// TestRepliesNameNoInternals: with the apiserver unreachable, the public
// reply says so in words, with a request ID, and quotes no URL, label
// selector or dial error.
func TestRepliesNameNoInternals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// A port nothing listens on: the cluster is down.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + l.Addr().String()
	l.Close()
	cl, err := tekton.NewCluster(e.cfg.Clusters[0], nil, &rest.Config{Host: dead, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	e.clusters = tekton.NewClusters(cl)
	e.say(e.replica(), maintainer, "/retest", 5301)
	body := e.lastComment()
	if !strings.Contains(body, "the dogfooding cluster is unreachable") || !strings.Contains(body, "(request ") {
		t.Fatalf("the reply should say in words what failed, with a request ID: %q", body)
	}
	for _, leak := range []string{dead, "127.0.0.1", "pipelinesascode.tekton.dev", "dial tcp", "connection refused", "https://"} {
		if strings.Contains(body, leak) {
			t.Errorf("the public reply leaks %q: %q", leak, body)
		}
	}
}

// TestReplayedCommentsAreActedOnOnce: the same signed comment under new
// delivery IDs is acted on once; a comment from years ago is not acted on.
func TestReplayedCommentsAreActedOnOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Failed, false)
	body := e.comment(maintainer, "/retest", 5401)
	for i, id := range []string{"replay-1", "replay-2", "replay-3"} {
		r := e.replica() // a replay may reach any replica
		code, msg := r.Deliver(t, "issue_comment", id, body)
		if i == 0 && code != http.StatusAccepted {
			t.Fatalf("first delivery: %d %s", code, msg)
		}
		r.Drain(t)
	}
	if got := reruns(e.runs()); len(got) != 1 {
		t.Fatalf("a replayed comment was acted on again: reruns %v", keys(got))
	}
	if n := len(e.gh.Comments(owner, repoName, prNumber)); n != 1 {
		t.Fatalf("want one reply, got %d", n)
	}

	before := len(e.gh.Requests())
	old := githubtest.PRComment(t, githubtest.PRCommentOptions{
		Body: "/test all", CommentID: 5402, Commenter: maintainer, CommenterType: "User", Number: prNumber,
		State: "open", PRAuthor: contributor, Owner: owner, Repo: repoName, Labels: []string{},
		CreatedAt: time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC),
	})
	r := e.replica()
	if code, msg := r.Deliver(t, "issue_comment", "old-comment", old); code != http.StatusOK || !strings.Contains(msg, "older than") {
		t.Fatalf("a comment from 2021: got %d %q, want 200 ignored as too old", code, msg)
	}
	r.Drain(t)
	if got := reruns(e.runs()); len(got) != 1 {
		t.Fatalf("an old comment was acted on: reruns %v", keys(got))
	}
	if n := len(e.gh.Requests()) - before; n != 0 {
		t.Fatalf("an old comment cost %d GitHub calls", n)
	}
}

// TestStrangersCostLittle: five comments from someone with no role on an
// untrusted PR get no 👀, one denial, and cost at most ten GitHub calls.
func TestStrangersCostLittle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Failed, false)
	e.gh.SetPermission(owner, repoName, stranger, "read")
	before := len(e.gh.Requests())
	r := e.replica()
	for i := range 5 {
		body := githubtest.PRComment(t, githubtest.PRCommentOptions{
			Body: "/test all", CommentID: int64(5501 + i), Commenter: stranger, CommenterType: "User",
			AuthorAssociation: "NONE", Number: prNumber, State: "open", PRAuthor: contributor,
			Owner: owner, Repo: repoName, Labels: []string{},
		})
		if code, msg := r.Deliver(t, "issue_comment", "stranger-"+string(rune('a'+i)), body); code != http.StatusAccepted {
			t.Fatalf("comment %d: %d %s", i, code, msg)
		}
	}
	r.Drain(t)
	if got := reruns(e.runs()); len(got) != 0 {
		t.Fatalf("a stranger's /test all created runs: %v", keys(got))
	}
	if n := len(e.gh.Comments(owner, repoName, prNumber)); n != 1 {
		t.Fatalf("want one denial for five comments, got %d replies", n)
	}
	for i := range 5 {
		if rx := e.gh.Reactions(int64(5501 + i)); len(rx) != 0 {
			t.Fatalf("a stranger's comment got reactions %v", rx)
		}
	}
	if n := len(e.gh.Requests()) - before; n > 10 {
		t.Fatalf("five strangers' comments cost %d GitHub calls, want at most 10", n)
	}
}
