package main

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/template"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"golang.org/x/term"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/config"
	"tekbot/localcluster"
	"tekbot/tekton"
)

//go:embed dev.yaml
var devConfigTemplate string

// defaultDevDir is where the sandbox keeps its clusters' data between
// starts, beside the control-plane binaries' cache.
func defaultDevDir() string { return filepath.Join(localcluster.CacheRoot(), "dev") }

func devCommand(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("dev", "dev [--as NAME] [--fresh] [--data DIR] [--run-time D]", stderr)
	as := fs.String("as", "andrea", "the configured person you act as (switch with 'as NAME')")
	fresh := fs.Bool("fresh", false, "forget the sandbox's clusters and start from the sample data")
	dataDir := fs.String("data", defaultDevDir(), "where the sandbox keeps its clusters between starts")
	runTime := fs.Duration("run-time", 3*time.Second,
		"how long a PipelineRun runs: a stand-in for Tekton's controller starts new runs at once and ends them after this; "+
			"they succeed, unless you typed 'fail next' (then the next run to end fails)")
	fs.Usage = func() {
		fmt.Fprint(stderr, devUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *runTime <= 0 || fs.NArg() > 0 {
		fs.Usage()
		return exitCode(2)
	}
	dir := *dataDir
	if *fresh {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	start := time.Now()
	fmt.Fprintf(stderr, "tekbot dev: starting two local clusters (nightly, dogfooding) in %s\n", dir)
	logFile, err := openLog(dir)
	if err != nil {
		return err
	}
	defer logFile.Close()
	clusters, err := startClusters(ctx, dir, logFile, stderr)
	for _, c := range clusters {
		if c != nil {
			defer c.Stop()
		}
	}
	if err != nil {
		return err
	}
	nightly, prod := clusters[0], clusters[1]
	if err := seed(ctx, nightly, "tekton-nightly", nightlySeeds()); err != nil {
		return err
	}
	if err := seed(ctx, prod, "tekton-ci", prSeeds()); err != nil {
		return err
	}
	// tekbot's own state (claims, audit events), and the deploys'
	// namespace; an install gets them from the manifests.
	for _, ns := range []string{"tekbot", "tekton-deploy"} {
		if err := seed(ctx, prod, ns, nil); err != nil {
			return err
		}
	}
	if err := seedInstalled(ctx, prod); err != nil {
		return err
	}
	images, err := publishNightlies(ctx)
	if err != nil {
		return err
	}
	defer images.registry.Close()
	cfg, err := writeDevConfig(dir, nightly.Kubeconfig, prod.Kubeconfig, images)
	if err != nil {
		return err
	}
	var writers []string
	for _, name := range cfg.Policy.Roles["maintainers"] {
		writers = append(writers, cfg.Person(name).GitHub)
	}
	gh := newSandboxGitHub(writers)
	log := slog.New(slog.NewJSONHandler(logFile, nil))
	out := &lockedWriter{w: stdout}
	term := &terminal{out: out, cfg: cfg, bold: isTerminal(stdout)}
	a, err := newApp(cfg, log, appOptions{pullRequests: gh, notifier: captain{term}, releases: term})
	if err != nil {
		return err
	}
	// The handoff and paging run as in production (on the Lease holder):
	// today's handoff shows up at once, as a bot starting late catches up.
	// Beside them, the stand-in Tekton controllers move runs along.
	bgCtx, stopBackground := context.WithCancel(ctx)
	var controllers sync.WaitGroup
	defer func() { stopBackground(); controllers.Wait(); a.stopBackground() }()
	a.startBackground(bgCtx)
	d := &driver{app: a, github: gh, out: out, term: term, session: strconv.FormatInt(time.Now().UnixNano(), 36)}
	for _, c := range clusters {
		ctl := d.controller(c, *runTime, log)
		// A stand-in kubelet serves the logs of the runs it fails: a
		// failed run has a real excerpt.
		if ctl.Kubelet, err = localcluster.StartKubelet(ctx, c.Kube.CoreV1(), "sandbox-"+c.Name); err != nil {
			return err
		}
		defer ctl.Kubelet.Close()
		controllers.Go(func() { ctl.Run(bgCtx) })
	}
	fmt.Fprintf(stderr, "tekbot dev: ready in %.1fs (logs and audit: %s)\n", time.Since(start).Seconds(), logFile.Name())
	if url, err := a.serveLoopback(bgCtx); err == nil {
		fmt.Fprintf(stderr, "tekbot dev: status page at %s\n", url)
	} else {
		fmt.Fprintf(stderr, "tekbot dev: no status page: %v\n", err)
	}
	fmt.Fprintln(stderr)

	if err := d.become(*as); err != nil {
		return err
	}
	fmt.Fprint(stdout, driverHelp)
	return d.loop(ctx, stdin)
}

// isTerminal reports whether w is a terminal, where ANSI bold shows.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func openLog(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return os.OpenFile(filepath.Join(dir, "tekbot.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
}

// startClusters starts both control planes at once: most of a start is
// waiting for the apiservers, which overlaps well. The first start on a
// machine builds the binaries, reporting to progress.
func startClusters(ctx context.Context, dir string, logw, progress io.Writer) ([]*localcluster.Cluster, error) {
	names := []string{"nightly", "dogfooding"}
	out := make([]*localcluster.Cluster, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			out[i], errs[i] = localcluster.Start(ctx, localcluster.Options{Name: name, DataDir: filepath.Join(dir, name), Log: logw, Progress: progress})
			if errs[i] != nil {
				errs[i] = fmt.Errorf("starting the %s cluster: %w", name, errs[i])
			}
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// writeDevConfig writes the sandbox's config; images, when not nil, adds
// the environment that promotes nightly images.
func writeDevConfig(dir, nightly, production string, images *sandboxImages) (*config.Config, error) {
	var b bytes.Buffer
	// [[ ]] because the config holds templates of its own ({{.Name}}).
	tmpl := template.Must(template.New("dev").Delims("[[", "]]").Parse(devConfigTemplate))
	values := map[string]string{"NightlyKubeconfig": nightly, "ProductionKubeconfig": production}
	if images != nil {
		// A YAML double-quoted string is a Go quoted string, for ASCII.
		values["Registry"], values["PublicKey"] = images.registry.Host, strconv.Quote(images.publicKey)
	}
	if err := tmpl.Execute(&b, values); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "secrets"), 0o700); err != nil {
		return nil, err
	}
	for _, name := range []string{"github-webhook-secret", "github-token"} {
		if err := os.WriteFile(filepath.Join(dir, "secrets", name), []byte("sandbox-"+name+"\n"), 0o600); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, "tekbot.yaml")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return nil, err
	}
	return loadConfig(path)
}

const devUsage = `Usage: tekbot dev [--as NAME] [--fresh] [--data DIR] [--run-time D]

A local sandbox: two real Kubernetes control planes on loopback (nightly and
dogfooding, with Tekton's CRDs and sample PipelineRuns), tekbot's real code
on them, and you at the keyboard as Slack and GitHub. A stand-in for Tekton's
controller runs what tekbot creates (a rerun, a deploy) for --run-time.
Nothing leaves the machine; no credentials are needed. The first start on a
machine builds kube-apiserver and etcd with the go toolchain (~10-16 min),
cached in ~/.cache/tekbot.

In the sandbox:
` + driverHelp + `Flags:
`

const driverHelp = `Type as you would in Slack or on GitHub PR #42 (tektoncd/pipeline):
  /tekton <command>      Slack's slash command, e.g. /tekton help, /tekton status,
                         /tekton rerun triggers-release-nightly-20261123, /tekton captain next 5,
                         /tekton promote pipeline nightly to dogfooding (or to images),
                         /tekton nightly triggers
  @tekbot <command>      a Slack message mentioning the bot
  /retest, /test all, /cancel, /ok-to-test, /hold, /unhold, /cherry-pick release-v1.2.x,
  /tekbot help
                         a comment on PR #42 (several lines: end each but the last with \)
  press <n>              press button n of a post (a promotion's Roll back, Approve)
  as <name>              act as another person (andrea, vincent, jerop, dibyo, sam)
  runs                   list the PipelineRuns on both clusters
  pr                     PR #42's labels, and the checks and comments tekbot posted (/hold, /unhold)
  label|unlabel <name>   add or remove a label on PR #42, as a person would
  fail next              the next PipelineRun to end fails (runs succeed otherwise)
  help                   this text;  quit (or Ctrl-D) to stop

`

// driver reads the terminal and hands each line to the intake the way
// the Slack or GitHub transport would (devtransport.go), then shows the
// reply.
type driver struct {
	app    *app
	github *sandboxGitHub
	out    io.Writer
	term   *terminal
	person *config.Person
	// session and nextID make request IDs unique across starts on the
	// same clusters, whose claims outlive a start.
	session string
	nextID  int
	// failNext makes the next run the stand-in controllers end fail.
	failNext atomic.Bool
}

func (d *driver) become(name string) error {
	p := d.app.cfg.Person(name)
	if p == nil {
		var names []string
		for _, p := range d.app.cfg.People {
			names = append(names, p.Name)
		}
		return fmt.Errorf("no person %q; people: %s", name, strings.Join(names, ", "))
	}
	d.person = p
	return nil
}

func (d *driver) loop(ctx context.Context, stdin io.Reader) error {
	in := bufio.NewScanner(stdin)
	in.Buffer(make([]byte, 64*1024), 1<<20)
	for {
		fmt.Fprintf(d.out, "%s> ", d.person.Name)
		line, ok := readLine(in)
		if !ok || ctx.Err() != nil {
			fmt.Fprintln(d.out)
			return in.Err()
		}
		if stop := d.handle(ctx, in, strings.TrimSpace(line)); stop {
			return nil
		}
	}
}

// readLine reads one logical line; a trailing backslash continues it, so a
// multi-line PR comment can be typed.
func readLine(in *bufio.Scanner) (string, bool) {
	var lines []string
	for in.Scan() {
		l := in.Text()
		if strings.HasSuffix(l, `\`) {
			lines = append(lines, strings.TrimSuffix(l, `\`))
			continue
		}
		return strings.Join(append(lines, l), "\n"), true
	}
	return strings.Join(lines, "\n"), len(lines) > 0
}

func (d *driver) handle(ctx context.Context, in *bufio.Scanner, line string) (stop bool) {
	switch {
	case line == "":
	case line == "quit" || line == "exit":
		return true
	case line == "help":
		fmt.Fprint(d.out, driverHelp)
	case strings.HasPrefix(line, "as "):
		if err := d.become(strings.TrimSpace(line[3:])); err != nil {
			fmt.Fprintln(d.out, err)
		}
	case line == "runs":
		d.listRuns(ctx)
	case line == "pr":
		fmt.Fprint(d.out, d.github.describe())
	case strings.HasPrefix(line, "label ") || strings.HasPrefix(line, "unlabel "):
		verb, label, _ := strings.Cut(line, " ")
		d.github.setLabel(strings.TrimSpace(label), verb == "label")
	case line == "fail next":
		d.failNext.Store(true)
		fmt.Fprintln(d.out, "The next PipelineRun to end will fail.")
	case strings.HasPrefix(line, "press "):
		d.press(ctx, strings.TrimSpace(line[len("press "):]))
	case strings.HasPrefix(line, "/tekton"):
		d.slack(ctx, in, strings.TrimPrefix(line, "/tekton"))
	case strings.HasPrefix(line, "@tekbot"):
		d.slack(ctx, in, "<@U0TEKBOT>"+strings.TrimPrefix(line, "@tekbot"))
	case strings.HasPrefix(line, "/"):
		d.comment(ctx, line)
	default:
		fmt.Fprintln(d.out, "Not a command. Type help for what the sandbox understands.")
	}
	return false
}

// controller is the stand-in Tekton controller for c: it ends runs after
// runTime, as the sandbox's outcome rule says, and shows what it does.
func (d *driver) controller(c *localcluster.Cluster, runTime time.Duration, log *slog.Logger) *localcluster.Controller {
	return &localcluster.Controller{
		Cluster: c,
		RunTime: runTime,
		Outcome: func(*pipelinev1.PipelineRun) localcluster.RunState {
			if d.failNext.CompareAndSwap(true, false) {
				return localcluster.Failed
			}
			return localcluster.Succeeded
		},
		Changed: func(pr *pipelinev1.PipelineRun, state localcluster.RunState) {
			fmt.Fprintf(d.out, "\n[tekton on %s] %s/%s: %s\n", c.Name, pr.Namespace, pr.Name, tekton.StateOf(pr))
		},
		Errors: func(pr *pipelinev1.PipelineRun, err error) {
			log.Error("sandbox: the stand-in Tekton controller could not write a status", "cluster", c.Name, "run", pr.Name, "err", err)
		},
	}
}

func (d *driver) listRuns(ctx context.Context) {
	for _, c := range d.app.clusters.All() {
		list, err := c.Tekton.TektonV1().PipelineRuns(c.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			fmt.Fprintf(d.out, "%s: %v\n", c.Name, err)
			continue
		}
		fmt.Fprintf(d.out, "%s (%s), namespace %s:\n", c.Name, c.Role, c.Namespace)
		for _, pr := range list.Items {
			note := ""
			if of := pr.Labels[tekton.LabelRerunOf]; of != "" {
				note = fmt.Sprintf("  rerun of %s by %s", of, pr.Annotations[tekton.AnnotationRequester])
			}
			fmt.Fprintf(d.out, "  %-48s %-10s%s\n", pr.Name, tekton.StateOf(&pr), note)
		}
	}
}

// lockedWriter lets the bot's background messages and the driver's replies
// share the terminal without interleaving mid-line.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
