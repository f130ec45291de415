package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
	"k8s.io/klog/v2"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/captain/handoff"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/lifecycle"
	"tekbot/promotion"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/transport/github"
	"tekbot/transport/httplimit"
	"tekbot/transport/slack"
)

// app is tekbot assembled from a config: the same for serve and dev.
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
	// Socket Mode) or, marked Leader, on the replica holding the Lease
	// (cron, escalation).
	runnables lifecycle.Group
	state     *tekton.Cluster
	// claims are the request and step claims in the state namespace, shared
	// by the transports and the leader's jobs.
	claims *state.Claims
	// approvals are the commits approved with /ok-to-test.
	approvals *state.Approvals
	wg        sync.WaitGroup
	// life ends when the app stops; work a command starts that outlives it
	// (watching a deploy) runs under it and is waited for at shutdown.
	life context.Context
	stop context.CancelFunc
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
		metrics: bot.NewMetrics(reg), state: stateCluster,
		claims: &state.Claims{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace)},
	}
	// Every transport's requests go through one intake, and so one pool.
	a.intake = &bot.Intake{Seen: bot.NewSeen(seenSize), Claims: a.claims, Pool: a.pool, Log: log}
	a.life, a.stop = context.WithCancel(context.Background())
	// PR commands find runs in a slim index of each repository's namespace,
	// not with a read that waits on the apiserver (tekton.WatchRuns).
	for _, r := range cfg.GitHub.Repositories {
		if c := clusters.Get(r.Cluster); c != nil {
			a.runnables.Add(lifecycle.Runnable{Name: "index of " + r.Cluster + "/" + r.Namespace, Run: func(ctx context.Context) { c.WatchRuns(ctx, r.Namespace) }})
		}
	}
	policy := bot.PolicyFor(cfg)
	rotation := &state.RotationState{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace)}
	approvals := &state.Approvals{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace)}
	a.approvals = approvals
	deps := &handlers.Deps{
		Config: cfg, Clusters: clusters, Policy: policy, PullRequests: opts.pullRequests, Log: log,
		Rotation:   rotation,
		Approvals:  approvals,
		Queue:      &state.Queue{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace)},
		Background: func(job func(ctx context.Context)) { a.wg.Go(func() { job(a.life) }) },
	}

	var api *github.API
	if cfg.GitHubEnabled() && opts.pullRequests == nil {
		if api, err = github.NewAPI(cfg.GitHub); err != nil {
			return nil, err
		}
		api.Metrics = a.metrics
		deps.PullRequests, deps.GitOps = api, api
	}
	notify := opts.notifier
	if opts.releases != nil {
		deps.Notifier = opts.releases
	}
	var adapter *slack.Adapter
	var slackAPI *slackapi.Client
	if cfg.SlackEnabled() {
		if adapter, slackAPI, err = a.slackAdapter(cfg, log); err != nil {
			return nil, err
		}
		notify = slackNotifier{adapter}
		deps.Notifier = slack.Releases{Adapter: adapter}
	}
	if notify != nil && len(cfg.Rotation.Roster) > 0 && cfg.Slack.Channels.Captain != "" {
		if err := a.captainDuties(cfg, log, notify, rotation, deps); err != nil {
			return nil, err
		}
	}
	a.registry = handlers.NewRegistry(deps)
	// The last few thousand records, beyond the Events' TTL, for the status
	// page and `tekbot audit`; written in the background by every replica.
	ring := &audit.Ring{ConfigMaps: state.ConfigMapsIn(stateCluster.Kube, cfg.State.Namespace), Log: log.With("component", "audit")}
	a.runnables.Add(lifecycle.Runnable{Name: "audit ring", Run: ring.Run})
	auditor := &audit.EventAuditor{
		State: audit.EventsIn(stateCluster.Kube), Namespace: cfg.State.Namespace, Log: log, Ring: ring,
		Clusters: func(name string) audit.Events {
			if c := clusters.Get(name); c != nil {
				return audit.EventsIn(c.Kube)
			}
			return nil
		},
	}
	a.runnables.Add(lifecycle.Runnable{Name: "audit events", Run: auditor.Run})
	a.bot = &bot.Bot{Registry: a.registry, Policy: policy, Audit: auditor, Metrics: a.metrics, Log: log}
	deps.Audit = auditor // what tekbot does by itself is audited as commands are

	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	a.mux.HandleFunc("GET /readyz", a.readyz)
	metricsMux := a.mux
	if cfg.Server.MetricsAddr != "" {
		a.metricsMux = http.NewServeMux()
		metricsMux = a.metricsMux
	}
	metricsMux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	// Webhook and Slack bodies are read before anyone is authenticated:
	// one cap for them all.
	a.bodies = bodyLimiter(cfg.Server)
	if len(cfg.Rotation.Roster) > 0 {
		cal, err := newCalendar(cfg.Rotation, rotation)
		if err != nil {
			return nil, err
		}
		a.mux.Handle("GET /calendar.ics", cal)
	}
	status, err := newStatusPage(cfg, a, rotation, ring)
	if err != nil {
		return nil, err
	}
	a.mux.Handle("GET /{$}", status)
	if api != nil {
		secret, err := cfg.GitHub.WebhookSecret.Value()
		if err != nil {
			return nil, fmt.Errorf("github.webhookSecret: %w", err)
		}
		roles := &state.RoleChanges{ConfigMaps: state.WatchedConfigMapsIn(stateCluster.Kube, cfg.State.Namespace), Keep: github.RolesCachedFor}
		a.runnables.Add(lifecycle.Runnable{Name: "github role changes", Run: func(ctx context.Context) { roles.Follow(ctx, api.Forget, log) }})
		a.mux.Handle("/github/webhook", a.bodies.Wrap(&github.Receiver{
			Secret: []byte(secret), MaxBody: cfg.Server.MaxBodyBytes, Config: cfg,
			Registry: a.registry, Bot: a.bot, API: api, Intake: a.intake, Denials: a.claims, RoleChanges: roles,
			Approvals: approvals,
			Closed:    deps,
			Commits:   []github.CommitPulls{deps, api},
			Metrics:   a.metrics,
			Log:       log.With("transport", "github"),
		}))
	}
	if adapter != nil {
		adapter.Registry, adapter.Bot = a.registry, a.bot
		if cfg.Slack.Mode == config.SlackSocket {
			a.runnables.Add(lifecycle.Runnable{Name: "slack socket mode", Run: func(ctx context.Context) {
				if err := adapter.RunSocketMode(ctx, socketmode.New(slackAPI)); err != nil {
					log.Error("slack socket mode stopped", "err", err)
				}
			}})
		} else {
			slackMux := http.NewServeMux()
			adapter.Register(slackMux)
			a.mux.Handle("/slack/", a.bodies.Wrap(slackMux))
		}
	}
	a.runnables.Add(lifecycle.Runnable{Name: "claim expiry", Leader: true, Run: func(ctx context.Context) {
		expireClaims(ctx, a.claims, func(key string) time.Duration { return github.ClaimRetention(key, cfg.GitHub) }, log)
	}})
	if len(cfg.Promotion.Environments) > 0 {
		// Deploys that were running when the last process stopped are
		// watched again, so their result is still reported.
		a.runnables.Add(lifecycle.Runnable{Name: "promotion watches", Run: func(ctx context.Context) {
			logErr(log, "resuming promotion watches", deps.Promotions().Resume(ctx))
		}})
		// The promotion train proposes nightlies on working days; its
		// posts are claimed per day, so a new leader does not repeat them.
		a.runnables.Add(lifecycle.Runnable{Name: "promotion train", Leader: true, Run: func(ctx context.Context) { deps.Promotions().RunTrain(ctx, a.claims) }})
	}
	return a, nil
}

