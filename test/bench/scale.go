package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"tekbot/audit"
	"tekbot/tekton"
	"tekbot/test/githubtest"
)

// process is `tekbot serve` running as its own process, as deployed.
type process struct {
	cmd  *exec.Cmd
	addr string
}

// startTekbot builds tekbot and runs `tekbot serve` on config, with LISTEN
// replaced by a free loopback address, until stop; it returns once ready.
func startTekbot(ctx context.Context, e *env, config string) (*process, error) {
	bin := filepath.Join(e.dir, "tekbot")
	e.log.Info("building tekbot as the Dockerfile does")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "tekbot/cmd/tekbot")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building tekbot: %w\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	path := filepath.Join(e.dir, "tekbot.yaml")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(config, "LISTEN", addr)), 0o600); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(e.dir, "tekbot.log"))
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the process has its own descriptor
	cmd := exec.Command(bin, "serve", "-f", path)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If the bench dies, so does the bot.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{cmd: cmd, addr: addr}
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("tekbot not ready within a minute (log: %s)", logFile.Name())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to exit.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// memory returns the process's resident set now and at its peak, in MiB.
func (p *process) memory() (rss, peak float64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fields[1], 64)
		switch fields[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak, sc.Err()
}

const scaleConfig = `# Written by test/bench: tekbot serve for figures 4 and 5.
server: {listen: "LISTEN"}
clusters:
  - {name: dogfooding, role: production, kubeconfig: %s, context: production, namespace: %s}
  - {name: nightly, role: nightly, kubeconfig: %s, context: nightly, namespace: default}
state: {cluster: dogfooding, namespace: %s}
dashboard: {pipelineRunURL: "https://dashboard.example/#/namespaces/{{.Namespace}}/pipelineruns/{{.Name}}"}
people:
  - {name: vincent, github: %s}
github:
  webhookSecret: {file: %s}
  token: {file: %s}
  apiURL: %s
  repositories:
    - {name: tektoncd/pipeline, cluster: dogfooding, namespace: %s}
    - {name: tektoncd/triggers, cluster: dogfooding, namespace: %s}
    - {name: tektoncd/dashboard, cluster: dogfooding, namespace: %s}
`

// scaleRepo is one repository of figure 4: PRs each with three runs
// (one failed), among other runs of its namespace. Each /retest retries a
// PR of its own, so no round waits for tekbot to see the last one's rerun.
type scaleRepo struct {
	name, ns string
	origs    []*pipelinev1.PipelineRun // the failed run of PR firstPR+i
	watch    watch.Interface
	runs     int // runs in the namespace
	next     int // the next PR to /retest
}

// firstPR numbers the PRs of every bench repository.
const firstPR = 1000

func (r *scaleRepo) prs() []repoPR {
	var out []repoPR
	for i := range r.origs {
		out = append(out, repoPR{r.name, firstPR + i})
	}
	return out
}

