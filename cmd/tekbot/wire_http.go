package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tekbot/audit"
	"tekbot/bot"
	"tekbot/config"
	"tekbot/state"
	"tekbot/transport/httplimit"
)

// routes serves the probes, /metrics (on its own port when
// server.metricsAddr says so), the calendar and the status page.
func (a *app) routes(reg *prometheus.Registry, rotation *state.RotationState, ring *audit.Ring) error {
	cfg := a.cfg
	a.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	a.mux.HandleFunc("GET /readyz", a.readyz)
	metricsMux := a.mux
	if cfg.Server.MetricsAddr != "" {
		a.metricsMux = http.NewServeMux()
		metricsMux = a.metricsMux
	}
	metricsMux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if len(cfg.Rotation.Roster) > 0 {
		cal, err := newCalendar(cfg.Rotation, rotation)
		if err != nil {
			return err
		}
		a.mux.Handle("GET /calendar.ics", cal)
	}
	status, err := newStatusPage(cfg, a, rotation, ring)
	if err != nil {
		return err
	}
	a.mux.Handle("GET /{$}", status)
	return nil
}

// readyz is ready when the state cluster answers and the run indexes of
// the clusters that answer have synced. Claims live in the state cluster,
// so without it requests cannot be taken exactly once; before its index
// syncs, a PR command would read the apiserver instead, slowly, so a
// rollout waits for the new replica's indexes. Another cluster being down
// is reported but keeps the bot ready (its indexes cannot sync), so that
// users who ask for something there are told it is unreachable rather than
// met by silence.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var report []string
	status := http.StatusOK
	down := map[string]bool{}
	for _, c := range a.clusters.All() {
		_, err := c.Kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		switch {
		case err == nil:
			report = append(report, "cluster "+c.Name+": ok")
		case c == a.state:
			status = http.StatusServiceUnavailable
			report = append(report, fmt.Sprintf("cluster %s (state): %s", c.Name, a.notReady(ctx, c.Name, err)))
		default:
			down[c.Name] = true
			report = append(report, fmt.Sprintf("cluster %s: degraded: %s", c.Name, a.notReady(ctx, c.Name, err)))
		}
	}
	for _, ix := range a.indexes {
		if !down[ix.cluster.Name] && !ix.cluster.Indexed(ix.namespace) {
			status = http.StatusServiceUnavailable
			report = append(report, "runs of "+ix.cluster.Name+"/"+ix.namespace+": syncing")
		}
	}
	w.WriteHeader(status)
	fmt.Fprintln(w, strings.Join(report, "\n"))
}

// notReady says in words why a cluster is not ready: /readyz is on the
// public mux, and the error names the apiserver's address. The error
// itself goes to the log.
func (a *app) notReady(ctx context.Context, cluster string, err error) string {
	a.log.WarnContext(ctx, "readyz: cluster not ready", "cluster", cluster, "err", err)
	return bot.Explain("its apiserver", err)
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