// slackAdapter builds the Slack transport; Registry and Bot are set once
// they exist.
func (a *app) slackAdapter(cfg *config.Config, log *slog.Logger) (*slack.Adapter, *slackapi.Client, error) {
	token, err := cfg.Slack.BotToken.Value()
	if err != nil {
		return nil, nil, fmt.Errorf("slack.botToken: %w", err)
	}
	opts := []slackapi.Option{}
	if cfg.Slack.AppToken != nil {
		appToken, err := cfg.Slack.AppToken.Value()
		if err != nil {
			return nil, nil, fmt.Errorf("slack.appToken: %w", err)
		}
		opts = append(opts, slackapi.OptionAppLevelToken(appToken))
	}
	if cfg.Slack.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(strings.TrimSuffix(cfg.Slack.APIURL, "/")+"/"))
	}
	signing := ""
	if cfg.Slack.SigningSecret != nil {
		if signing, err = cfg.Slack.SigningSecret.Value(); err != nil {
			return nil, nil, fmt.Errorf("slack.signingSecret: %w", err)
		}
	}
	api := slackapi.New(token, opts...)
	return &slack.Adapter{
		SigningSecret: signing, MaxBody: cfg.Server.MaxBodyBytes, Config: cfg,
		Poster: slack.NewPoster(api, log), Intake: a.intake,
		Metrics: a.metrics,
		Log:     log.With("transport", "slack"),
	}, api, nil
}

