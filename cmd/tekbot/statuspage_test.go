package main

import (
	"context"
	"io"
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

func TestStatusPageToken(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	cfg := *a.cfg
	cfg.Server.StatusToken = &config.Secret{File: writeFile(t, "s3cret\n")}
	page, err := newStatusPage(&cfg, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string]int{"": http.StatusUnauthorized, "?token=wrong": http.StatusUnauthorized, "?token=s3cret": http.StatusOK} {
		rec := httptest.NewRecorder()
		page.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+query, nil))
		if rec.Code != want || strings.Contains(rec.Body.String(), "s3cret") {
			t.Errorf("%q: %d, want %d", query, rec.Code, want)
		}
	}
}
