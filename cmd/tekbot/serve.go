package main

import (
	"context"
	"io"
	"log/slog"
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
