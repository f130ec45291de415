package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/kubernetes"

	"tekbot/bot"
	"tekbot/bot/github"
	"tekbot/bot/kubestate"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/handlers/tekton"
)

// app is tekbot assembled from a config: the same for serve and dev.
type app struct {
	cfg      *config.Config
	log      *slog.Logger
	clusters *tekton.Clusters
	registry *bot.Registry
	bot      *bot.Bot
	pool     *bot.Pool
	mux      *http.ServeMux
	metrics  *bot.Metrics
}

// Worker pool size: commands mostly wait on the apiserver and GitHub, so a
// few more workers than cores keep latency low without flooding either.
const (
	workers   = 8
	queueSize = 512
	seenSize  = 10000
)

type appOptions struct {
	// pullRequests replaces GitHub for PR look-ups (the sandbox).
	pullRequests handlers.PullRequests
}

func newApp(cfg *config.Config, log *slog.Logger, opts appOptions) (*app, error) {
	clusters, err := tekton.Connect(cfg)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &app{cfg: cfg, log: log, clusters: clusters, pool: bot.NewPool(workers, queueSize), mux: http.NewServeMux(), metrics: bot.NewMetrics(reg)}
	policy := bot.NewPolicy(cfg.Policy)
	state := clusters.Get(cfg.State.Cluster)
	deps := &handlers.Deps{
		Config: cfg, Clusters: clusters, Policy: policy, PullRequests: opts.pullRequests, Log: log,
		Rotation: &kubestate.RotationState{Kube: state.Kube, Namespace: cfg.State.Namespace},
	}

	var api *github.API
	if cfg.GitHubEnabled() && opts.pullRequests == nil {
		if api, err = github.NewAPI(cfg.GitHub); err != nil {
			return nil, err
		}
		api.Metrics = a.metrics
		deps.PullRequests = api
	}
	a.registry = handlers.NewRegistry(deps)
	auditor := &kubestate.EventAuditor{
		State: state.Kube, Namespace: cfg.State.Namespace, Log: log,
		Clusters: func(name string) kubernetes.Interface {
			if c := clusters.Get(name); c != nil {
				return c.Kube
			}
			return nil
		},
	}
	a.bot = &bot.Bot{Registry: a.registry, Policy: policy, Audit: auditor, Metrics: a.metrics, Log: log}

	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	a.mux.HandleFunc("GET /readyz", a.readyz)
	a.mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if len(cfg.Rotation.Roster) > 0 {
		cal, err := newCalendar(cfg.Rotation, deps.Rotation)
		if err != nil {
			return nil, err
		}
		a.mux.Handle("GET /calendar.ics", cal)
	}
	if api != nil {
		secret, err := cfg.GitHub.WebhookSecret.Value()
		if err != nil {
			return nil, fmt.Errorf("github.webhookSecret: %w", err)
		}
		a.mux.Handle("/github/webhook", &github.Receiver{
			Secret: []byte(secret), MaxBody: cfg.Server.MaxBodyBytes, Config: cfg,
			Registry: a.registry, Bot: a.bot, API: api, Pool: a.pool, Seen: bot.NewSeen(seenSize),
			Claims:  &kubestate.Claims{Kube: state.Kube, Namespace: cfg.State.Namespace},
			Metrics: a.metrics,
			Log:     log.With("transport", "github"),
		})
	}
	if cfg.SlackEnabled() {
		log.Warn("slack is configured but this version of tekbot has no Slack transport yet; Slack commands are not served")
	}
	return a, nil
}

// readyz is ready when every cluster's apiserver answers: a bot that cannot
// reach its clusters should not receive webhooks.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var errs []error
	for _, c := range a.clusters.All() {
		if _, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
			errs = append(errs, fmt.Errorf("cluster %s: %w", c.Name, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ok")
}

// serveHTTP serves until ctx ends, then stops accepting, lets in-flight
// requests and queued work finish within the shutdown timeout, and returns.
func (a *app) serveHTTP(ctx context.Context, listen string) error {
	srv := &http.Server{Addr: listen, Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	a.log.Info("tekbot serving", "listen", listen)
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight work", "timeout", a.cfg.Server.ShutdownTimeout.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	err := errors.Join(srv.Shutdown(sctx), a.pool.Shutdown(sctx))
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	a.log.Info("shutdown complete")
	return nil
}
