// Package kube is the tests' adapter over localcluster: a package's tests
// share one real control plane per name (Shared), stopped after the run
// (Main), with a namespace per test (Namespace). Under go test -short the
// real-apiserver tier steps aside: Shared skips the test, so the fast tier
// runs without a control plane; test/run.sh runs everything.
package kube

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"tekbot/localcluster"
)

// Cluster is a running control plane, with the test helpers.
type Cluster struct {
	*localcluster.Cluster
	// Kube is client-go's full clientset, not localcluster's narrow Kube
	// (what tekbot's own binary links): tests may use any API group, to
	// check RBAC or make a token.
	Kube kubernetes.Interface
}

// Options configure Start.
type Options = localcluster.Options

// Start starts a control plane outside a test's lifetime (the benchmarks).
// Progress defaults to stderr: a first build takes minutes.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Progress == nil {
		opts.Progress = os.Stderr
	}
	c, err := localcluster.Start(ctx, opts)
	if err != nil {
		return nil, err
	}
	kc, err := kubernetes.NewForConfig(c.REST)
	if err != nil {
		c.Stop()
		return nil, err
	}
	return &Cluster{Cluster: c, Kube: kc}, nil
}

// RunState is a PipelineRun state SetState can write.
type RunState = localcluster.RunState

// The states of a PipelineRun.
const (
	Running   = localcluster.Running
	Succeeded = localcluster.Succeeded
	Failed    = localcluster.Failed
	TimedOut  = localcluster.TimedOut
	Cancelled = localcluster.Cancelled
)

// SetState plays the Tekton controller for one run: see localcluster.SetState.
func SetState(ctx context.Context, c *Cluster, namespace, name string, state RunState) (*pipelinev1.PipelineRun, error) {
	return localcluster.SetState(ctx, c.Cluster, namespace, name, state)
}

var (
	sharedMu sync.Mutex
	shared   = map[string]*sharedCluster{}
)

type sharedCluster struct {
	once    sync.Once
	cluster *Cluster
	err     error
}

// Shared returns the package's cluster of that name ("nightly",
// "production", …), starting it on first use. Every test in a package run
// shares it; Main stops it. A cluster that cannot start fails the test;
// under -short the test is skipped (the real-apiserver tier).
func Shared(tb testing.TB, name string) *Cluster {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs a real apiserver: not run under -short")
	}
	sharedMu.Lock()
	sc := shared[name]
	if sc == nil {
		sc = &sharedCluster{}
		shared[name] = sc
	}
	sharedMu.Unlock()
	sc.once.Do(func() {
		// A first build takes minutes: it is not part of the start's
		// time limit (test/run.sh builds before the tests, with progress).
		if _, sc.err = localcluster.BinDir(context.Background(), os.Stderr); sc.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		opts := Options{Name: name}
		if os.Getenv("TEKBOT_KUBE_LOG") != "" {
			opts.Log = os.Stderr
		}
		sc.cluster, sc.err = Start(ctx, opts)
	})
	if sc.err != nil {
		tb.Fatalf("starting the %s control plane: %v", name, sc.err)
	}
	return sc.cluster
}

// Main runs a package's tests and then stops its shared clusters. Use it as
// func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }.
func Main(m *testing.M) int {
	code := m.Run()
	sharedMu.Lock()
	defer sharedMu.Unlock()
	for _, sc := range shared {
		if sc.cluster != nil {
			sc.cluster.Stop()
		}
	}
	return code
}

var nsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// Namespace creates a namespace for one test, named after it, and removes
// its PipelineRuns and the namespace when the test ends. (Without a
// controller-manager a deleted namespace stays Terminating; its name is
// unique, so that is harmless.)
func (c *Cluster) Namespace(tb testing.TB) string {
	tb.Helper()
	base := strings.Trim(nsUnsafe.ReplaceAllString(strings.ToLower(tb.Name()), "-"), "-")
	if len(base) > 40 {
		base = base[len(base)-40:]
		base = strings.TrimLeft(base, "-")
	}
	ctx := context.Background()
	ns, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{GenerateName: base + "-"},
	}, metav1.CreateOptions{})
	if err != nil {
		tb.Fatalf("creating namespace: %v", err)
	}
	tb.Cleanup(func() {
		ctx := context.Background()
		if err := c.Tekton.TektonV1().PipelineRuns(ns.Name).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			tb.Errorf("cleaning up PipelineRuns in %s: %v", ns.Name, err)
		}
		if err := c.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}); err != nil {
			tb.Errorf("deleting namespace %s: %v", ns.Name, err)
		}
	})
	return ns.Name
}

// String names the cluster and its endpoint, for test logs.
func (c *Cluster) String() string { return fmt.Sprintf("%s (%s)", c.Name, c.REST.Host) }
