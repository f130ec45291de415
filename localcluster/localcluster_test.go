package localcluster

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCacheKeyCoversTheWrapper keeps the cache key honest: every embedded
// file of the wrapper module is hashed, and the key is the one the build
// script computed before the sources were embedded (sha256 of go.mod,
// go.sum, the mains and the ldflags line), so cached binaries stay valid.
func TestCacheKeyCoversTheWrapper(t *testing.T) {
	t.Parallel()
	files, err := wrapperSources()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	want := slices.Sorted(slices.Values(wrapperFiles))
	if !slices.Equal(files, want) {
		t.Errorf("embedded wrapper files %v, hashed %v", files, want)
	}
	key, err := cacheKey()
	if err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", `cd controlplane && cat go.mod.txt go.sum.txt cmd/etcd/main.go.txt cmd/kube-apiserver/main.go.txt && printf '%s\n' "$LDFLAGS"`)
	sh.Env = append(os.Environ(), "LDFLAGS="+ldflags)
	script, err := sh.Output()
	if err != nil {
		t.Fatal(err)
	}
	sum := exec.Command("sha256sum")
	sum.Stdin = bytes.NewReader(script)
	out, err := sum.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out[:12]); key != got {
		t.Errorf("cache key %s, want %s (sha256sum of the sources and ldflags)", key, got)
	}
}

// TestEmbeddedCRDsMatchTheModule fails when tektoncd/pipeline is bumped
// without refreshing the embedded copy (go generate ./localcluster).
func TestEmbeddedCRDsMatchTheModule(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/tektoncd/pipeline").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "config", "300-crds")
	upstream, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(upstream) == 0 {
		t.Fatalf("no CRDs in %s: %v", dir, err)
	}
	embedded, err := tektonCRDs.ReadDir("crds")
	if err != nil {
		t.Fatal(err)
	}
	if len(embedded) != len(upstream) {
		t.Errorf("%d CRD files embedded, the module has %d", len(embedded), len(upstream))
	}
	for _, path := range upstream {
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tektonCRDs.ReadFile("crds/" + filepath.Base(path))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("crds/%s differs from the module's (%v): run go generate ./localcluster", filepath.Base(path), err)
		}
	}
}

// TestAnExitedComponentIsSeen: a component that exits (its port taken
// between freePorts and its bind) is seen at once, so Start tries other
// ports instead of waiting out the readiness deadline; one still running
// is not taken for exited.
func TestAnExitedComponentIsSeen(t *testing.T) {
	t.Parallel()
	c := &Cluster{}
	t.Cleanup(c.Stop)
	if err := c.spawn(io.Discard, "/bin/sleep", "60"); err != nil {
		t.Fatal(err)
	}
	if err := c.spawn(io.Discard, "/bin/false"); err != nil {
		t.Fatal(err)
	}
	<-c.procs[1].exited
	if got := c.exitedProcess(); got != "false" {
		t.Errorf("exitedProcess() = %q, want the one that exited", got)
	}
	c.procs = c.procs[:1]
	if got := c.exitedProcess(); got != "" {
		t.Errorf("exitedProcess() = %q with sleep running", got)
	}
}
