package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v62/github"
	"github.com/prometheus/client_golang/prometheus"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/tekton"
	"tekbot/test/githubtest"
	"tekbot/transport/github"
)

const (
	owner, repoName = "tektoncd", "pipeline"
	maintainer      = "vdemeest"
	prNumber        = 42
)

var webhookSecret = []byte("bench-webhook-secret")

// serveWorkers and serveQueue size the pool as `tekbot serve` does
// (cmd/tekbot/app.go).
const serveWorkers, serveQueue = 64, 512

// ingestReceiver is the GitHub receiver as serve builds it (serve's pool
// and memory sizes, metrics, JSON logs) with its work ending at once
// (githubtest.Away, githubtest.TakenElsewhere): figure 1 measures ingest,
// not the commands.
func ingestReceiver(cfg *config.Config) (*github.Receiver, *bot.Pool) {
	// serve logs JSON at info level; here to nowhere, at the same cost.
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	policy := bot.NewPolicy(cfg.Policy)
	reg := handlers.NewRegistry(&handlers.Deps{Config: cfg, Clusters: tekton.NewClusters(), Policy: policy, Log: log})
	metrics := bot.NewMetrics(prometheus.NewRegistry())
	pool := bot.NewPool(serveWorkers, serveQueue)
	return &github.Receiver{
		Secret: webhookSecret, MaxBody: cfg.Server.MaxBodyBytes, Config: cfg, Registry: reg,
		Bot:     &bot.Bot{Registry: reg, Policy: policy, Metrics: metrics, Log: log},
		Intake:  &bot.Intake{Seen: bot.NewSeen(10000), Claims: githubtest.TakenElsewhere{}, Pool: pool, Log: log},
		Denials: githubtest.TakenElsewhere{}, API: githubtest.Away{}, Metrics: metrics, Log: log,
	}, pool
}

// bareHandler is the least a webhook receiver does: read the body, check
// its HMAC, decode it, answer 202. It decodes into the same go-github
// type as tekbot, so the ratio shows what tekbot adds: headers, parsing
// the comment, deduplication, enqueueing, logging and metrics.
func bareHandler(secret []byte, maxBody int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "could not read body", http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, secret)
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		if !hmac.Equal([]byte(r.Header.Get(githubtest.HeaderSignature256)), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var e gh.IssueCommentEvent
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, "malformed payload", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
}

// nullWriter is a ResponseWriter that keeps only the status, so the
// handlers are measured without a network or a recorder's buffer.
type nullWriter struct {
	header http.Header
	status int
}

func (w *nullWriter) Header() http.Header         { return w.header }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nullWriter) WriteHeader(status int)      { w.status = status }

// ingestCommentID is the comment id of figure 1's delivery, which
// nextComment rewrites: tekbot takes a comment once, so each delivery must
// be a comment of its own.
const ingestCommentID = 1000000001

// comments numbers figure 1's comments across its rounds and senders.
var comments atomic.Int64

// nextComment is body as a new comment (same length), and its signature.
// Both handlers are measured with it, so both pay the sender's re-signing.
func nextComment(body []byte) ([]byte, string) {
	id := []byte(strconv.Itoa(ingestCommentID))
	one := bytes.ReplaceAll(body, id, []byte(strconv.FormatInt(ingestCommentID+comments.Add(1), 10)))
	return one, githubtest.Sign(webhookSecret, one)
}

// handlerCost measures one handler taking signed deliveries of body, each
// a comment and delivery of its own, for about a second, and fails unless
// every one was accepted.
func handlerCost(h http.Handler, body []byte) (testing.BenchmarkResult, error) {
	var refused, sent int
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		req := githubtest.WebhookRequest(b, "http://tekbot/github/webhook", "issue_comment", "", webhookSecret, body)
		w := &nullWriter{header: http.Header{}}
		for b.Loop() {
			sent++
			one, sig := nextComment(body)
			req.Body = io.NopCloser(bytes.NewReader(one))
			req.Header.Set(githubtest.HeaderSignature256, sig)
			req.Header.Set(githubtest.HeaderDelivery, "ingest-"+strconv.Itoa(sent))
			clear(w.header)
			w.status = http.StatusOK
			h.ServeHTTP(w, req)
			if w.status != http.StatusAccepted {
				refused++
			}
		}
	})
	if refused > 0 {
		return res, fmt.Errorf("%d of %d deliveries not accepted", refused, sent)
	}
	return res, nil
}

func drain(pool *bot.Pool) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_ = pool.Shutdown(ctx) // jobs that end at once; nothing to report
}

