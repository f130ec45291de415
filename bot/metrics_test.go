package bot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"tekbot/config"
)

// TestUnknownVerbsShareOneSeries: anyone can type any word after a slash;
// 2,000 distinct unknown verbs must cost one series, not 2,000.
func TestUnknownVerbsShareOneSeries(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	registry := testRegistry()
	b := &Bot{Registry: registry, Policy: NewPolicy(config.Policy{}), Metrics: m, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	run := func(verb string) {
		b.Run(context.Background(), &Request{ID: "r-" + verb, Command: cmd(verb), Caller: Caller{Transport: Slack, ID: "U01STRANGER"}})
	}
	run("status")
	before := series(t, reg, "tekbot_commands_total", "tekbot_action_duration_seconds")
	for i := range 2000 {
		run(fmt.Sprintf("verb%d", i))
	}
	run("who") // an alias counts as its command
	after := series(t, reg, "tekbot_commands_total", "tekbot_action_duration_seconds")
	// One new series in each of the two families: verb="unknown" (the
	// alias joins captain's series, which "status" did not create).
	if got := after - before; got != 4 {
		t.Errorf("2,000 unknown verbs and one alias added %d series, want 4 (unknown and captain, in each family)", got)
	}
	got := commandSeries(t, reg)
	if got["unknown"] != 2000 || len(got) != 3 || got["captain"] != 1 || got["status"] != 1 {
		t.Errorf("tekbot_commands_total by verb = %v, want unknown 2000, captain 1, status 1", got)
	}
}

// series counts the series of the named metric families.
func series(t *testing.T, reg *prometheus.Registry, names ...string) int {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		if slices.Contains(names, f.GetName()) {
			n += len(f.GetMetric())
		}
	}
	return n
}

// commandSeries sums tekbot_commands_total by its verb label.
func commandSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != "tekbot_commands_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "verb" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}
