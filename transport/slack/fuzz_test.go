package slack_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/transport/slack"
)

// fuzzSign signs body as Slack does at ts: v0= and the hex HMAC-SHA256 of
// "v0:<ts>:<body>".
func fuzzSign(req *http.Request, secret string, ts time.Time, body []byte) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}

// FuzzSlackEndpoints posts form and JSON bodies from the fuzzer's bytes
// (the committed corpus holds the shapes Slack sends: slash commands,
// button clicks, app mentions, URL verification) to the three Slack
// endpoints, signed with the signing secret, not signed, or signed six
// minutes ago. The adapter must not panic, must answer a status it
// documents, and must refuse exactly what is not signed right and fresh.
func FuzzSlackEndpoints(f *testing.F) {
	f.Add(uint8(0), []byte("command=%2Ftekton&text=rerun+pipeline-nightly-4f2b9c1&user_id=U0VINCENT&channel_id=C0BUILDCOP&trigger_id=t1&response_url=http%3A%2F%2F127.0.0.1%2Frespond%2Ft1"), uint8(0))
	f.Add(uint8(0), []byte("command=%2Ftekton&text=re%E2%80%8Brun+x&user_id=U0VINCENT&trigger_id=t2&response_url=http%3A%2F%2F127.0.0.1%2Fr"), uint8(0))
	f.Add(uint8(1), []byte(`payload=%7B%22type%22%3A%22block_actions%22%7D`), uint8(0))
	f.Add(uint8(2), []byte(`{"type":"url_verification","challenge":"c"}`), uint8(1))
	f.Add(uint8(2), []byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U0VINCENT","text":"<@U0TEKBOT> status","ts":"1.2","channel":"C0BUILDCOP"}}`), uint8(2))

	const secret = "fuzz-signing-secret"
	// Slack's Web API and response_urls, answering ok to everything: a
	// refusal to an unauthorised click is posted without a claim.
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"channel":"C0BUILDCOP","ts":"1.2"}`)
	}))
	f.Cleanup(api.Close)
	cfg := &config.Config{
		Server: config.Server{MaxBodyBytes: config.DefaultMaxBodyBytes},
		People: []config.Person{{Name: "vincent", Slack: "U0VINCENT"}},
		Policy: config.Policy{Roles: map[string][]string{"maintainers": {"vincent"}}},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	policy := bot.NewPolicy(cfg.Policy)
	reg := handlers.NewRegistry(&handlers.Deps{Config: cfg, Clusters: tekton.NewClusters(), Policy: policy, Log: log})
	// Fuzzed response_urls may name any host: every connection goes to the
	// stand-in instead, so the fuzzer never reaches past this machine.
	toAPI := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, api.Listener.Addr().String())
	}}}
	poster := slack.NewPoster(slackapi.New("xoxb-fuzz", slackapi.OptionAPIURL(api.URL+"/"), slackapi.OptionHTTPClient(toAPI)), log)
	poster.Interval, poster.Attempts = 0, 1
	pool := bot.NewPool(2, 64)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pool.Shutdown(ctx); err != nil {
			f.Errorf("draining: %v", err)
		}
	})
	mux := http.NewServeMux()
	(&slack.Adapter{
		SigningSecret: secret, MaxBody: cfg.Server.MaxBodyBytes, Config: cfg, Registry: reg,
		Bot: &bot.Bot{Registry: reg, Policy: policy, Log: log}, Poster: poster, Log: log,
		Intake: &bot.Intake{Seen: bot.NewSeen(64), Claims: githubtest.TakenElsewhere{}, Pool: pool, Log: log},
	}).Register(mux)
	paths := []string{"/slack/commands", "/slack/interactivity", "/slack/events"}
	documented := map[int]bool{
		http.StatusOK: true, http.StatusBadRequest: true, http.StatusUnauthorized: true,
		http.StatusRequestEntityTooLarge: true, http.StatusServiceUnavailable: true,
	}

	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte, signing uint8) {
		req := httptest.NewRequest(http.MethodPost, paths[int(endpoint)%len(paths)], bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		fresh := signing%3 == 0
		switch signing % 3 {
		case 0:
			fuzzSign(req, secret, time.Now(), body)
		case 1: // not signed
		case 2:
			fuzzSign(req, secret, time.Now().Add(-6*time.Minute), body)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		code, msg := rec.Code, rec.Body.String()
		switch {
		case !documented[code]:
			t.Fatalf("status %d %q is not one the adapter documents", code, msg)
		case code != http.StatusOK && msg == "":
			t.Fatalf("status %d without a message", code)
		case fresh && code == http.StatusUnauthorized:
			t.Fatalf("a request signed with the secret just now was refused: %q", msg)
		case !fresh && code != http.StatusUnauthorized && code != http.StatusRequestEntityTooLarge:
			// (The cap is checked first: a body too large is not read.)
			t.Fatalf("a request not signed right got %d %q, want 401", code, msg)
		}
	})
}
