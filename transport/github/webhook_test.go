package github_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/test/poll"
	"tekbot/test/testenv"
	"tekbot/transport/github"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

const (
	owner, repoName = "tektoncd", "pipeline"
	prNumber        = 42
	headSHA         = "4f2b9c1e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
	maintainer      = "vdemeest"
	contributor     = "sam-contributor"
)

var secret = []byte("webhook-secret-for-tests")

// env is one test's world: a namespace on a real apiserver, a GitHub API
// server checked against GitHub's REST description, and tekbot's config.
type env struct {
	t        *testing.T
	cluster  *kube.Cluster
	ns       string
	gh       *githubtest.Server
	cfg      *config.Config
	clusters *tekton.Clusters
	// prState and prMerged are the PR's state in comment payloads:
	// open unless a test closes it (closePR).
	prState  string
	prMerged bool
	// audit records what replicas do; nil logs it.
	audit bot.Auditor
}

func newEnv(t *testing.T) *env {
	t.Helper()
	c := kube.Shared(t, "production")
	e := &env{t: t, cluster: c, ns: c.Namespace(t), gh: githubtest.NewServer(t)}
	e.cfg = &config.Config{
		Server:   config.Server{MaxBodyBytes: config.DefaultMaxBodyBytes},
		Clusters: []config.Cluster{{Name: "dogfooding", Role: config.RoleProduction, Namespace: e.ns}},
		People:   []config.Person{{Name: "vincent", GitHub: maintainer}},
		GitHub: config.GitHub{Repositories: []config.Repository{{
			Name: owner + "/" + repoName, Cluster: "dogfooding", Namespace: e.ns,
			Selector: config.DefaultSelector, PipelineLabel: config.DefaultPipelineLabel,
		}}},
	}
	cl, err := tekton.NewCluster(e.cfg.Clusters[0], &config.Dashboard{PipelineRunURL: "https://dashboard.example/#/namespaces/{{.Namespace}}/pipelineruns/{{.Name}}"}, c.REST)
	if err != nil {
		t.Fatal(err)
	}
	e.clusters = tekton.NewClusters(cl)
	e.gh.SetPermission(owner, repoName, maintainer, "write")
	e.gh.SetPermission(owner, repoName, contributor, "read")
	e.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: prNumber, User: contributor, HeadSHA: headSHA})
	return e
}

// replica is one tekbot instance (testenv.Replica), sharing the apiserver
// (and so the claims) and GitHub with any other replica.
type replica = testenv.Replica

func (e *env) replica() *replica {
	e.t.Helper()
	return e.replicaWith(e.apiClient())
}

// replicaWith is a replica whose GitHub client is api, and so whose
// caches are api's: a later replica with it has seen what it saw.
func (e *env) replicaWith(api *github.API) *replica {
	e.t.Helper()
	o := e.options()
	o.GitHub = api
	return testenv.NewReplica(e.t, o)
}

// options make a replica of e's world, with a GitHub client of its own.
func (e *env) options() testenv.Options {
	return testenv.Options{
		Config: e.cfg, Clusters: e.clusters, State: e.cluster.Kube, StateNamespace: e.ns,
		GitHub: e.apiClient(), WebhookSecret: secret, Audit: e.audit,
	}
}

func (e *env) comment(login, body string, commentID int64) []byte {
	return githubtest.PRComment(e.t, githubtest.PRCommentOptions{
		Body: body, CommentID: commentID, Commenter: login, CommenterType: "User",
		Number: prNumber, State: cmp.Or(e.prState, "open"), Merged: e.prMerged, PRAuthor: contributor, Owner: owner, Repo: repoName,
		Labels: []string{},
	})
}

// seed creates a PipelineRun of the PR's head commit as Pipelines-as-Code
// labels it, with a spec rich enough to check the rerun copies it.
func (e *env) seed(pipeline string, state kube.RunState, pending bool) *pipelinev1.PipelineRun {
	e.t.Helper()
	return e.seedAt(headSHA, pipeline, state, pending)
}