func figureScale(ctx context.Context, e *env) ([]row, error) {
	const small, warmup, pairs, burst, burstRounds = 100, 3, 15, 50, 5
	state := "bench-tekbot"
	repos := []*scaleRepo{
		{name: "pipeline", ns: "bench-small", runs: small},
		{name: "triggers", ns: "bench-large", runs: e.opts.scale},
		{name: "dashboard", ns: "bench-burst"},
	}
	perRepo := []int{warmup + pairs, 1 + pairs, burst * burstRounds}
	for i, r := range repos {
		if err := createNamespace(ctx, e.prod, r.ns); err != nil {
			return nil, err
		}
		origs, err := seedPRs(ctx, e.prod, r.ns, r.name, firstPR, perRepo[i])
		if err != nil {
			return nil, err
		}
		r.origs = origs
		if r.watch, err = e.prod.Tekton.TektonV1().PipelineRuns(r.ns).Watch(ctx, metav1.ListOptions{LabelSelector: tekton.LabelRerunOf}); err != nil {
			return nil, err
		}
		defer r.watch.Stop()
	}
	var prs []repoPR
	for _, r := range repos {
		prs = append(prs, r.prs()...)
	}
	ghs := githubServer(e, prs...)
	if err := createNamespace(ctx, e.prod, state); err != nil {
		return nil, err
	}
	if err := fill(ctx, e.prod, repos[0].ns, repos[0].name, small-3*len(repos[0].origs)); err != nil {
		return nil, err
	}
	secrets := map[string]string{"webhook-secret": string(webhookSecret), "github-token": "ghs_bench"}
	for name, value := range secrets {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(value+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	config := fmt.Sprintf(scaleConfig, e.prod.Kubeconfig, repos[0].ns, e.nightly.Kubeconfig, state, maintainer,
		filepath.Join(e.dir, "webhook-secret"), filepath.Join(e.dir, "github-token"), ghs.URL(), repos[0].ns, repos[1].ns, repos[2].ns)
	p, err := startTekbot(ctx, e, config)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	idle, _, err := p.memory()
	if err != nil {
		return nil, err
	}
	e.log.Info("tekbot serve is ready", "rss MiB", idle)

	n := 0
	next := func(r *scaleRepo) (id string, pr int) {
		n++
		r.next++
		return fmt.Sprintf("scale-%d", n), firstPR + r.next - 1
	}
	// A delivery is built and signed before the clock starts: building
	// the payload is the sender's (GitHub's) work, not tekbot's.
	delivery := func(r *scaleRepo, id string, pr int) *http.Request {
		req := githubtest.WebhookRequest(e.tb, "http://"+p.addr+"/github/webhook", "issue_comment", id, webhookSecret, retestComment(e, r.name, pr, int64(pr)))
		return req.WithContext(ctx)
	}
	send := func(req *http.Request) error { return expect(req, http.StatusAccepted) }
	retest := func(r *scaleRepo) (time.Duration, error) {
		id, pr := next(r)
		req := delivery(r, id, pr)
		start := time.Now()
		if err := send(req); err != nil {
			return 0, err
		}
		if err := waitCreated(ctx, r.watch.ResultChan(), id); err != nil {
			return 0, err
		}
		took := time.Since(start)
		// The reply is the last thing tekbot does for a delivery but its
		// audit events, written in the background; the bench cannot hook
		// into another process, so it polls GitHub.
		for len(ghs.Comments(owner, r.name, pr)) == 0 {
			if time.Since(start) > time.Minute {
				return 0, fmt.Errorf("no reply to %s within a minute", id)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return took, nil
	}

	for range warmup { // connections, the permission cache, the index's selector index
		if _, err := retest(repos[0]); err != nil {
			return nil, err
		}
	}
	atSmall, _, err := p.memory()
	if err != nil {
		return nil, err
	}
	rows, err := figureBurst(ctx, e, repos[2], func(r *scaleRepo) (string, *http.Request) {
		id, pr := next(r)
		return id, delivery(r, id, pr)
	}, send, burst, burstRounds)
	if err != nil {
		return nil, err
	}
	e.log.Info("filling the large namespace", "runs", e.opts.scale-3*len(repos[1].origs))
	start := time.Now()
	if err := fill(ctx, e.prod, repos[1].ns, repos[1].name, e.opts.scale-3*len(repos[1].origs)); err != nil {
		return rows, err
	}
	e.log.Info("filled", "took", time.Since(start).Round(time.Second))
	// The apiserver may close a watch that lagged behind 100,000 events.
	r := repos[1]
	r.watch.Stop()
	if r.watch, err = e.prod.Tekton.TektonV1().PipelineRuns(r.ns).Watch(ctx, metav1.ListOptions{LabelSelector: tekton.LabelRerunOf}); err != nil {
		return rows, err
	}
	defer r.watch.Stop()
	if _, err := retest(repos[1]); err != nil { // its first look adds the index on the PR's labels
		return rows, err
	}
	var lat [2][]float64
	for range pairs {
		for i, r := range repos[:2] {
			took, err := retest(r)
			if err != nil {
				return rows, err
			}
			lat[i] = append(lat[i], ms(took))
		}
	}
	atLarge, peak, err := p.memory()
	if err != nil {
		return nil, err
	}
	latency := row{
		Figure: fmt.Sprintf("4 /retest in a namespace of %d runs vs %d (median)", e.opts.scale, small), Unit: "ms",
		Tekbot: median(lat[1]), Baseline: median(lat[0]), BaselineIs: fmt.Sprintf("%d runs", small),
		Target: "ratio ≤ 1.3", Note: fmt.Sprintf("%d pairs, tekbot serve as a process", pairs),
	}
	latency.Ratio = latency.Tekbot / latency.Baseline
	latency.Met = latency.Ratio <= 1.3
	return append([]row{latency, {
		Figure: fmt.Sprintf("4 tekbot serve RSS after /retest at %d runs", e.opts.scale), Unit: "MiB",
		Tekbot: atLarge, Baseline: atSmall, BaselineIs: fmt.Sprintf("at %d", small), Ratio: atLarge / atSmall,
		Target: "< 150 MiB", Met: atLarge < 150, Note: fmt.Sprintf("peak %.1f MiB", peak),
	}, {
		Figure: "5 tekbot serve RSS when ready, two clusters", Unit: "MiB", Tekbot: idle,
		Target: "< 50 MiB", Met: idle < 50,
	}}, rows...), nil
}

// figureBurst sends n /retests on n PRs at once to tekbot serve, and makes
// n bare Creates at once with a client as tekbot's (tekton.Connect's rate
// limits), in alternating rounds; each side is timed from the first send
// to the last rerun's ADDED event.
func figureBurst(ctx context.Context, e *env, r *scaleRepo, next func(*scaleRepo) (string, *http.Request), send func(*http.Request) error, n, rounds int) ([]row, error) {
	rc := rest.CopyConfig(e.prod.REST)
	rc.QPS, rc.Burst = tekton.ClientQPS, tekton.ClientBurst
	tc, err := tektonclient.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	runs := tc.TektonV1().PipelineRuns(r.ns)
	// Serve writes each /retest's audit events in the background: a round
	// of bare Creates starts once the last round's are written, not beside
	// them.
	audited, err := e.prod.Kube.CoreV1().Events(r.ns).Watch(ctx, metav1.ListOptions{FieldSelector: "reason=" + audit.AuditReason})
	if err != nil {
		return nil, err
	}
	defer audited.Stop()
	var tek, dir, ratios []float64
	for round := range rounds {
		ids := map[string]bool{}
		var wg sync.WaitGroup
		errs := make([]error, n)
		reqs := make([]*http.Request, n)
		for i := range n {
			var id string
			id, reqs[i] = next(r)
			ids[id] = true
		}
		start := time.Now()
		for i := range n {
			wg.Go(func() { errs[i] = send(reqs[i]) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		if err := waitAll(ctx, r.watch.ResultChan(), ids); err != nil {
			return nil, fmt.Errorf("tekbot: %w", err)
		}
		t := time.Since(start)
		if err := waitEvents(ctx, audited.ResultChan(), n); err != nil {
			return nil, fmt.Errorf("tekbot's audit events: %w", err)
		}

		ids = map[string]bool{}
		var wants []*pipelinev1.PipelineRun
		for i := range n {
			id := fmt.Sprintf("burst-%d-%d", round, i)
			want := tekton.RerunOf(r.origs[round*n+i], tekton.Requester{Name: "vincent", RequestID: id})
			want.Name = "direct-" + want.Name
			wants, ids[id] = append(wants, want), true
		}
		start = time.Now()
		for i := range n {
			wg.Go(func() {
				_, errs[i] = runs.Create(ctx, wants[i], metav1.CreateOptions{})
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		if err := waitAll(ctx, r.watch.ResultChan(), ids); err != nil {
			return nil, fmt.Errorf("direct: %w", err)
		}
		d := time.Since(start)
		tek, dir = append(tek, float64(n)/t.Seconds()), append(dir, float64(n)/d.Seconds())
		ratios = append(ratios, d.Seconds()/t.Seconds())
	}
	x := row{
		Figure: fmt.Sprintf("4 %d /retests on %d PRs at once, throughput (median of %d rounds)", n, n, rounds), Unit: "/s",
		Tekbot: median(tek), Baseline: median(dir), BaselineIs: fmt.Sprintf("%d bare Creates at once", n),
		Ratio: median(ratios), Target: "ratio ≥ 0.5", Note: "tekbot serve as a process",
	}
	x.Met = x.Ratio >= 0.5
	return []row{x}, nil
}

// waitAdded reads events until n objects for which counts holds are
// added, for at most a minute; what names them in the error.
func waitAdded(ctx context.Context, events <-chan watch.Event, n int, what string, counts func(runtime.Object) bool) error {
	timeout := time.NewTimer(time.Minute)
	defer timeout.Stop()
	for left := n; left > 0; {
		select {
		case ev, ok := <-events:
			if !ok {
				return errors.New("the watch ended")
			}
			if ev.Type == watch.Added && counts(ev.Object) {
				left--
			}
		case <-timeout.C:
			return fmt.Errorf("%d of %d %s not added within a minute", left, n, what)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// waitEvents waits until n Events are added.
func waitEvents(ctx context.Context, events <-chan watch.Event, n int) error {
	return waitAdded(ctx, events, n, "events", func(runtime.Object) bool { return true })
}

// waitAll waits until a run made for each of ids (request IDs) is added.
func waitAll(ctx context.Context, events <-chan watch.Event, ids map[string]bool) error {
	return waitAdded(ctx, events, len(ids), "runs", func(o runtime.Object) bool {
		pr, isRun := o.(*pipelinev1.PipelineRun)
		return isRun && ids[pr.Annotations[tekton.AnnotationRequestID]]
	})
}
