package github_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/transport/github"
)

// FuzzWebhook sends the receiver deliveries built from the fuzzer's bytes
// (the committed corpus holds real GitHub payloads), signed with the
// webhook secret, with none, or with another secret. The receiver must not
// panic, must answer one of the statuses it documents with a message, and
// must refuse exactly the deliveries that are not signed right.
func FuzzWebhook(f *testing.F) {
	f.Add("issue_comment", []byte(`{"action":"created","issue":{"number":42,"state":"open","pull_request":{}},"comment":{"id":1,"body":"/retest","user":{"login":"vdemeest","type":"User"}},"repository":{"full_name":"tektoncd/pipeline"}}`), uint8(0))
	f.Add("check_run", []byte(`{"action":"rerequested","check_run":{"name":"pipeline / unit-tests","pull_requests":[{"number":42}]},"repository":{"full_name":"tektoncd/pipeline"},"sender":{"login":"vdemeest"}}`), uint8(0))
	f.Add("ping", []byte(`{"zen":"Keep it logically awesome."}`), uint8(1))
	f.Add("issue_comment", []byte(`{"action":"created","comment":{"body":"/retest`), uint8(2))
	f.Add("issue_comment", []byte{}, uint8(0))

	cfg := &config.Config{
		Server: config.Server{MaxBodyBytes: config.DefaultMaxBodyBytes},
		People: []config.Person{{Name: "vincent", GitHub: "vdemeest"}},
		GitHub: config.GitHub{Repositories: []config.Repository{{
			Name: "tektoncd/pipeline", Selector: config.DefaultSelector, PipelineLabel: config.DefaultPipelineLabel,
		}}},
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	policy := bot.NewPolicy(cfg.Policy)
	reg := handlers.NewRegistry(&handlers.Deps{Config: cfg, Clusters: tekton.NewClusters(), Policy: policy, Log: log})
	pool := bot.NewPool(2, 64)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := pool.Shutdown(ctx); err != nil {
			f.Errorf("draining: %v", err)
		}
	})
	recv := &github.Receiver{
		Secret: secret, MaxBody: cfg.Server.MaxBodyBytes, Config: cfg, Registry: reg,
		Bot: &bot.Bot{Registry: reg, Policy: policy, Log: log}, Denials: githubtest.TakenElsewhere{}, API: githubtest.Away{},
		Intake: &bot.Intake{Seen: bot.NewSeen(64), Claims: githubtest.TakenElsewhere{}, Pool: pool, Log: log}, Log: log,
	}
	// Each delivery has its own id, so that a redelivery fast path does
	// not hide the rest of the receiver from the fuzzer.
	var deliveries atomic.Int64
	documented := map[int]bool{
		http.StatusOK: true, http.StatusAccepted: true, http.StatusBadRequest: true, http.StatusUnauthorized: true,
		http.StatusRequestEntityTooLarge: true, http.StatusServiceUnavailable: true,
	}

	f.Fuzz(func(t *testing.T, event string, body []byte, signing uint8) {
		req := httptest.NewRequest(http.MethodPost, "/github/webhook", bytes.NewReader(body))
		req.Header.Set(githubtest.HeaderEvent, event)
		req.Header.Set(githubtest.HeaderDelivery, fmt.Sprintf("fuzz-%d", deliveries.Add(1)))
		req.Header.Set("Content-Type", "application/json")
		signed := signing%3 == 0
		switch signing % 3 {
		case 0:
			req.Header.Set(githubtest.HeaderSignature256, githubtest.Sign(secret, body))
		case 1: // no signature
		case 2:
			req.Header.Set(githubtest.HeaderSignature256, githubtest.Sign([]byte("another secret"), body))
		}
		rec := httptest.NewRecorder()
		recv.ServeHTTP(rec, req)
		code, msg := rec.Code, rec.Body.String()
		switch {
		case !documented[code]:
			t.Fatalf("status %d %q is not one the receiver documents", code, msg)
		case msg == "":
			t.Fatalf("status %d without a message", code)
		case signed && code == http.StatusUnauthorized:
			t.Fatalf("a delivery signed with the secret was refused: %q", msg)
		case !signed && code != http.StatusUnauthorized && code != http.StatusRequestEntityTooLarge:
			// (The cap is checked first: a body too large is not read.)
			t.Fatalf("a delivery not signed with the secret got %d %q, want 401", code, msg)
		}
	})
}
