package slack_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"tekbot/config"
	"tekbot/handlers"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/testenv"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

const (
	signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	vincent       = "U0VINCENT"  // a maintainer, who asks
	andrea        = "U0ANDREA"   // a maintainer too, but not the one who asked
	stranger      = "U0STRANGER" // not in the config
	channel       = "C0BUILDCOP"
	releases      = "C0RELEASES"
	botUser       = "U0TEKBOT"
)

var channelNames = map[string]string{channel: "build-cop", releases: "releases"}

var dashboard = &config.Dashboard{PipelineRunURL: "https://dashboard.example/#/namespaces/{{.Namespace}}/pipelineruns/{{.Name}}"}

// Wednesday noon: vincent's duty day in the test rotation.
func wednesdayNoon() time.Time { return time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC) }

// env is one test's world: a namespace on the production apiserver (and
// on the nightly one when asked), a fake Slack, and tekbot's config.
type env struct {
	t         *testing.T
	prod      *kube.Cluster
	prodNS    string
	nightly   *kube.Cluster
	nightlyNS string
	cfg       *config.Config
	clusters  *tekton.Clusters
	slack     *fakeSlack
}

type envOptions struct {
	// nightly adds a cluster of role nightly.
	nightly bool
	// slowNightly, when set, makes tekbot reach the nightly cluster
	// through a proxy that holds every request that long.
	slowNightly time.Duration
}

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	prod := kube.Shared(t, "production")
	e := &env{t: t, prod: prod, prodNS: prod.Namespace(t), slack: newFakeSlack(t)}
	e.cfg = &config.Config{
		Server: config.Server{MaxBodyBytes: config.DefaultMaxBodyBytes},
		// Production reruns only PR runs and what its config allows: here
		// the runs seed makes.
		Clusters: []config.Cluster{{Name: "dogfooding", Role: config.RoleProduction, Namespace: e.prodNS,
			Rerunnable: []config.Rerunnable{{Namespace: e.prodNS, Pipelines: []string{"release"}}}}},
		People:   []config.Person{{Name: "vincent", Slack: vincent, GitHub: "vdemeest"}, {Name: "andrea", Slack: andrea}},
		Policy:   config.Policy{Roles: map[string][]string{"maintainers": {"vincent", "andrea"}}},
		Rotation: config.Rotation{TimeZone: "UTC", Handoff: "09:00", Start: "2026-03-02", Roster: []string{"vincent", "andrea"}},
	}
	cl, err := tekton.NewCluster(e.cfg.Clusters[0], dashboard, prod.REST)
	if err != nil {
		t.Fatal(err)
	}
	clusters := []*tekton.Cluster{cl}
	if opts.nightly {
		e.nightly = kube.Shared(t, "nightly")
		e.nightlyNS = e.nightly.Namespace(t)
		cc := config.Cluster{Name: "nightly", Role: config.RoleNightly, Namespace: e.nightlyNS}
		e.cfg.Clusters = append(e.cfg.Clusters, cc)
		rc := e.nightly.REST
		if opts.slowNightly > 0 {
			rc = slowProxy(t, e.nightly, opts.slowNightly)
		}
		nc, err := tekton.NewCluster(cc, dashboard, rc)
		if err != nil {
			t.Fatal(err)
		}
		clusters = append(clusters, nc)
	}
	e.clusters = tekton.NewClusters(clusters...)
	return e
}

// slowProxy puts a reverse proxy that holds every request for delay in
// front of c's apiserver: a cluster that answers, but slowly.
func slowProxy(t *testing.T, c *kube.Cluster, delay time.Duration) *rest.Config {
	t.Helper()
	target, err := url.Parse(c.REST.Host)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// The harness's apiserver has a self-signed certificate; its own
	// client config skips verification too.
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &rest.Config{Host: srv.URL, BearerToken: c.REST.BearerToken}
}

// replica is one tekbot instance (testenv.Replica), sharing the apiserver
// (and so the claims) and Slack with any other replica.
type replica = testenv.Replica

// api is a Slack Web API client of the fake Slack.
func (e *env) api() *slackapi.Client {
	return slackapi.New(botToken, slackapi.OptionAPIURL(e.slack.GetAPIURL()), slackapi.OptionAppLevelToken("xapp-test-app-token"))
}