// seedAt is seed for another commit of the PR.
func (e *env) seedAt(sha, pipeline string, state kube.RunState, pending bool) *pipelinev1.PipelineRun {
	e.t.Helper()
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: "pipeline-pr-42-" + pipeline + "-",
			Labels: map[string]string{
				"pipelinesascode.tekton.dev/repository":      repoName,
				"pipelinesascode.tekton.dev/pull-request":    fmt.Sprint(prNumber),
				"pipelinesascode.tekton.dev/sha":             sha,
				"pipelinesascode.tekton.dev/original-prname": pipeline,
				"pipelinesascode.tekton.dev/state":           "completed",
				"team":                                       "ci",
			},
			Annotations: map[string]string{"pipelinesascode.tekton.dev/on-event": "[pull_request]"},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef:     &pipelinev1.PipelineRef{Name: pipeline},
			Params:          pipelinev1.Params{{Name: "revision", Value: *pipelinev1.NewStructuredValues(sha)}},
			Workspaces:      []pipelinev1.WorkspaceBinding{{Name: "source", EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: "ci-bot"},
			Timeouts:        &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{Duration: time.Hour}},
		},
	}
	if pending {
		pr.Spec.Status = pipelinev1.PipelineRunSpecStatusPending
	}
	runs := e.cluster.Tekton.TektonV1().PipelineRuns(e.ns)
	created, err := runs.Create(context.Background(), pr, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if state != "" {
		if created, err = kube.SetState(context.Background(), e.cluster, e.ns, created.Name, state); err != nil {
			e.t.Fatal(err)
		}
	}
	// tekbot reads runs from the apiserver's watch cache (tekton.Runs),
	// which may be a moment behind what was just written: a test that
	// acts at once would find the run as it was, or not at all.
	poll.Until(e.t, "the watch cache shows "+created.Name+" as seeded", 10*time.Second, func() bool {
		list, err := runs.List(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			return false
		}
		for _, r := range list.Items {
			if r.Name == created.Name {
				// etcd's revisions: the cache is at the write or past it.
				cached, _ := strconv.ParseInt(r.ResourceVersion, 10, 64)
				seeded, _ := strconv.ParseInt(created.ResourceVersion, 10, 64)
				return cached >= seeded
			}
		}
		return false
	})
	return created
}

func (e *env) runs() []pipelinev1.PipelineRun {
	e.t.Helper()
	list, err := e.cluster.Tekton.TektonV1().PipelineRuns(e.ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return list.Items
}

func reruns(runs []pipelinev1.PipelineRun) map[string]pipelinev1.PipelineRun {
	out := map[string]pipelinev1.PipelineRun{}
	for _, r := range runs {
		if of := r.Labels[tekton.LabelRerunOf]; of != "" {
			out[of] = r
		}
	}
	return out
}

func TestRetestRerunsFailedRunsExactlyOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	unit := e.seed("unit-tests", kube.Failed, false)
	e2e := e.seed("e2e-tests", kube.TimedOut, false)
	e.seed("build", kube.Succeeded, false)

	first := e.replica()
	body := e.comment(maintainer, "Flaky, again.\r\n/retest\r\n", 1001)
	if code, msg := first.Deliver(t, "issue_comment", "delivery-1", body); code != http.StatusAccepted {
		t.Fatalf("first delivery: %d %s", code, msg)
	}
	// The same delivery again, while the first may still be running.
	if code, msg := first.Deliver(t, "issue_comment", "delivery-1", body); code != http.StatusOK || !strings.Contains(msg, "duplicate") {
		t.Fatalf("redelivery: %d %s", code, msg)
	}
	first.Drain(t)

	runs := e.runs()
	got := reruns(runs)
	if len(runs) != 5 || len(got) != 2 {
		t.Fatalf("want 3 seeded + 2 reruns, got %d runs, reruns of %v", len(runs), keys(got))
	}
	for _, orig := range []*pipelinev1.PipelineRun{unit, e2e} {
		r, ok := got[orig.Name]
		if !ok {
			t.Fatalf("no rerun of %s", orig.Name)
		}
		if r.Spec.PipelineRef.Name != orig.Spec.PipelineRef.Name || r.Spec.Params[0].Value.StringVal != headSHA ||
			r.Spec.Workspaces[0].Name != "source" || r.Spec.TaskRunTemplate.ServiceAccountName != "ci-bot" ||
			r.Spec.Timeouts.Pipeline.Duration != time.Hour || r.Spec.Status != "" {
			t.Errorf("rerun of %s does not copy the spec: %+v", orig.Name, r.Spec)
		}
		if r.Labels["team"] != "ci" || r.Labels["pipelinesascode.tekton.dev/sha"] != headSHA {
			t.Errorf("user labels not copied: %v", r.Labels)
		}
		if _, managed := r.Labels["pipelinesascode.tekton.dev/state"]; managed {
			t.Errorf("controller state label copied: %v", r.Labels)
		}
		if r.Annotations[tekton.AnnotationRequester] != "vincent" || r.Annotations[tekton.AnnotationRequestID] != "delivery-1" {
			t.Errorf("rerun does not record who asked: %v", r.Annotations)
		}
	}
	comments := e.gh.Comments(owner, repoName, prNumber)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "unit-tests") || !strings.Contains(comments[0].Body, "e2e-tests") {
		t.Fatalf("want one reply naming both reruns, got %+v", comments)
	}
	if r := e.gh.Reactions(1001); len(r) != 1 || r[0] != "eyes" {
		t.Errorf("reactions on the comment = %v, want [eyes]", r)
	}

	// Two more replicas get the same delivery (a manual redelivery that
	// lands on other pods): the apiserver claim stops both.
	a, b := e.replica(), e.replica()
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Go(func() { r.Deliver(t, "issue_comment", "delivery-1", body) })
	}
	wg.Wait()
	a.Drain(t)
	b.Drain(t)
	if n := len(e.runs()); n != 5 {
		t.Fatalf("redelivery to other replicas created runs: %d, want 5", n)
	}
	if n := len(e.gh.Comments(owner, repoName, prNumber)); n != 1 {
		t.Fatalf("redelivery replied again: %d comments", n)
	}
}

