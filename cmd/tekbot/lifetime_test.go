package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"

	"tekbot/config"
)

// TestServeStopsWhenARunnableFails: Slack revokes the app token, so
// Socket Mode cannot connect; serve stops by itself (its context never
// ends) and returns the error, which main prints before exiting non-zero,
// rather than living on without Slack. The error is logged under the
// runnable's name.
func TestServeStopsWhenARunnableFails(t *testing.T) {
	t.Parallel()
	base, _ := testApp(t)
	slackAPI := slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/apps.connections.open", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"ok":false,"error":"token_revoked"}`)
		})
	})
	slackAPI.Start()
	t.Cleanup(slackAPI.Stop)
	secrets := t.TempDir()
	secret := func(name, value string) *config.Secret {
		path := filepath.Join(secrets, name)
		if err := os.WriteFile(path, []byte(value), 0o600); err != nil {
			t.Fatal(err)
		}
		return &config.Secret{File: path}
	}
	cfg := *base.cfg
	cfg.Slack = config.Slack{
		Mode: config.SlackSocket, BotToken: secret("bot", "xoxb-test"), AppToken: secret("app", "xapp-test"),
		APIURL: slackAPI.GetAPIURL(),
	}
	// Locked: client-go logs through klog, which is global, so other
	// tests' apps may log here too.
	var logged strings.Builder
	logs := &lockedWriter{w: &logged}
	a, err := newApp(&cfg, slog.New(slog.NewTextHandler(logs, nil)), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.serve(context.Background(), ln, nil) }()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("serve did not stop within a minute of Socket Mode failing")
	}
	if err == nil || !strings.Contains(err.Error(), "slack socket mode: token_revoked") {
		t.Errorf("serve returned %v, want Socket Mode's error", err)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	found := false
	for line := range strings.Lines(logged.String()) {
		found = found || strings.Contains(line, "level=ERROR") && strings.Contains(line, `runnable="slack socket mode"`) && strings.Contains(line, "token_revoked")
	}
	if !found {
		t.Errorf("the failure is not logged under the runnable's name:\n%s", logged.String())
	}
}