func figureIngest(ctx context.Context, e *env) ([]row, error) {
	cfg := &config.Config{
		Server: config.Server{MaxBodyBytes: config.DefaultMaxBodyBytes},
		People: []config.Person{{Name: "vincent", GitHub: maintainer}},
		GitHub: config.GitHub{Repositories: []config.Repository{{
			Name: owner + "/" + repoName, Selector: config.DefaultSelector, PipelineLabel: config.DefaultPipelineLabel,
		}}},
	}
	body := githubtest.PRComment(e.tb, githubtest.PRCommentOptions{
		Body: "Flaky, again.\r\n/retest\r\n", CommentID: ingestCommentID, Commenter: maintainer, CommenterType: "User",
		Number: prNumber, State: "open", PRAuthor: maintainer, Owner: owner, Repo: repoName, Labels: []string{},
	})
	bare := bareHandler(webhookSecret, cfg.Server.MaxBodyBytes)

	// Throughput: the two handlers in turn, five times, each for about a
	// second on one goroutine; the ratio is the median of the rounds', so
	// a burst of other load on the machine spoils one round, not the
	// figure.
	const rounds = 5
	var tekRates, bareRates, ratios []float64
	var tekAllocs int64
	for round := range rounds {
		bareRes, err := handlerCost(bare, body)
		if err != nil {
			return nil, fmt.Errorf("bare handler: %w", err)
		}
		recv, pool := ingestReceiver(cfg)
		stop := startProfile(e, round == rounds-1, "ingest.cpu.pprof")
		tekRes, err := handlerCost(recv, body)
		stop()
		drain(pool)
		if err != nil {
			return nil, fmt.Errorf("tekbot: %w", err)
		}
		tek, br := 1e9/float64(tekRes.NsPerOp()), 1e9/float64(bareRes.NsPerOp())
		tekRates, bareRates, ratios = append(tekRates, tek), append(bareRates, br), append(ratios, tek/br)
		tekAllocs = tekRes.AllocsPerOp()
		e.log.Info("ingest round", "round", round, "tekbot/s", int(tek), "bare/s", int(br),
			"tekbot allocs/op", tekRes.AllocsPerOp(), "bare allocs/op", bareRes.AllocsPerOp())
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	throughput := row{
		Figure: "1 webhook ingest, one goroutine", Unit: "/s",
		Tekbot: median(tekRates), Baseline: median(bareRates), BaselineIs: "bare verify + decode",
		Ratio: median(ratios), Target: "ratio ≥ 0.5", Note: fmt.Sprintf("%d allocs/delivery", tekAllocs),
	}
	throughput.Met = throughput.Ratio >= 0.5

	// Ack latency at a fixed offered load over loopback HTTP, both
	// handlers at once: side by side, the machine's other load falls on
	// both alike, and 200/s each is a few per cent of a core.
	const rate, span = 200, 5 * time.Second
	recv, pool := ingestReceiver(cfg)
	defer drain(pool)
	var tekP99, bareP99 time.Duration
	var tekErr, bareErr error
	var wg sync.WaitGroup
	wg.Go(func() { tekP99, tekErr = ackP99(ctx, e, recv, body, rate, span) })
	wg.Go(func() { bareP99, bareErr = ackP99(ctx, e, bare, body, rate, span) })
	wg.Wait()
	if tekErr != nil {
		return nil, fmt.Errorf("tekbot at %d/s: %w", rate, tekErr)
	}
	if bareErr != nil {
		return nil, fmt.Errorf("bare handler at %d/s: %w", rate, bareErr)
	}
	ack := row{
		Figure: fmt.Sprintf("1 webhook ack p99 at %d/s for %s", rate, span), Unit: "ms",
		Tekbot: ms(tekP99), Baseline: ms(bareP99), BaselineIs: "bare", Ratio: ms(tekP99) / ms(bareP99),
		Target: "< 10 ms", Met: tekP99 < 10*time.Millisecond,
	}
	return []row{throughput, ack}, nil
}

// ackP99 serves h over loopback and offers it signed deliveries at rate.
func ackP99(ctx context.Context, e *env, h http.Handler, body []byte, rate int, span time.Duration) (time.Duration, error) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	// The headers GitHub sends, made once: building a request is the
	// sender's cost, not the receiver's.
	header := githubtest.WebhookRequest(e.tb, srv.URL, "issue_comment", "", webhookSecret, body).Header
	took, err := offer(ctx, rate, span, func(ctx context.Context, i int) error {
		one, sig := nextComment(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL, bytes.NewReader(one))
		if err != nil {
			return err
		}
		req.Header = header.Clone()
		req.Header.Set(githubtest.HeaderSignature256, sig)
		req.Header.Set(githubtest.HeaderDelivery, fmt.Sprintf("ack-%d", i))
		return expect(req, http.StatusAccepted)
	})
	return percentile(took, 99), err
}

// startProfile profiles the CPU into the profile folder when asked and
// when on is set; the returned function stops it.
func startProfile(e *env, on bool, name string) func() {
	if e.opts.profile == "" || !on {
		return func() {}
	}
	f, err := os.Create(filepath.Join(e.opts.profile, name))
	if err != nil {
		e.log.Warn("not profiling", "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		e.log.Warn("not profiling", "err", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		e.log.Info("wrote a CPU profile", "file", f.Name())
	}
}
