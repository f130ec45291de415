package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"k8s.io/klog/v2"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/flakes"
	"tekbot/handlers"
	"tekbot/lifecycle"
	"tekbot/mergequeue"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/transport/httplimit"
	"tekbot/triage"
)

// app is tekbot assembled from a config: the same for serve and dev. Each
// subsystem is built in the file named for it (wire_*.go); this one only
// says in which order.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	clusters *tekton.Clusters
	registry *bot.Registry
	bot      *bot.Bot
	pool     *bot.Pool
	intake   *bot.Intake
	mux      *http.ServeMux
	// metricsMux serves /metrics on server.metricsAddr; nil when /metrics
	// is on mux.
	metricsMux *http.ServeMux
	metrics    *bot.Metrics
	// bodies caps the webhook and Slack requests read at once.
	bodies *httplimit.Limiter
	// runnables are the lifetimes: for the process's life (watches,
	// Socket Mode) or on the replica holding the Lease (cron, escalation).
	// Work a command starts that outlives it (watching a deploy) is added
	// to them while the app runs.
	runnables lifecycle.Group
	// indexes are the run indexes /readyz waits for (wire_jobs.go).
	indexes []runIndex
	state   *tekton.Cluster
	// claims are the request and step claims in the state namespace, shared
	// by the transports and the leader's jobs.
	claims *state.Claims
	// approvals are the commits approved with /ok-to-test.
	approvals *state.Approvals
	// outcomes record how watched runs end; verdicts judge failures from
	// that record (outcomeHistory).
	outcomes *flakes.Recorder
	verdicts *flakes.Reader
	// excerpts read why failed runs failed, on every cluster.
	excerpts *triage.Readers
	// mergeQueue enqueues the PRs that meet their repository's
	// mergeQueue rule (nil without GitHub).
	mergeQueue *mergequeue.Bridge
}

// Worker pool size: commands mostly wait, on GitHub (a round trip over
// the internet per call) and the apiserver, not on a core, so a
// burst (fifty /retests after a flaky night) is worked on at once: every
// rerun is created before the claims, replies and audit events that
// follow them, rather than eight at a time with those in between. GitHub
// allows a hundred concurrent requests; the apiserver queues the rest
// fairly (priority and fairness). An idle worker is a parked goroutine.
const (
	workers   = 64
	queueSize = 512
	seenSize  = 10000
)

type appOptions struct {
	// pullRequests replaces GitHub for PR look-ups (the sandbox).
	pullRequests handlers.PullRequests
	// notifier replaces Slack for the captain's messages (the sandbox).
	notifier notifier
	// releases replaces Slack for promotions' progress (the sandbox).
	releases promotion.Notifier
}

// notifier reaches people for handoffs and pages: Slack in production.
type notifier interface {
	Post(ctx context.Context, channel, text string) error
	DirectMessage(ctx context.Context, to *config.Person, text, ackPage string) error
}

func newApp(cfg *config.Config, log *slog.Logger, opts appOptions) (*app, error) {
	// client-go logs through klog (leader election, for one): keep it in
	// tekbot's structured log rather than on stderr.
	klog.SetSlogLogger(log)
	clusters, err := tekton.Connect(cfg)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	stateCluster := clusters.Get(cfg.State.Cluster)
	a := &app{
		cfg: cfg, log: log, clusters: clusters, pool: bot.NewPool(workers, queueSize), mux: http.NewServeMux(),
		metrics: bot.NewMetrics(reg), state: stateCluster, runnables: lifecycle.Group{Log: log.With("component", "lifecycle")},
		claims:    &state.Claims{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace)},
		approvals: &state.Approvals{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace)},
		// Webhook and Slack bodies are read before anyone is
		// authenticated: one cap for them all.
		bodies: bodyLimiter(cfg.Server),
	}
	// Every transport's requests go through one intake, and so one pool.
	a.intake = &bot.Intake{Seen: bot.NewSeen(seenSize), Claims: a.claims, Pool: a.pool, Log: log}
	a.outcomeHistory(cfg, log)
	a.excerpts = triage.NewReaders(a.clusters.All(), cfg.Triage.Secrets != config.TriageShapes)
	a.watchRunIndexes()
	rotation := &state.RotationState{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace)}
	deps := a.handlerDeps(rotation, opts)
	api, err := a.githubAPI(deps, opts)
	if err != nil {
		return nil, err
	}
	slackT, err := a.slackTransport(deps)
	if err != nil {
		return nil, err
	}
	notify := opts.notifier
	if slackT != nil {
		notify = slackNotifier{slackT.adapter}
	}
	if notify != nil && len(cfg.Rotation.Roster) > 0 && cfg.Slack.Channels.Captain != "" {
		if err := a.captainDuties(cfg, log, notify, rotation, deps); err != nil {
			return nil, err
		}
	}
	ring := a.wireBot(deps)
	if err := a.routes(reg, rotation, ring); err != nil {
		return nil, err
	}
	if err := a.mountGitHub(api, deps); err != nil {
		return nil, err
	}
	a.mountSlack(slackT)
	a.backgroundJobs(deps)
	return a, nil
}

// startBackground starts the runnables and the campaign for the leader
// Lease; they stop when ctx ends or one fails (runnables.Done), and
// stopBackground waits for them and returns the failure, if any.
func (a *app) startBackground(ctx context.Context) {
	leader := &state.Leader{Kube: a.state.Kube, Namespace: a.cfg.State.Namespace, Lease: "tekbot-leader", Identity: state.ProcessIdentity(), Log: a.log}
	a.runnables.Start(ctx, leader.Run)
}

func (a *app) stopBackground() error { return a.runnables.Wait() }
