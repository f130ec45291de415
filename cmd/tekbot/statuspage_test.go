package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/test/poll"
)

// tekbot serves the status page at / (and only there), and a command the
// bot ran shows up in its recent actions once the audit ring has written
// it.
func TestStatusPageServesWhatTheBotDid(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	ctx, cancel := context.WithCancel(context.Background())
	a.startBackground(ctx)
	t.Cleanup(func() { cancel(); a.stopBackground() })
	srv := httptest.NewServer(a.mux)
	defer srv.Close()
	andrea := a.cfg.Person("andrea")
	a.bot.Run(ctx, &bot.Request{
		ID: "status-page-e2e", Command: bot.Command{Verb: "captain", Args: []string{"next", "7"}},
		Caller: bot.Caller{Transport: bot.Slack, ID: andrea.Slack, Person: andrea},
	})
	fetch := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	poll.Until(t, "GET / showing the captain and the command just run", 15*time.Second, func() bool {
		code, body := fetch("/")
		return code == http.StatusOK && strings.Contains(body, "Build captain") && strings.Contains(body, "captain next 7")
	})
	if code, _ := fetch("/no-such-page"); code != http.StatusNotFound {
		t.Errorf("GET /no-such-page = %d, want 404", code)
	}
}

// The status page names private repositories' runs and holds the audit
// trail: served as serve serves it, it answers 404 without a token in the
// config, 401 without the token, and 200 with it or with statusPublic.
func TestStatusPageClosedByDefault(t *testing.T) {
	t.Parallel()
	base, _ := testApp(t)
	token := &config.Secret{File: writeFile(t, "s3cret\n")}
	for _, tc := range []struct {
		name   string
		server func(*config.Server)
		want   map[string]int
	}{
		{"closed by default", func(s *config.Server) {}, map[string]int{"/": http.StatusNotFound, "/?token=": http.StatusNotFound, "/?token=s3cret": http.StatusNotFound}},
		{"a token", func(s *config.Server) { s.StatusToken = token }, map[string]int{"/": http.StatusUnauthorized, "/?token=wrong": http.StatusUnauthorized, "/?token=s3cret": http.StatusOK}},
		{"statusPublic", func(s *config.Server) { s.StatusPublic = true }, map[string]int{"/": http.StatusOK}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := *base.cfg
			cfg.Server.StatusPublic, cfg.Server.StatusToken = false, nil
			tc.server(&cfg.Server)
			a, err := newApp(&cfg, slog.New(slog.DiscardHandler), appOptions{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = a.pool.Shutdown(context.Background()) })
			srv := httptest.NewServer(a.mux)
			defer srv.Close()
			for target, want := range tc.want {
				resp, err := http.Get(srv.URL + target)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != want || strings.Contains(string(body), "s3cret") {
					t.Errorf("GET %s: %d, want %d", target, resp.StatusCode, want)
				}
				if want != http.StatusOK && strings.Contains(string(body), "Build captain") {
					t.Errorf("GET %s shows the page without the token", target)
				}
			}
		})
	}
}
