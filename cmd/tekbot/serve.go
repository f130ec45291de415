package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
)

func serveCommand(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve", "serve -f tekbot.yaml", stderr)
	file := fs.String("f", "tekbot.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	a, err := newApp(cfg, log, appOptions{})
	if err != nil {
		return err
	}
	return a.serveHTTP(ctx, cfg.Server.Listen)
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
// ends or a runnable fails, then stops accepting, lets in-flight requests
// and queued work finish within the shutdown timeout, and returns; with
// the runnable's error if one failed, so that the process exits non-zero.
func (a *app) serve(ctx context.Context, main, metrics net.Listener) error {
	servers := map[*http.Server]net.Listener{httpServer(a.cfg.Server, a.mux, a.log): main}
	if metrics != nil {
		servers[httpServer(a.cfg.Server, a.metricsMux, a.log)] = metrics
	}
	background, stop := context.WithCancel(ctx)
	defer stop()
	a.startBackground(background)
	errc := make(chan error, len(servers))
	for srv, ln := range servers {
		go func() { errc <- srv.Serve(ln) }()
		a.log.Info("tekbot serving", "listen", ln.Addr().String(), "metricsOnly", srv.Handler == a.metricsMux)
	}
	// cause is why serving stopped, if not ctx.
	var cause error
	select {
	case err := <-errc:
		cause = fmt.Errorf("http server: %w", err)
	case <-a.runnables.Done():
	case <-ctx.Done():
	}
	a.log.Info("shutting down: finishing in-flight work", "timeout", a.cfg.Server.ShutdownTimeout.Duration)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.Server.ShutdownTimeout.Duration)
	defer cancel()
	var errs []error
	for srv := range servers {
		errs = append(errs, srv.Shutdown(sctx))
	}
	errs = append(errs, a.pool.Shutdown(sctx))
	stop()
	cause = errors.Join(cause, a.stopBackground())
	if err := errors.Join(errs...); err != nil {
		return errors.Join(cause, fmt.Errorf("shutdown: %w", err))
	}
	if cause != nil {
		return cause
	}
	a.log.Info("shutdown complete")
	return nil
}
