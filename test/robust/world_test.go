package robust_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
	"github.com/prometheus/client_golang/prometheus"
	slackapi "github.com/slack-go/slack"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/test/testenv"
	"tekbot/transport/github"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

const (
	owner, repoName = "tektoncd", "pipeline"
	maintainer      = "vdemeest"  // write access on the repository
	slackUser       = "U0VINCENT" // the same person in Slack
	slackSecret     = "8f742231b10e8888abcd99yyyzzz85a5"
	// pipeline is the one pipeline every seeded PR has a failed run of.
	pipeline = "unit-tests"
)

var webhookSecret = []byte("robust-webhook-secret")

// world is one test's surroundings: a namespace on the shared real
// apiserver, a GitHub REST server checked against GitHub's description, a
// Slack API stand-in, and tekbot's config for them.
type world struct {
	t       *testing.T
	cluster *kube.Cluster
	ns      string
	gh      *githubtest.Server
	slack   *slackAPI
	cfg     *config.Config
}

func newWorld(t *testing.T) *world {
	t.Helper()
	c := kube.Shared(t, "production")
	w := &world{t: t, cluster: c, ns: c.Namespace(t), gh: githubtest.NewServer(t), slack: newSlackAPI(t)}
	// One cluster of role nightly, so that a Slack rerun would act at once
	// rather than ask for a confirmation: bad input has every chance to
	// create something, and must not.
	w.cfg = &config.Config{
		Server:   config.Server{MaxBodyBytes: config.DefaultMaxBodyBytes},
		Clusters: []config.Cluster{{Name: "ci", Role: config.RoleNightly, Namespace: w.ns}},
		People:   []config.Person{{Name: "vincent", GitHub: maintainer, Slack: slackUser}},
		Policy:   config.Policy{Roles: map[string][]string{"maintainers": {"vincent"}}},
		GitHub: config.GitHub{Repositories: []config.Repository{{
			Name: owner + "/" + repoName, Cluster: "ci", Namespace: w.ns,
			Selector: config.DefaultSelector, PipelineLabel: config.DefaultPipelineLabel,
		}}},
	}
	w.gh.SetPermission(owner, repoName, maintainer, "write")
	return w
}

// headSHA gives each PR its own head commit, so label selectors keep PRs
// apart exactly as Pipelines-as-Code's labels do.
func headSHA(pr int) string { return fmt.Sprintf("%040x", 0xbeef0000+pr) }

// pullRequest makes PR number pr exist on GitHub; with failed, it also has
// a failed run of the pipeline for its head commit, which /retest reruns.
func (w *world) pullRequest(pr int, failed bool) {
	w.t.Helper()
	w.gh.SetPullRequest(owner, repoName, githubtest.PullRequest{Number: pr, User: maintainer, HeadSHA: headSHA(pr)})
	if !failed {
		return
	}
	ctx := context.Background()
	run := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("pr-%d-%s", pr, pipeline),
			Labels: map[string]string{
				"pipelinesascode.tekton.dev/repository":      repoName,
				"pipelinesascode.tekton.dev/pull-request":    strconv.Itoa(pr),
				"pipelinesascode.tekton.dev/sha":             headSHA(pr),
				"pipelinesascode.tekton.dev/original-prname": pipeline,
			},
		},
		Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: pipeline}},
	}
	if _, err := w.cluster.Tekton.TektonV1().PipelineRuns(w.ns).Create(ctx, run, metav1.CreateOptions{}); err != nil {
		w.t.Fatal(err)
	}
	if _, err := kube.SetState(ctx, w.cluster, w.ns, run.Name, kube.Failed); err != nil {
		w.t.Fatal(err)
	}
}

// pullRequests sets up many PRs at once: seeding is not what is tested.
func (w *world) pullRequests(numbers []int, failed bool) {
	w.t.Helper()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, n := range numbers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			w.pullRequest(n, failed)
		})
	}
	wg.Wait()
}

