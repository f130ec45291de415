// Command bench measures tekbot against real local apiservers (test/kube)
// and prints, for each figure of issue 8, tekbot's number beside a
// baseline measured in the same run, their ratio and the target, and
// writes the same table as JSON. `make bench` runs it; BENCHMARKS.md
// explains the figures and records a run.
//
// The machines it runs on are shared and noisy, so every target that can
// be is a ratio of two numbers measured side by side; the absolute numbers
// are reported too.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"tekbot/test/kube"
)

type options struct {
	out     string
	scale   int
	profile string
	figures []string
}

// env is what every figure runs in.
type env struct {
	log           *slog.Logger
	tb            *benchTB
	opts          options
	prod, nightly *kube.Cluster
	// dir holds what the run writes besides its results: configs,
	// secrets, the tekbot binary, its log.
	dir string
}

// row is one line of the table.
type row struct {
	Figure   string  `json:"figure"`
	Unit     string  `json:"unit"`
	Tekbot   float64 `json:"tekbot"`
	Baseline float64 `json:"baseline,omitempty"`
	// BaselineIs says what the baseline is.
	BaselineIs string  `json:"baselineIs,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"`
	Target     string  `json:"target"`
	Met        bool    `json:"met"`
	Note       string  `json:"note,omitempty"`
	// Detail is what explains the figure, such as where the time goes.
	Detail []string `json:"detail,omitempty"`
}

type machine struct {
	CPUs     int    `json:"cpus"`
	MemTotal string `json:"memTotal"`
	Go       string `json:"go"`
	OS       string `json:"os"`
}

type report struct {
	Machine machine   `json:"machine"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Rows    []row     `json:"rows"`
}

func main() {
	var o options
	flag.StringVar(&o.out, "out", "bench.json", "where to write the table as JSON")
	flag.IntVar(&o.scale, "scale", 100000, "PipelineRuns in the large namespace of figure 4")
	flag.StringVar(&o.profile, "profile", "", "folder for CPU profiles of the in-process figures; none if empty")
	figures := flag.String("figures", "1,2,3,4,6,7,8", "figures to run, comma-separated (4 also gives 5)")
	flag.Parse()
	o.figures = strings.Split(*figures, ",")
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, o); err != nil {
		log.Error("bench failed", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, o options) (err error) {
	started := time.Now()
	dir, err := os.MkdirTemp("", "tekbot-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e := &env{log: log, tb: &benchTB{}, opts: o, dir: dir}
	defer func() {
		if reported := e.tb.close(); len(reported) > 0 {
			err = errors.Join(err, fmt.Errorf("the test kits reported: %s", strings.Join(reported, "; ")))
		}
	}()
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}

	log.Info("starting two control planes (etcd + kube-apiserver, Tekton CRDs)")
	var wg sync.WaitGroup
	var prodErr, nightlyErr error
	wg.Go(func() { e.prod, prodErr = kube.Start(ctx, kube.Options{Name: "production"}) })
	wg.Go(func() { e.nightly, nightlyErr = kube.Start(ctx, kube.Options{Name: "nightly"}) })
	wg.Wait()
	for _, c := range []*kube.Cluster{e.prod, e.nightly} {
		if c != nil {
			defer c.Stop()
		}
	}
	if err := errors.Join(prodErr, nightlyErr); err != nil {
		return err
	}

	figures := []struct {
		id      string
		name    string
		measure func(context.Context, *env) ([]row, error)
	}{
		{"1", "webhook ingest", figureIngest},
		{"2", "slack ack under a slow cluster", figureSlackAck},
		{"3", "end-to-end /retest", figureEndToEnd},
		{"4", "scale and footprint", figureScale},
		{"6", "alerts footprint", figureAlerts},
		{"7", "status page", figureStatusPage},
		{"8", "/retest with GitHub's latency", figureGitHubDelay},
	}
	var rows []row
	var failures []error
	for _, f := range figures {
		if !slices.Contains(o.figures, f.id) {
			continue
		}
		log.Info("figure", "id", f.id, "name", f.name)
		got, err := measure(ctx, e, f.measure)
		if err != nil {
			failures = append(failures, fmt.Errorf("figure %s (%s): %w", f.id, f.name, err))
			got = append(got, row{Figure: f.id + " " + f.name, Target: "-", Note: "not measured: " + err.Error()})
		}
		rows = append(rows, got...)
		if ctx.Err() != nil {
			break
		}
	}

	r := report{Machine: thisMachine(), Started: started, Seconds: time.Since(started).Seconds(), Rows: rows}
	printTable(os.Stdout, r)
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.out, append(data, '\n'), 0o644); err != nil {
		return err
	}
	log.Info("wrote the table", "file", o.out, "took", time.Since(started).Round(time.Second))
	return errors.Join(failures...)
}

// measure runs one figure, turning a fatal report from the test kits into
// an error.
func measure(ctx context.Context, e *env, f func(context.Context, *env) ([]row, error)) (rows []row, err error) {
	defer func() {
		if p := recover(); p != nil {
			msg, ok := p.(fatal)
			if !ok {
				panic(p)
			}
			err = errors.New(string(msg))
		}
	}()
	return f(ctx, e)
}

func thisMachine() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				m.MemTotal = strings.TrimSpace(v)
			}
		}
	}
	return m
}

func printTable(w io.Writer, r report) {
	fmt.Fprintf(w, "\n%d CPUs, %s memory, %s %s; %.0f s\n\n", r.Machine.CPUs, r.Machine.MemTotal, r.Machine.Go, r.Machine.OS, r.Seconds)
	fmt.Fprintln(w, "| figure | tekbot | baseline | ratio | target | met |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, x := range r.Rows {
		met := "no"
		if x.Met {
			met = "yes"
		}
		baseline, ratio := "-", "-"
		if x.BaselineIs != "" {
			baseline = value(x.Baseline, x.Unit) + " (" + x.BaselineIs + ")"
			ratio = fmt.Sprintf("%.2f", x.Ratio)
		}
		tekbot := value(x.Tekbot, x.Unit)
		if x.Note != "" {
			tekbot += " (" + x.Note + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", x.Figure, tekbot, baseline, ratio, x.Target, met)
	}
}

func value(v float64, unit string) string {
	switch unit {
	case "/s":
		return fmt.Sprintf("%.0f/s", v)
	case "ms":
		return fmt.Sprintf("%.2f ms", v)
	case "MiB":
		return fmt.Sprintf("%.1f MiB", v)
	}
	return fmt.Sprintf("%g %s", v, unit)
}