func TestTwoReplicasRacingOnOneDeliveryCreateOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Failed, false)
	e.seed("build", kube.Succeeded, false)
	body := e.comment(maintainer, "/test all", 2002)
	a, b := e.replica(), e.replica()
	var wg sync.WaitGroup
	for _, r := range []*replica{a, b} {
		wg.Go(func() {
			if code, msg := r.Deliver(t, "issue_comment", "delivery-race", body); code != http.StatusAccepted {
				t.Errorf("delivery: %d %s", code, msg)
			}
		})
	}
	wg.Wait()
	a.Drain(t)
	b.Drain(t)
	if got := reruns(e.runs()); len(got) != 2 {
		t.Fatalf("want 2 reruns (/test all), got %v", keys(got))
	}
	if n := len(e.gh.Comments(owner, repoName, prNumber)); n != 1 {
		t.Fatalf("want one reply, got %d", n)
	}
}

func TestUntrustedAuthorNeedsOkToTest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Failed, false)
	pending := e.seed("integration", "", true)
	r := e.replica()

	r.Deliver(t, "issue_comment", "d-author-1", e.comment(contributor, "/retest", 3001))
	r.Drain(t)
	if got := reruns(e.runs()); len(got) != 0 {
		t.Fatalf("an untrusted author's /retest created runs: %v", keys(got))
	}
	comments := e.gh.Comments(owner, repoName, prNumber)
	if len(comments) != 1 || !strings.Contains(comments[0].Body, "may not run") || !strings.Contains(comments[0].Body, "ok-to-test") {
		t.Fatalf("want one polite denial naming /ok-to-test, got %+v", comments)
	}

	r = e.replica()
	r.Deliver(t, "issue_comment", "d-maintainer", e.comment(maintainer, "/ok-to-test", 3002))
	r.Drain(t)
	if labels := e.gh.Labels(owner, repoName, prNumber); !contains(labels, bot.OkToTestLabel) {
		t.Fatalf("labels = %v, want ok-to-test", labels)
	}
	started, err := e.cluster.Tekton.TektonV1().PipelineRuns(e.ns).Get(context.Background(), pending.Name, metav1.GetOptions{})
	if err != nil || started.Spec.Status != "" {
		t.Fatalf("pending run not started: %v %q", err, started.Spec.Status)
	}

	r = e.replica()
	r.Deliver(t, "issue_comment", "d-author-2", e.comment(contributor, "/retest", 3003))
	r.Drain(t)
	if got := reruns(e.runs()); len(got) != 1 {
		t.Fatalf("after /ok-to-test the author's /retest should rerun unit-tests, got %v", keys(got))
	}
	if n := len(e.gh.Comments(owner, repoName, prNumber)); n != 3 {
		t.Fatalf("want one reply per delivery (3), got %d", n)
	}
}