// comment is a real issue_comment delivery of body by the maintainer on PR
// pr; the comment's id is the PR's number, so reactions name their PR.
func (w *world) comment(pr int, body string) []byte {
	w.t.Helper()
	return githubtest.PRComment(w.t, githubtest.PRCommentOptions{
		Body: body, CommentID: int64(pr), Commenter: maintainer, CommenterType: "User",
		Number: pr, State: "open", PRAuthor: maintainer, Owner: owner, Repo: repoName, Labels: []string{},
	})
}

// reruns counts the runs tekbot created, by the PR they belong to.
func (w *world) reruns() map[int]int {
	w.t.Helper()
	list, err := w.cluster.Tekton.TektonV1().PipelineRuns(w.ns).List(context.Background(), metav1.ListOptions{LabelSelector: tekton.LabelRerunOf})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[int]int{}
	for _, r := range list.Items {
		n, _ := strconv.Atoi(r.Labels["pipelinesascode.tekton.dev/pull-request"])
		out[n]++
	}
	return out
}

// rerunOnceEach counts the PRs whose /retest made one rerun and one reply
// saying so, and fails the test for each of the others.
func (w *world) rerunOnceEach(prs []int) int {
	w.t.Helper()
	reruns := w.reruns()
	done := 0
	for _, pr := range prs {
		replies := w.replies(pr)
		if reruns[pr] != 1 || len(replies) != 1 || !strings.Contains(replies[0].Body, "Rerunning") {
			w.t.Errorf("PR #%d: %d new runs and replies %+v; want one run and one reply saying it reruns", pr, reruns[pr], replies)
			continue
		}
		done++
	}
	return done
}

// replies returns tekbot's comments on PR pr.
func (w *world) replies(pr int) []githubtest.Comment {
	return w.gh.Comments(owner, repoName, pr)
}

// replicaOptions change how a replica reaches the world.
type replicaOptions struct {
	// rest reaches the apiserver; nil means directly.
	rest *rest.Config
	// github wraps the transport to GitHub; nil means the default one.
	github http.RoundTripper
}

// replica is one tekbot instance (testenv.Replica): its own memory,
// clients and worker pool, sharing the apiserver (and so the request
// claims), GitHub and Slack with any other replica. Its server serves the
// paths serve's mux does.
type replica = testenv.Replica

