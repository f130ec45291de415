// Package testenv is the one test environment of tekbot's transport
// tests: a replica of tekbot wired as serve wires it (both transports on
// one mux, through one intake and one pool), sharing the apiserver (and so
// the claims), GitHub and Slack with every other replica of the test, and
// the signed requests GitHub and Slack send. Tests only: the binary never
// imports it.
package testenv

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	"k8s.io/client-go/kubernetes"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/mergequeue"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/transport/github"
	"tekbot/transport/slack"
)

// Options say what a replica is made of.
type Options struct {
	Config   *config.Config
	Clusters *tekton.Clusters
	// State is where claims, approvals and rotation changes live.
	State          kubernetes.Interface
	StateNamespace string
	// GitHub, with WebhookSecret, serves /github/webhook; nil serves no
	// GitHub transport.
	GitHub        *github.API
	WebhookSecret []byte
	// Slack, with SlackSecret, serves /slack/…; nil serves no Slack.
	Slack       *slackapi.Client
	SlackSecret string
	// PostInterval paces Slack posts; zero posts at once.
	PostInterval time.Duration
	// Workers and Queue size the pool; zero means 4 and 64.
	Workers, Queue int
	// Deps changes the handlers' dependencies (a clock, say) before the
	// commands are registered. With Slack, promotions post their progress
	// and buttons there (Deps.Notifier), as serve wires them.
	Deps func(*handlers.Deps)
	// Audit records what the replica does; nil logs it to Log.
	Audit   bot.Auditor
	Metrics *bot.Metrics
	Log     *slog.Logger
}

// Replica is one tekbot instance: its own memory, worker pool and server.
type Replica struct {
	Server *httptest.Server
	Intake *bot.Intake
	Slack  *slack.Adapter
	// Deps are its handlers' dependencies, for tests that start what
	// serve runs on its own (the promotion train).
	Deps *handlers.Deps
	opts Options
}

// NewReplica starts a replica; the test's end drains it and stops it.
func NewReplica(t testing.TB, o Options) *Replica {
	t.Helper()
	if o.Workers == 0 {
		o.Workers, o.Queue = 4, 64
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	claims := &state.Claims{ConfigMaps: state.ConfigMapsIn(o.State, o.StateNamespace)}
	approvals := &state.Approvals{ConfigMaps: state.ConfigMapsIn(o.State, o.StateNamespace)}
	if o.Audit == nil {
		o.Audit = bot.LogAuditor{Log: o.Log}
	}
	policy := bot.NewPolicy(o.Config.Policy)
	deps := &handlers.Deps{
		Config: o.Config, Clusters: o.Clusters, Policy: policy, Approvals: approvals, Log: o.Log,
		Rotation: &state.RotationState{ConfigMaps: state.ConfigMapsIn(o.State, o.StateNamespace)},
		Queue:    &state.Queue{ConfigMaps: state.ConfigMapsIn(o.State, o.StateNamespace)},
		Audit:    o.Audit,
	}
	if o.GitHub != nil {
		deps.PullRequests = o.GitHub
		holds := &state.Holds{ConfigMaps: state.ConfigMapsIn(o.State, o.StateNamespace)}
		deps.Holds, deps.HoldGitHub = holds, o.GitHub
		deps.MergeQueue = &mergequeue.Bridge{
			Config: o.Config, GitHub: o.GitHub, Entries: &state.Enqueued{ConfigMaps: state.ConfigMapsIn(o.State, o.StateNamespace)}, Holds: holds,
			Audit: o.Audit, Log: o.Log,
		}
	}
	r := &Replica{opts: o, Deps: deps, Intake: &bot.Intake{Seen: bot.NewSeen(10000), Claims: claims, Pool: bot.NewPool(o.Workers, o.Queue), Log: o.Log}}
	if o.Slack != nil {
		// Registry and Bot are set once they exist, as serve does.
		poster := slack.NewPoster(o.Slack, o.Log)
		poster.Interval = o.PostInterval
		r.Slack = &slack.Adapter{
			SigningSecret: o.SlackSecret, MaxBody: o.Config.Server.MaxBodyBytes, Config: o.Config,
			Poster: poster, Intake: r.Intake, Metrics: o.Metrics, Log: o.Log,
		}
		deps.Notifier = slack.Releases{Adapter: r.Slack}
	}
	if o.Deps != nil {
		o.Deps(deps)
	}
	reg := handlers.NewRegistry(deps)
	b := &bot.Bot{Registry: reg, Policy: policy, Audit: o.Audit, Metrics: o.Metrics, Log: o.Log}
	mux := http.NewServeMux()
	if o.GitHub != nil {
		roles := &state.RoleChanges{ConfigMaps: state.WatchedConfigMapsIn(o.State, o.StateNamespace), Keep: github.RolesCachedFor}
		mux.Handle("/github/webhook", &github.Receiver{
			Secret: o.WebhookSecret, MaxBody: o.Config.Server.MaxBodyBytes, Config: o.Config, Registry: reg, Bot: b,
			API: o.GitHub, Approvals: approvals, Intake: r.Intake, Denials: claims, Closed: deps, Pushes: deps, Queue: deps.MergeQueue, Metrics: o.Metrics, Log: o.Log,
			Commits: []github.CommitPulls{deps, o.GitHub}, RoleChanges: roles,
		})
		ctx, cancel := context.WithCancel(context.Background())
		followed := make(chan struct{})
		go func() { defer close(followed); roles.Follow(ctx, o.GitHub.Forget, o.Log) }()
		t.Cleanup(func() { cancel(); <-followed })
	}
	if r.Slack != nil {
		r.Slack.Registry, r.Slack.Bot = reg, b
		r.Slack.Register(mux)
	}
	r.Server = httptest.NewServer(mux)
	t.Cleanup(func() { r.Drain(t); r.Server.Close() })
	return r
}

// Drain waits until every accepted request has been handled: the pool's
// shutdown is the synchronisation point, not a sleep.
func (r *Replica) Drain(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Intake.Pool.Shutdown(ctx); err != nil {
		t.Fatalf("draining: %v", err)
	}
}

// Deliver sends a webhook as GitHub does, signed with the webhook secret.
func (r *Replica) Deliver(t testing.TB, event, id string, body []byte) (int, string) {
	t.Helper()
	return Do(t, githubtest.WebhookRequest(t, r.Server.URL+"/github/webhook", event, id, r.opts.WebhookSecret, body))
}

// PostSlack sends body to a Slack path signed as Slack signs it at ts,
// with extra header pairs.
func (r *Replica) PostSlack(t testing.TB, path string, body []byte, ts time.Time, header ...string) (int, string) {
	t.Helper()
	req := NewRequest(t, r.Server.URL+path, body)
	SignSlack(req, r.opts.SlackSecret, ts, body)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return Do(t, req)
}

// NewRequest is a POST of body with the content type Slack and GitHub use:
// JSON when it is JSON, a form otherwise.
func NewRequest(t testing.TB, target string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if json.Valid(body) {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// SignSlack signs body the way Slack does at ts: v0= and the hex
// HMAC-SHA256 of "v0:<ts>:<body>" keyed with the signing secret.
func SignSlack(req *http.Request, secret string, ts time.Time, body []byte) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// Do does one request and returns its status and body.
func Do(t testing.TB, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	msg, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(msg)
}
