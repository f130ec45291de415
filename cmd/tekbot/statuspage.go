package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"tekbot/audit"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/statuspage"
)

// newStatusPage assembles the status page over the stores the bot uses:
// the rotation and its chat changes, pages, the audit ring, the promotion
// record, and every cluster's runs.
func newStatusPage(cfg *config.Config, a *app, rotation *state.RotationState, ring *audit.Ring) (*statuspage.Page, error) {
	p := &statuspage.Page{
		Title: "tekbot", Clusters: a.clusters, Log: a.log.With("component", "statuspage"),
		Pages:      &paging.Store{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)},
		Promotions: &promotion.Record{ConfigMaps: state.ConfigMapsIn(a.state.Kube, cfg.State.Namespace)},
		Flakes:     a.verdicts,
	}
	// A nil store stays a nil interface: that part is left out.
	if rotation != nil {
		p.Changes = rotation
	}
	if ring != nil {
		p.Actions = ring
	}
	if len(cfg.Rotation.Roster) > 0 {
		rot, err := cfg.Rotation.Schedule()
		if err != nil {
			return nil, fmt.Errorf("rotation: %w", err)
		}
		p.Rotation = &rot
	}
	p.Public = cfg.Server.StatusPublic
	if cfg.Server.StatusToken != nil {
		token, err := cfg.Server.StatusToken.Value()
		if err != nil {
			return nil, fmt.Errorf("server.statusToken: %w", err)
		}
		p.Token = token
	}
	return p, nil
}

// devStatusAddr is where the sandbox serves the status page (and the other
// GET endpoints) when the port is free; any free loopback port otherwise.
const devStatusAddr = "127.0.0.1:8089"

// serveLoopback serves the app's HTTP endpoints on loopback for the
// sandbox until ctx ends, and returns the status page's URL.
func (a *app) serveLoopback(ctx context.Context) (string, error) {
	ln, err := net.Listen("tcp", devStatusAddr)
	if err != nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return "", err
		}
	}
	srv := &http.Server{Handler: a.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("sandbox http server stopped", "err", err)
		}
	}()
	context.AfterFunc(ctx, func() { _ = srv.Close() })
	return "http://" + ln.Addr().String() + "/", nil
}
