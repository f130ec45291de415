package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"tekbot/audit"
	"tekbot/state"
	"tekbot/tekton"
)

func auditCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("audit", "audit -f tekbot.yaml [-n N]", stderr)
	file := fs.String("f", "tekbot.yaml", "config file")
	n := fs.Int("n", 20, "how many records, newest first (the audit ring keeps ~4,000; Events last an hour)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file)
	if err != nil {
		return err
	}
	clusters, err := tekton.Connect(cfg)
	if err != nil {
		return err
	}
	// The durable ring and the recent Events together: the ring outlives
	// the apiserver's --event-ttl, the Events hold what it has not
	// written yet. With one of them unreadable the other is still shown.
	kube := clusters.Get(cfg.State.Cluster).Kube
	ring := &audit.Ring{ConfigMaps: state.ConfigMapsIn(kube, cfg.State.Namespace)}
	records, err := audit.Recent(ctx, ring, audit.EventsIn(kube), cfg.State.Namespace, *n)
	if err != nil {
		if len(records) == 0 {
			return err
		}
		fmt.Fprintf(stderr, "warning: some audit records could not be read: %v\n", err)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tREQUEST\tRECORD")
	for _, r := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Time.Format("2006-01-02 15:04:05Z07:00"), r.RequestID, r.Summary())
	}
	return tw.Flush()
}