// captainDuties sets up the daily handoff and paging, which run on the
// leader, and gives the page command its pager.
func (a *app) captainDuties(cfg *config.Config, log *slog.Logger, notify notifier, rotation *state.RotationState, deps *handlers.Deps) error {
	rot, err := cfg.Rotation.Schedule()
	if err != nil {
		return fmt.Errorf("rotation: %w", err)
	}
	mention := func(name string) string {
		if p := cfg.Person(name); p != nil && p.Slack != "" {
			return "<@" + p.Slack + ">"
		}
		return name
	}
	job := &handoff.Job{
		Rotation: rot, Changes: rotation, Channel: cfg.Slack.Channels.Captain,
		RunbookURL: cfg.Rotation.RunbookURL, LogURL: cfg.Rotation.LogURL, Mention: mention,
		Poster: notify, Failures: a.clusters, Claims: a.claims, Metrics: a.metrics, Log: log.With("job", "handoff"),
	}
	pager := &paging.Pager{
		Rotation: func(ctx context.Context) (schedule.Rotation, error) {
			changes, err := rotation.Changes(ctx)
			return changes.Apply(rot), err
		},
		Config: cfg, Store: &paging.Store{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)},
		Notifier: notify, Channel: cfg.Slack.Channels.Captain, EscalateAfter: cfg.Rotation.EscalateAfter.Duration,
		Claims: a.claims, Log: log.With("job", "paging"),
	}
	if pd := cfg.Rotation.PagerDuty; pd != nil {
		key, err := pd.RoutingKey.Value()
		if err != nil {
			return fmt.Errorf("rotation.pagerDuty.routingKey: %w", err)
		}
		pager.PagerDuty = &paging.PagerDuty{URL: pd.URL, RoutingKey: key}
	}
	deps.Pager = pager
	monitorCaptain(a.metrics, rot, pager.Store)
	a.liveDuties(cfg, log, notify, job, pager.Rotation)
	a.runnables.Add(
		lifecycle.Runnable{Name: "handoff", Leader: true, Run: func(ctx context.Context) {
			if err := job.Run(ctx); err != nil {
				log.Error("handoff job stopped", "err", err)
			}
		}},
		lifecycle.Runnable{Name: "paging escalation", Leader: true, Run: func(ctx context.Context) {
			every(ctx, time.Minute, func() { logErr(log, "paging tick", pager.Tick(ctx, time.Now())) })
		}},
		lifecycle.Runnable{Name: "closed pages", Leader: true, Run: func(ctx context.Context) {
			every(ctx, time.Hour, func() {
				n, err := pager.Store.DeleteClosed(ctx, paging.ClosedRetention, time.Now())
				logErr(log, "deleting closed pages", err)
				if n > 0 {
					log.Info("deleted closed pages", "count", n)
				}
			})
		}},
	)
	return nil
}

// slackNotifier posts through the Slack transport's rate-limited poster; a
// bot may post to a user ID to reach them in its DM.
type slackNotifier struct{ slack *slack.Adapter }

func (n slackNotifier) Post(ctx context.Context, channel, text string) error {
	return n.slack.Poster.PostMessage(ctx, channel, "", slack.Message{Text: text, Public: true})
}

// DirectMessage offers an Ack button that runs "page ack <id>" as whoever
// presses it, and only the person paged may.
func (n slackNotifier) DirectMessage(ctx context.Context, to *config.Person, text, ackPage string) error {
	reply := bot.Reply{Text: text}
	ack := bot.Command{Verb: "page", Args: []string{"ack", ackPage}}
	offer := &bot.Request{ID: "page-ack/" + ackPage + "/" + to.Name, Command: ack, Caller: bot.Caller{Transport: bot.Slack, ID: to.Slack, Person: to}}
	if ackPage != "" {
		reply.Confirm = &bot.Confirm{Title: "Ack this page?", Text: "Stops the escalation.", Button: "Ack", Approvers: []string{to.Name}, Command: &ack}
	}
	_, err := n.slack.PostReply(ctx, to.Slack, "", reply, offer)
	return err
}

// expireClaims forgets each request claim after its retention: beyond
// the window in which a replay of what it guards would be acted on.
func expireClaims(ctx context.Context, claims *state.Claims, retention func(key string) time.Duration, log *slog.Logger) {
	every(ctx, time.Hour, func() {
		n, err := claims.Expire(ctx, retention, time.Now())
		logErr(log, "expiring claims", err)
		if n > 0 {
			log.Info("expired claims", "count", n)
		}
	})
}

