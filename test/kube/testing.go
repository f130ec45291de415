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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

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
// shares it; Main stops it. A cluster that cannot start fails the test.
func Shared(tb testing.TB, name string) *Cluster {
	tb.Helper()
	sharedMu.Lock()
	sc := shared[name]
	if sc == nil {
		sc = &sharedCluster{}
		shared[name] = sc
	}
	sharedMu.Unlock()
	sc.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		var logw *os.File
		if os.Getenv("TEKBOT_KUBE_LOG") != "" {
			logw = os.Stderr
		}
		opts := Options{Name: name}
		if logw != nil {
			opts.Log = logw
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