func TestCheckRunRerequestedReruns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Succeeded, false)
	r := e.replica()
	body := githubtest.CheckRunRerequested(t, githubtest.CheckRunOptions{
		ID: 77, Name: "pipeline / unit-tests", HeadSHA: headSHA, Owner: owner, Repo: repoName, PullRequests: []int{prNumber},
		UpdatedAt: time.Now().UTC().Format(time.RFC3339),
	})
	// Whoever pressed Re-run in the real example has write access here.
	var payload struct {
		Sender struct{ Login string } `json:"sender"`
	}
	if err := json.Unmarshal(body, &payload); err != nil || payload.Sender.Login == "" {
		t.Fatalf("check_run example without sender: %v", err)
	}
	e.gh.SetPermission(owner, repoName, payload.Sender.Login, "admin")
	if code, msg := r.Deliver(t, "check_run", "d-check", body); code != http.StatusAccepted {
		t.Fatalf("check_run: %d %s", code, msg)
	}
	r.Drain(t)
	if got := reruns(e.runs()); len(got) != 1 {
		t.Fatalf("Re-run button should rerun unit-tests, got %v; replies %+v", keys(got), e.gh.Comments(owner, repoName, prNumber))
	}
}

func TestBadDeliveriesDoNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.seed("unit-tests", kube.Failed, false)
	r := e.replica()
	good := e.comment(maintainer, "/retest", 4001)

	post := func(event string, body []byte, sign func(*http.Request)) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, r.Server.URL+"/github/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", "bad-"+fmt.Sprint(len(body)))
		req.Header.Set("Content-Type", "application/json")
		sign(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		msg, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(msg)
	}
	signWith := func(s []byte, body []byte) func(*http.Request) {
		return func(req *http.Request) { req.Header.Set("X-Hub-Signature-256", githubtest.Sign(s, body)) }
	}
	huge := bytes.Repeat([]byte("x"), int(e.cfg.Server.MaxBodyBytes)+1)
	malformed := []byte(`{"action":"created","comment":{"body":"/retest"`)
	tests := []struct {
		name  string
		event string
		body  []byte
		sign  func(*http.Request)
		want  int
	}{
		{"no signature", "issue_comment", good, func(*http.Request) {}, http.StatusUnauthorized},
		{"wrong secret", "issue_comment", good, signWith([]byte("wrong"), good), http.StatusUnauthorized},
		{"signature of other body", "issue_comment", good, signWith(secret, []byte("{}")), http.StatusUnauthorized},
		{"sha1 only", "issue_comment", good, func(req *http.Request) { req.Header.Set("X-Hub-Signature", githubtest.SignSHA1(secret, good)) }, http.StatusUnauthorized},
		{"oversized", "issue_comment", huge, signWith(secret, huge), http.StatusRequestEntityTooLarge},
		{"malformed JSON", "issue_comment", malformed, signWith(secret, malformed), http.StatusBadRequest},
		{"unknown event", "deployment_protection_rule", good, signWith(secret, good), http.StatusOK},
	}
	for _, tt := range tests {
		if code, msg := post(tt.event, tt.body, tt.sign); code != tt.want || msg == "" {
			t.Errorf("%s: got %d %q, want %d with a message", tt.name, code, msg, tt.want)
		}
	}
	ignored := map[string][]byte{
		"comment by a bot": e.comment("renovate[bot]", "/retest", 4002),
		"closed PR": githubtest.PRComment(t, githubtest.PRCommentOptions{Body: "/retest", Commenter: maintainer,
			Number: prNumber, State: "closed", Owner: owner, Repo: repoName}),
		"plain issue":       githubtest.Example(t, "issue_comment", "created", 0),
		"edited":            bytes.Replace(good, []byte(`"action":"created"`), []byte(`"action":"edited"`), 1),
		"no command":        e.comment(maintainer, "LGTM, please /retest if flaky", 4003),
		"other bots' verbs": e.comment(maintainer, "/lgtm\n/approve", 4004),
	}
	for name, body := range ignored {
		if code, msg := r.Deliver(t, "issue_comment", "ignored-"+name, body); code != http.StatusOK || !strings.HasPrefix(msg, "ignored") {
			t.Errorf("%s: got %d %q, want 200 ignored", name, code, msg)
		}
	}
	r.Drain(t)
	if reqs := e.gh.Requests(); len(reqs) != 0 {
		t.Errorf("bad or ignored deliveries called GitHub %d times, first %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
	}
	if got := reruns(e.runs()); len(got) != 0 {
		t.Errorf("bad or ignored deliveries created runs: %v", keys(got))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