// every runs fn now and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func logErr(log *slog.Logger, what string, err error) {
	if err != nil {
		log.Error(what+" failed", "err", err)
	}
}

// readyz is ready when the state cluster answers: claims live there, so
// without it requests cannot be taken exactly once. Another cluster being
// down is reported but keeps the bot ready, so that users who ask for
// something there are told it is unreachable rather than met by silence.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var report []string
	status := http.StatusOK
	for _, c := range a.clusters.All() {
		_, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		switch {
		case err == nil:
			report = append(report, "cluster "+c.Name+": ok")
		case c == a.state:
			status = http.StatusServiceUnavailable
			report = append(report, fmt.Sprintf("cluster %s (state): %v", c.Name, err))
		default:
			report = append(report, fmt.Sprintf("cluster %s: degraded: %v", c.Name, err))
		}
	}
	w.WriteHeader(status)
	fmt.Fprintln(w, strings.Join(report, "\n"))
}

// serveHTTP listens on listen, and on server.metricsAddr when /metrics has
// a port of its own, then serves until ctx ends.
func (a *app) serveHTTP(ctx context.Context, listen string) error {
	main, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("http server: %w", err)
	}
	var metrics net.Listener
	if a.metricsMux != nil {
		if metrics, err = net.Listen("tcp", a.cfg.Server.MetricsAddr); err != nil {
			main.Close()
			return fmt.Errorf("metrics server: %w", err)
		}
	}
	return a.serve(ctx, main, metrics)
}

// serve serves on main (and /metrics on metrics, if not nil) until ctx
// ends, then stops accepting, lets in-flight requests and queued work finish
// within the shutdown timeout, and returns.
func (a *app) serve(ctx context.Context, main, metrics net.Listener) error {
	servers := map[*http.Server]net.Listener{httpServer(a.cfg.Server, a.mux, a.log): main}
	if metrics != nil {
		servers[httpServer(a.cfg.Server, a.metricsMux, a.log)] = metrics
	}
	a.startBackground(ctx)
	errc := make(chan error, len(servers))
	for srv, ln := range servers {
		go func() { errc <- srv.Serve(ln) }()
		a.log.Info("tekbot serving", "listen", ln.Addr().String(), "metricsOnly", srv.Handler == a.metricsMux)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight work", "timeout", a.cfg.Server.ShutdownTimeout.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	var errs []error
	for srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	err := errors.Join(append(errs, a.pool.Shutdown(sctx))...)
	a.stopBackground()
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("shutdown complete")
	return nil
}

// bodyLimiter caps the bodies read at once, before anyone is
// authenticated, and holds them to a minimum rate, so that clients sending
// a byte a second neither hold tekbot's slots nor cost GitHub's deliveries.
func bodyLimiter(s config.Server) *httplimit.Limiter {
	l := httplimit.New(cmp.Or(s.MaxConcurrentBodies, config.DefaultMaxConcurrentBodies))
	l.MinRate = cmp.Or(s.MinBodyRate, config.DefaultMinBodyRate)
	l.Grace = cmp.Or(s.BodyGrace.Duration, config.DefaultBodyGrace)
	l.ReadTimeout = cmp.Or(s.ReadTimeout.Duration, config.DefaultTimeout)
	return l
}

// httpServer bounds every connection, since anyone can open one: a client
// that stalls sending its request (headers within 10 s at most), reading
// the answer, or idle between requests is cut off (30 s each by default).
func httpServer(s config.Server, h http.Handler, log *slog.Logger) *http.Server {
	bound := func(d config.Duration) time.Duration {
		if d.Duration <= 0 {
			return config.DefaultTimeout
		}
		return d.Duration
	}
	read := bound(s.ReadTimeout)
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(10*time.Second, read),
		ReadTimeout:       read,
		WriteTimeout:      bound(s.WriteTimeout),
		IdleTimeout:       bound(s.IdleTimeout),
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// startBackground starts the process-long work and the campaign for the
// leader Lease; stopBackground waits for them after ctx ends.
func (a *app) startBackground(ctx context.Context) {
	context.AfterFunc(ctx, a.stop)
	identity, _ := os.Hostname()
	if pod := os.Getenv("POD_NAME"); pod != "" {
		identity = pod
	}
	leader := &state.Leader{Kube: a.state.Kube, Namespace: a.cfg.State.Namespace, Lease: "tekbot-leader", Identity: identity, Log: a.log}
	a.runnables.Start(ctx, leader.Run)
}

func (a *app) stopBackground() {
	a.stop()
	a.runnables.Wait()
	a.wg.Wait()
}