func (w *world) replica(opts replicaOptions) *replica {
	w.t.Helper()
	rc := opts.rest
	if rc == nil {
		rc = w.cluster.REST
	}
	cluster, err := tekton.NewCluster(w.cfg.Clusters[0], &config.Dashboard{PipelineRunURL: "https://dashboard.example/#/namespaces/{{.Namespace}}/pipelineruns/{{.Name}}"}, rc)
	if err != nil {
		w.t.Fatal(err)
	}
	kc, err := kubernetes.NewForConfig(rc)
	if err != nil {
		w.t.Fatal(err)
	}
	client := gh.NewClient(&http.Client{Transport: opts.github})
	client.BaseURL, _ = url.Parse(w.gh.URL())
	return testenv.NewReplica(w.t, testenv.Options{
		Config: w.cfg, Clusters: tekton.NewClusters(cluster), State: kc, StateNamespace: w.ns,
		GitHub: github.NewAPIWithClient(client), WebhookSecret: webhookSecret,
		Slack: slackapi.New("xoxb-robust", slackapi.OptionAPIURL(w.slack.srv.URL+"/")), SlackSecret: slackSecret,
		// As in serve, both transports share one pool of 8 workers. The
		// queue is larger than serve's so that a storm from one test
		// process is never refused as "busy" and the counts stay exact.
		Workers: 8, Queue: 2048,
		Metrics: bot.NewMetrics(prometheus.NewRegistry()),
		// Warnings and errors only: a storm logs thousands of routine lines.
		Log: slog.New(slog.NewTextHandler(w.t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
}

// slashCommand is the form Slack posts for "/tekton <text>"; the trigger
// id also names the response_url, so answers can be told apart.
func (w *world) slashCommand(text, triggerID string) []byte {
	return []byte(url.Values{
		"token": {"gIkuvaNzQIHg97ATvDxqgjtO"}, "team_id": {"T0TEKTON"}, "team_domain": {"tektoncd"},
		"channel_id": {"C0BUILDCOP"}, "channel_name": {"build-cop"}, "user_id": {slackUser}, "user_name": {"vincent"},
		"command": {"/tekton"}, "text": {text}, "api_app_id": {"A0TEKBOT"}, "is_enterprise_install": {"false"},
		"response_url": {w.slack.srv.URL + "/respond/" + triggerID}, "trigger_id": {triggerID},
	}.Encode())
}

// slackMessage is one message that reached the Slack stand-in.
type slackMessage struct {
	// Where: "respond/<trigger>" or the Web API method.
	Where string
	Text  string
}

// slackAPI stands in for Slack's Web API and response_urls: it takes
// every message, as Slack does, and records it. Once it has taken
// tripAfter messages, it refuses every message for tripFor as Slack's rate
// limit does, telling tekbot to retry after a second.
type slackAPI struct {
	srv          *httptest.Server
	mu           sync.Mutex
	msgs         []slackMessage
	tries        []slackMessage // every message that arrived, refused or not
	tripAfter    int            // 0: no limit to meet
	tripFor      time.Duration
	limitedUntil time.Time
}

func newSlackAPI(t *testing.T) *slackAPI {
	s := &slackAPI{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		m := slackMessage{Where: strings.TrimPrefix(r.URL.Path, "/")}
		if strings.HasPrefix(m.Where, "respond/") {
			var body struct {
				Text string `json:"text"`
			}
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				http.Error(rw, "want a JSON message", http.StatusBadRequest)
				return
			}
			m.Text = body.Text
		} else {
			if err := r.ParseForm(); err != nil {
				http.Error(rw, err.Error(), http.StatusBadRequest)
				return
			}
			m.Text = r.PostForm.Get("text")
		}
		s.mu.Lock()
		s.tries = append(s.tries, m)
		if s.tripAfter > 0 && len(s.msgs) == s.tripAfter {
			s.limitedUntil, s.tripAfter = time.Now().Add(s.tripFor), 0
		}
		if time.Now().Before(s.limitedUntil) {
			s.mu.Unlock()
			// Slack's wire format for its rate limit: a 429 with the
			// whole seconds to wait.
			rw.Header().Set("Retry-After", "1")
			rw.WriteHeader(http.StatusTooManyRequests)
			return
		}
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
		rw.Header().Set("Content-Type", "application/json")
		fmt.Fprint(rw, `{"ok":true,"channel":"C0BUILDCOP","ts":"1767326126.896109"}`)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// limitAfter makes Slack refuse every message for d once it has taken n.
func (s *slackAPI) limitAfter(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tripAfter, s.tripFor = n, d
}

// tried returns every message that arrived, in order, refused or not.
func (s *slackAPI) tried() []slackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slackMessage(nil), s.tries...)
}

func (s *slackAPI) messages() []slackMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slackMessage(nil), s.msgs...)
}

// summarize prints the closing line every robustness test ends with and
// fails the test unless every request is accounted for.
func summarize(t *testing.T, name string, sent, done, refused int) {
	t.Helper()
	lost := sent - done - refused
	fmt.Printf("robust: %s: sent=%d done=%d refused=%d lost=%d\n", name, sent, done, refused, lost)
	if lost != 0 {
		t.Errorf("%s: %d of %d requests were neither done nor refused", name, lost, sent)
	}
}

// post builds a signed-or-not request for a table case.
func post(t *testing.T, target string, body []byte, header map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}
