package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	slackapi "github.com/slack-go/slack"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/transport/slack"
)

const (
	slackSecret = "bench-slack-signing-secret"
	slackUser   = "U0VINCENT"
)

// slowProxy puts a reverse proxy that holds every request for delay in
// front of c's apiserver: a cluster that answers, but slowly.
func slowProxy(c *kube.Cluster, delay time.Duration) (*rest.Config, func(), error) {
	target, err := url.Parse(c.REST.Host)
	if err != nil {
		return nil, nil, err
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// The harness's apiserver has a self-signed certificate; its own
	// client config skips verification too.
	proxy.Transport = &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	// Requests cancelled at the end of the figure are expected: no log.
	proxy.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	rc := rest.CopyConfig(c.REST)
	rc.Host, rc.TLSClientConfig = srv.URL, rest.TLSClientConfig{}
	return rc, srv.Close, nil
}

// slackOK stands in for Slack's Web API and response_urls: every message
// is taken.
func slackOK() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"ok":true,"channel":"C0BUILDCOP","ts":"1767326126.896109"}`)
	}))
}

// slackServer is the Slack transport as serve would mount it, on a
// nightly cluster reached through rc, so that a rerun acts without asking.
func slackServer(cfg *config.Config, rc *rest.Config, api string) (*httptest.Server, *bot.Pool, error) {
	cluster, err := tekton.NewCluster(cfg.Clusters[0], nil, rc)
	if err != nil {
		return nil, nil, err
	}
	kc, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	policy := bot.NewPolicy(cfg.Policy)
	reg := handlers.NewRegistry(&handlers.Deps{Config: cfg, Clusters: tekton.NewClusters(cluster), Policy: policy, Log: log})
	poster := slack.NewPoster(slackapi.New("xoxb-bench", slackapi.OptionAPIURL(api+"/")), log)
	poster.Interval = 0 // every answer goes to one channel; pacing would only slow the drain
	pool := bot.NewPool(serveWorkers, serveQueue)
	mux := http.NewServeMux()
	(&slack.Adapter{
		SigningSecret: slackSecret, MaxBody: cfg.Server.MaxBodyBytes, Config: cfg, Registry: reg,
		Bot:    &bot.Bot{Registry: reg, Policy: policy, Audit: bot.LogAuditor{Log: log}, Log: log},
		Poster: poster, Log: log,
		Intake: &bot.Intake{Seen: bot.NewSeen(10000), Claims: &state.Claims{ConfigMaps: state.ConfigMapsIn(kc, cfg.Clusters[0].Namespace)}, Pool: pool, Log: log},
	}).Register(mux)
	return httptest.NewServer(mux), pool, nil
}

// slashCommand is a signed POST of "/tekton <text>" as Slack sends it.
func slashCommand(ctx context.Context, target, api, text, trigger string) (*http.Request, error) {
	body := []byte(url.Values{
		"token": {"gIkuvaNzQIHg97ATvDxqgjtO"}, "team_id": {"T0TEKTON"}, "team_domain": {"tektoncd"},
		"channel_id": {"C0BUILDCOP"}, "channel_name": {"build-cop"}, "user_id": {slackUser}, "user_name": {"vincent"},
		"command": {"/tekton"}, "text": {text}, "api_app_id": {"A0TEKBOT"}, "is_enterprise_install": {"false"},
		"response_url": {api + "/respond/" + trigger}, "trigger_id": {trigger},
	}.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	mac := hmac.New(sha256.New, []byte(slackSecret))
	fmt.Fprintf(mac, "v0:%s:%s", stamp, body)
	req.Header.Set("X-Slack-Request-Timestamp", stamp)
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return req, nil
}

func figureSlackAck(ctx context.Context, e *env) ([]row, error) {
	const delay, rate, span = 2 * time.Second, 20, 5 * time.Second
	ns := "bench-slack"
	if err := createNamespace(ctx, e.nightly, ns); err != nil {
		return nil, err
	}
	orig, err := seedRun(ctx, e.nightly, ns, "pipeline-nightly-bench", nil, kube.Failed)
	if err != nil {
		return nil, err
	}
	cfg := &config.Config{
		Server:   config.Server{MaxBodyBytes: config.DefaultMaxBodyBytes},
		Clusters: []config.Cluster{{Name: "nightly", Role: config.RoleNightly, Namespace: ns}},
		People:   []config.Person{{Name: "vincent", Slack: slackUser}},
		Policy:   config.Policy{Roles: map[string][]string{"maintainers": {"vincent"}}},
	}
	api := slackOK()
	defer api.Close()
	slow, closeProxy, err := slowProxy(e.nightly, delay)
	if err != nil {
		return nil, err
	}
	defer closeProxy()

	p99 := func(mode string, rc *rest.Config) (time.Duration, error) {
		srv, pool, err := slackServer(cfg, rc, api.URL)
		if err != nil {
			return 0, err
		}
		defer srv.Close()
		took, err := offer(ctx, rate, span, func(ctx context.Context, i int) error {
			req, err := slashCommand(ctx, srv.URL+"/slack/commands", api.URL, "rerun "+orig.Name, fmt.Sprintf("%s-%d", mode, i))
			if err != nil {
				return err
			}
			resp, err := loadClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			answer, err := io.ReadAll(resp.Body)
			if err != nil {
				return err
			}
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(answer), "Working on") {
				return fmt.Errorf("answered %s %q, want 200 Working on…", resp.Status, answer)
			}
			return nil
		})
		// The slow cluster's work would take minutes: give it a moment,
		// then cancel it, which is what a pod being replaced would do.
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		_ = pool.Shutdown(sctx)
		return percentile(took, 99), err
	}
	slowP99, err := p99("slow", slow)
	if err != nil {
		return nil, fmt.Errorf("with the apiserver %s slow: %w", delay, err)
	}
	fastP99, err := p99("direct", e.nightly.REST)
	if err != nil {
		return nil, fmt.Errorf("with the apiserver direct: %w", err)
	}
	reruns, err := e.nightly.Tekton.TektonV1().PipelineRuns(ns).List(ctx, metav1.ListOptions{LabelSelector: tekton.LabelRerunOf})
	if err != nil {
		return nil, err
	}
	return []row{{
		Figure: fmt.Sprintf("2 slack ack p99, /tekton rerun at %d/s, every apiserver call +%s", rate, delay), Unit: "ms",
		Tekbot: ms(slowP99), Baseline: ms(fastP99), BaselineIs: "apiserver direct", Ratio: ms(slowP99) / ms(fastP99),
		Target: "< 50 ms", Met: slowP99 < 50*time.Millisecond,
		Note: fmt.Sprintf("%d reruns made in both runs", len(reruns.Items)),
	}}, nil
}
