package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"tekbot/test/slackfake"
)

// alertRuns is how many watched runs figure 6 holds: a year of a busy
// project's CI in one namespace.
const alertRuns = 100000

const alertsConfig = `# Written by test/bench: tekbot serve for figure 6.
server: {listen: "LISTEN"}
clusters:
  - {name: nightly, role: nightly, kubeconfig: %[1]s, context: nightly, namespace: %[2]s}
state: {cluster: nightly, namespace: %[3]s}
people:
  - {name: andrea, slack: U01ANDREA}
slack:
  botToken: {file: %[4]s}
  signingSecret: {file: %[4]s}
  apiURL: %[5]s
  channels: {captain: C0CAPTAIN}
rotation: {timezone: UTC, start: "2026-11-02", roster: [andrea]}
`

// figureAlerts measures tekbot serve's memory while its failure alerts
// watch a namespace of 100,000 runs (the informer caches slim Runs, not
// PipelineRuns), beside the same tekbot watching nothing.
func figureAlerts(ctx context.Context, e *env) ([]row, error) {
	ns, state := "bench-alerts", "bench-alerts-state"
	for _, n := range []string{ns, state} {
		if err := createNamespace(ctx, e.nightly, n); err != nil {
			return nil, err
		}
	}
	e.log.Info("filling the watched namespace", "runs", alertRuns)
	start := time.Now()
	// fill skips the runs that exist, so an overloaded etcd's timeout
	// costs a retry, not the figure.
	var err error
	for range 3 {
		if err = fill(ctx, e.nightly, ns, "pipeline", alertRuns); err == nil || ctx.Err() != nil {
			break
		}
		e.log.Warn("filling again after an error", "err", err)
	}
	if err != nil {
		return nil, err
	}
	e.log.Info("filled", "took", time.Since(start).Round(time.Second))
	api := slackfake.New()
	defer api.Stop()
	token := filepath.Join(e.dir, "slack-token")
	if err := os.WriteFile(token, []byte("xoxb-bench\n"), 0o600); err != nil {
		return nil, err
	}
	config := fmt.Sprintf(alertsConfig, e.nightly.Kubeconfig, ns, state, token, api.APIURL())

	idle, err := alertsRSS(ctx, e, config, false)
	if err != nil {
		return nil, err
	}
	watching := config + fmt.Sprintf("alerts:\n  watch:\n    - {cluster: nightly, namespace: %s, selector: team=ci}\n", ns)
	rss, err := alertsRSS(ctx, e, watching, true)
	if err != nil {
		return nil, err
	}
	return []row{{
		Figure: fmt.Sprintf("6 tekbot serve RSS watching %d runs for alerts", alertRuns), Unit: "MiB",
		Tekbot: rss.now, Baseline: idle.now, BaselineIs: "watching none", Ratio: rss.now / idle.now,
		Target: "< 150 MiB", Met: rss.now < 150,
		Note:   fmt.Sprintf("peak %.1f MiB; cache synced in %s", rss.peak, rss.synced.Round(100*time.Millisecond)),
		Detail: []string{"the informer's transform keeps name, pipeline, state and times of each run; specs and most of the status are dropped as each run arrives"},
	}}, nil
}

type footprint struct {
	now, peak float64
	synced    time.Duration
}

// alertsRSS runs tekbot serve on config and reads its memory once it is
// ready and, if watching, once its alert cache has synced.
func alertsRSS(ctx context.Context, e *env, config string, watching bool) (footprint, error) {
	p, err := startTekbot(ctx, e, config)
	if err != nil {
		return footprint{}, err
	}
	defer p.stop()
	start := time.Now()
	if watching {
		logFile := filepath.Join(e.dir, "tekbot.log")
		for {
			data, err := os.ReadFile(logFile)
			if err != nil {
				return footprint{}, err
			}
			if strings.Contains(string(data), "watching runs for alerts") {
				break
			}
			if time.Since(start) > 5*time.Minute {
				return footprint{}, fmt.Errorf("alert cache not synced within 5 minutes (log: %s)", logFile)
			}
			select {
			case <-ctx.Done():
				return footprint{}, ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	f := footprint{synced: time.Since(start)}
	f.now, f.peak, err = p.memory()
	return f, err
}