func (e *env) replica() *replica {
	e.t.Helper()
	return testenv.NewReplica(e.t, testenv.Options{
		Config: e.cfg, Clusters: e.clusters, State: e.prod.Kube, StateNamespace: e.prodNS,
		Slack: e.api(), SlackSecret: signingSecret,
		// Slack's pacing is the poster tests' business; here it only slows.
		PostInterval: 10 * time.Millisecond,
		Deps:         func(d *handlers.Deps) { d.Now = wednesdayNoon },
		Log:          slog.New(slog.NewTextHandler(e.t.Output(), nil)),
	})
}

// slashCommand is the form Slack posts for "/tekton <text>".
func (e *env) slashCommand(user, text, triggerID string) []byte {
	return []byte(url.Values{
		"token": {"gIkuvaNzQIHg97ATvDxqgjtO"}, "team_id": {"T0TEKTON"}, "team_domain": {"tektoncd"},
		"channel_id": {channel}, "channel_name": {"build-cop"}, "user_id": {user}, "user_name": {"someone"},
		"command": {"/tekton"}, "text": {text}, "api_app_id": {"A0TEKBOT"}, "is_enterprise_install": {"false"},
		"response_url": {e.slack.responseURL(triggerID)}, "trigger_id": {triggerID},
	}.Encode())
}

// click is the form Slack posts when user presses a button of a dialog
// tekbot answered privately in the build-cop channel; id names the click's
// own response_url and trigger.
func (e *env) click(user, actionID, value, id string) []byte {
	return e.clickOn(delivery{Channel: channel, TS: "1767326126.896109"}, user, actionID, value, id)
}

// clickOn is the form Slack posts when user presses a button of msg: a
// message tekbot posted in a channel (Method chat.postMessage), or else
// one only the user sees.
func (e *env) clickOn(msg delivery, user, actionID, value, id string) []byte {
	payload := map[string]any{
		"type": "block_actions", "token": "gIkuvaNzQIHg97ATvDxqgjtO", "api_app_id": "A0TEKBOT", "trigger_id": id,
		"user":    map[string]any{"id": user, "username": "someone", "team_id": "T0TEKTON"},
		"team":    map[string]any{"id": "T0TEKTON", "domain": "tektoncd"},
		"channel": map[string]any{"id": msg.Channel, "name": channelNames[msg.Channel]},
		"container": map[string]any{
			"type": "message", "message_ts": msg.TS, "channel_id": msg.Channel, "is_ephemeral": msg.Method != "chat.postMessage",
		},
		"response_url": e.slack.responseURL(id),
		"actions": []map[string]any{{
			"type": "button", "block_id": "tekbot-confirm", "action_id": actionID, "value": value,
			"text": map[string]any{"type": "plain_text", "text": "Rerun"}, "action_ts": "1767326130.289415",
		}},
	}
	return []byte(url.Values{"payload": {mustJSON(e.t, payload)}}.Encode())
}

// mention is the event_callback Slack posts when someone mentions tekbot.
func (e *env) mention(eventID, user, text, ts string) []byte {
	return []byte(mustJSON(e.t, map[string]any{
		"token": "gIkuvaNzQIHg97ATvDxqgjtO", "team_id": "T0TEKTON", "api_app_id": "A0TEKBOT",
		"type": "event_callback", "event_id": eventID, "event_time": 1767326125,
		"event": map[string]any{
			"type": "app_mention", "user": user, "text": text, "ts": ts, "channel": channel, "event_ts": ts,
		},
		"authorizations": []map[string]any{{"team_id": "T0TEKTON", "user_id": botUser, "is_bot": true}},
	}))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// seed creates a finished PipelineRun to rerun.
func seed(t *testing.T, c *kube.Cluster, ns, name string, state kube.RunState) string {
	t.Helper()
	ctx := context.Background()
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"team": "ci"}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "release"}},
	}
	if _, err := c.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.SetState(ctx, c, ns, name, state); err != nil {
		t.Fatal(err)
	}
	return name
}

// reruns lists the runs that rerun original.
func reruns(t *testing.T, c *kube.Cluster, ns, original string) []pipelinev1.PipelineRun {
	t.Helper()
	list, err := c.Tekton.TektonV1().PipelineRuns(ns).List(context.Background(), metav1.ListOptions{LabelSelector: tekton.LabelRerunOf + "=" + original})
	if err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// answer is a slash command's immediate answer.
type answer struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

func decodeAnswer(t *testing.T, body string) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("answer %q is not a Slack message: %v", body, err)
	}
	return a
}
