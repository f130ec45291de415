package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

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
`

// scaleRepo is one repository of figure 4: its PR's three runs sit in a
// namespace of their own among many others.
type scaleRepo struct {
	name, ns string
	pr       int
	orig     *pipelinev1.PipelineRun
	body     []byte
	watch    watch.Interface
	runs     int // runs in the namespace
}

func figureScale(ctx context.Context, e *env) ([]row, error) {
	const small = 100
	state := "bench-tekbot"
	repos := []*scaleRepo{
		{name: "pipeline", ns: "bench-small", pr: 42, runs: small},
		{name: "triggers", ns: "bench-large", pr: 43, runs: e.opts.scale},
	}
	ghs := githubServer(e, repoPR{repos[0].name, repos[0].pr}, repoPR{repos[1].name, repos[1].pr})
	for _, r := range repos {
		if err := createNamespace(ctx, e.prod, r.ns); err != nil {
			return nil, err
		}
		orig, err := seedPR(ctx, e.prod, r.ns, r.name, r.pr)
		if err != nil {
			return nil, err
		}
		r.orig = orig
		r.body = githubtest.PRComment(e.tb, githubtest.PRCommentOptions{
			Body: "/retest", CommentID: int64(r.pr), Commenter: maintainer, CommenterType: "User",
			Number: r.pr, State: "open", PRAuthor: maintainer, Owner: owner, Repo: r.name, Labels: []string{},
		})
		if r.watch, err = e.prod.Tekton.TektonV1().PipelineRuns(r.ns).Watch(ctx, metav1.ListOptions{LabelSelector: tekton.LabelRerunOf}); err != nil {
			return nil, err
		}
		defer r.watch.Stop()
	}
	if err := createNamespace(ctx, e.prod, state); err != nil {
		return nil, err
	}
	if err := fill(ctx, e.prod, repos[0].ns, repos[0].name, small-3); err != nil {
		return nil, err
	}
	secrets := map[string]string{"webhook-secret": string(webhookSecret), "github-token": "ghs_bench"}
	for name, value := range secrets {
		if err := os.WriteFile(filepath.Join(e.dir, name), []byte(value+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	config := fmt.Sprintf(scaleConfig, e.prod.Kubeconfig, repos[0].ns, e.nightly.Kubeconfig, state, maintainer,
		filepath.Join(e.dir, "webhook-secret"), filepath.Join(e.dir, "github-token"), ghs.URL(), repos[0].ns, repos[1].ns)
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
	retest := func(r *scaleRepo) (time.Duration, error) {
		n++
		id := fmt.Sprintf("scale-%d", n)
		before := len(ghs.Comments(owner, r.name, r.pr))
		req := githubtest.WebhookRequest(e.tb, "http://"+p.addr+"/github/webhook", "issue_comment", id, webhookSecret, r.body)
		start := time.Now()
		if err := expect(req.WithContext(ctx), http.StatusAccepted); err != nil {
			return 0, err
		}
		if err := waitCreated(ctx, r.watch.ResultChan(), id); err != nil {
			return 0, err
		}
		took := time.Since(start)
		// The reply is the last thing tekbot does for a delivery; the
		// bench cannot hook into another process, so it polls GitHub.
		for len(ghs.Comments(owner, r.name, r.pr)) == before {
			if time.Since(start) > time.Minute {
				return 0, fmt.Errorf("no reply to %s within a minute", id)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return took, e.prod.Tekton.TektonV1().PipelineRuns(r.ns).Delete(ctx, tekton.RerunName(id, r.orig.Name, ""), metav1.DeleteOptions{})
	}

	for range 3 { // warm-up: connections, the permission cache
		if _, err := retest(repos[0]); err != nil {
			return nil, err
		}
	}
	atSmall, _, err := p.memory()
	if err != nil {
		return nil, err
	}
	e.log.Info("filling the large namespace", "runs", e.opts.scale-3)
	start := time.Now()
	if err := fill(ctx, e.prod, repos[1].ns, repos[1].name, e.opts.scale-3); err != nil {
		return nil, err
	}
	e.log.Info("filled", "took", time.Since(start).Round(time.Second))
	if _, err := retest(repos[1]); err != nil { // its first list warms the apiserver's cache
		return nil, err
	}
	const pairs = 15
	var lat [2][]float64
	for range pairs {
		for i, r := range repos {
			took, err := retest(r)
			if err != nil {
				return nil, err
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
		Target: "ratio ≤ 2", Note: fmt.Sprintf("%d pairs, tekbot serve as a process", pairs),
	}
	latency.Ratio = latency.Tekbot / latency.Baseline
	latency.Met = latency.Ratio <= 2
	return []row{latency, {
		Figure: fmt.Sprintf("4 tekbot serve RSS after /retest at %d runs", e.opts.scale), Unit: "MiB",
		Tekbot: atLarge, Baseline: atSmall, BaselineIs: fmt.Sprintf("at %d", small), Ratio: atLarge / atSmall,
		Target: "< 150 MiB", Met: atLarge < 150, Note: fmt.Sprintf("peak %.1f MiB", peak),
	}, {
		Figure: "5 tekbot serve RSS when ready, two clusters", Unit: "MiB", Tekbot: idle,
		Target: "< 50 MiB", Met: idle < 50,
	}}, nil
}
