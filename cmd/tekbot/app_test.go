package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/test/poll"
	"tekbot/transport/github"
)

// testApp assembles tekbot as serve does, on the sandbox's config pointed
// at two real apiservers.
func testApp(t *testing.T) (*app, string) {
	t.Helper()
	nightly, prod := kube.Shared(t, "nightly"), kube.Shared(t, "production")
	dir := t.TempDir()
	cfg, err := writeDevConfig(dir, nightly.Kubeconfig, prod.Kubeconfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The state namespace, as the sandbox and the manifests make it.
	if err := seed(context.Background(), prod.Cluster, cfg.State.Namespace, nil); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.pool.Shutdown(context.Background()) })
	return a, filepath.Join(dir, "tekbot.yaml")
}

// startApp runs a's runnables (the run indexes, the audit ring, the
// leader's jobs) until the test ends.
func startApp(t *testing.T, a *app) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a.startBackground(ctx)
	t.Cleanup(func() {
		cancel()
		if err := a.stopBackground(); err != nil {
			t.Errorf("runnables: %v", err)
		}
	})
}

func TestMetricsAfterOneCommandOfEachVerb(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	srv := httptest.NewServer(a.mux)
	defer srv.Close()
	andrea := a.cfg.Person("andrea")
	for _, s := range a.registry.Specs() {
		transport := s.Transports[0]
		a.bot.Run(context.Background(), &bot.Request{
			ID: "m-" + s.Verb, Command: bot.Command{Verb: s.Verb, Args: []string{}},
			Caller: bot.Caller{Transport: transport, ID: andrea.Slack, Person: andrea},
		})
	}
	// A webhook with a bad signature counts as a verification failure.
	body := []byte(`{}`)
	req := githubtest.WebhookRequest(t, srv.URL+"/github/webhook", "issue_comment", "m-bad", []byte("not-the-secret"), body)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad signature: %v %v", resp, err)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(resp.Body)
	want := []string{`tekbot_webhook_verification_failures_total{transport="github"} 1`, "tekbot_action_duration_seconds_bucket", "go_goroutines"}
	for _, s := range a.registry.Specs() {
		want = append(want, `tekbot_commands_total{outcome=`, `transport="`+string(s.Transports[0])+`",verb="`+s.Verb+`"}`)
	}
	for _, w := range want {
		if !strings.Contains(string(text), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	srv := httptest.NewServer(a.mux)
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	// Not ready until the run indexes have synced: before, a PR command
	// would read the apiserver instead.
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, ": syncing") {
		t.Errorf("/readyz before the indexes synced: %d %s", code, body)
	}
	startApp(t, a)
	poll.Until(t, "/readyz answers 200 once the indexes synced", time.Minute, func() bool {
		code, _ := get("/readyz")
		return code == http.StatusOK
	})
	// A cluster that cannot be reached is reported; only the state cluster
	// (dogfooding in the sandbox's config) makes the bot not ready.
	broken := *a.cfg
	broken.Clusters = append(broken.Clusters[:0:0], a.cfg.Clusters...)
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, []byte("apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: 'https://127.0.0.1:1'}}]\ncontexts: [{name: x, context: {cluster: x}}]\ncurrent-context: x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	broken.Clusters[0].Kubeconfig = kc
	b, err := newApp(&broken, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Its indexes sync but for the nightly cluster's, which cannot.
	startApp(t, b)
	var rec *httptest.ResponseRecorder
	poll.Until(t, "/readyz answers 200 with the nightly cluster down", time.Minute, func() bool {
		rec = httptest.NewRecorder()
		b.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code == http.StatusOK
	})
	if !strings.Contains(rec.Body.String(), "cluster nightly: degraded: its apiserver is unreachable") || strings.Contains(rec.Body.String(), "127.0.0.1") {
		t.Errorf("readyz with the nightly cluster down: %d %s", rec.Code, rec.Body)
	}
	broken.Clusters[0].Kubeconfig, broken.Clusters[1].Kubeconfig = a.cfg.Clusters[0].Kubeconfig, kc
	c, err := newApp(&broken, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec = httptest.NewRecorder()
	c.mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "cluster dogfooding (state): its apiserver is unreachable") || strings.Contains(rec.Body.String(), "127.0.0.1") {
		t.Errorf("readyz with the state cluster down: %d %s", rec.Code, rec.Body)
	}
}

func TestAuditCommandShowsRecords(t *testing.T) {
	t.Parallel()
	a, configPath := testApp(t)
	andrea := a.cfg.Person("andrea")
	a.bot.Run(context.Background(), &bot.Request{
		ID: "audit-1", Command: bot.Command{Verb: "status", Args: []string{}},
		Caller: bot.Caller{Transport: bot.Slack, ID: andrea.Slack, Person: andrea},
	})
	out, errOut, code := runCLI(t, "", "audit", "-f", configPath, "-n", "50")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `audit-1`) || !strings.Contains(out, `andrea ran "status" via slack: noop`) {
		t.Errorf("audit output lacks the record:\n%s", out)
	}
}

func TestCalendarFeed(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	srv := httptest.NewServer(a.mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/calendar.ics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/calendar; charset=utf-8" ||
		!strings.HasPrefix(string(body), "BEGIN:VCALENDAR\r\n") || !strings.Contains(string(body), "SUMMARY:Build captain: ") {
		t.Fatalf("feed: %d %s\n%.300s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

func TestCalendarToken(t *testing.T) {
	t.Parallel()
	tokenFile := writeFile(t, "s3cret\n")
	cal, err := newCalendar(config.Rotation{
		TimeZone: "UTC", Handoff: "09:00", WorkingDays: config.DefaultWorkingDays, Start: "2026-01-05",
		Roster: []string{"ana"}, CalendarToken: &config.Secret{File: tokenFile},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for query, want := range map[string]int{"": http.StatusUnauthorized, "?token=wrong": http.StatusUnauthorized, "?token=s3cret": http.StatusOK} {
		rec := httptest.NewRecorder()
		cal.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/calendar.ics"+query, nil))
		if rec.Code != want || strings.Contains(rec.Body.String(), "s3cret") {
			t.Errorf("%q: %d, want %d", query, rec.Code, want)
		}
	}
}

// TestClaimsOutliveTheCommentWindow: a claim is kept longer than the
// window in which its comment, press or close would still be acted on,
// however long the window, so a replay inside it finds the claim.
func TestClaimsOutliveTheCommentWindow(t *testing.T) {
	t.Parallel()
	for _, window := range []time.Duration{0, 10 * time.Minute, 20 * time.Hour, 72 * time.Hour} {
		g := config.GitHub{CommentWindow: config.Duration{Duration: window}}
		for key, acted := range map[string]time.Duration{
			"github-comment/o/r/1/created":                         g.MaxCommentAge(),
			"github-check-suite/o/r/2/rerequested/20261207T101010": github.ChangeWindow,
			"github-check-run/o/r/3/rerequested/20261207T101010":   github.ChangeWindow,
			"github-pull-request/o/r/4/closed/20261207T101010":     github.ChangeWindow,
			"slack-interaction/T0/a/1700000000.000100":             0,
		} {
			if got := github.ClaimRetention(key, g); got < 24*time.Hour || got <= acted+time.Hour {
				t.Errorf("window %v, %s: claims kept %v, want a day at least and beyond %v and the hourly expiry's lag", window, key, got, acted)
			}
		}
	}
}
