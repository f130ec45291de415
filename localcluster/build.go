package localcluster

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The wrapper module that builds kube-apiserver and etcd: two calls into
// the upstream mains, with the go.mod that pins Kubernetes' staging
// modules. Its files end in .txt because a go.mod marks a module boundary,
// which go:embed cannot cross, and because its mains import modules that
// tekbot's own go.mod does not (so they must not compile as part of it).
//
//go:embed controlplane
var wrapper embed.FS

// Version is the Kubernetes release the control plane is built at.
const Version = "v1.37.2"

// ldflags stamp the version the apiserver reports (client-go warns about
// a "v0.0.0" server otherwise).
const ldflags = "-s -w -X k8s.io/component-base/version.gitVersion=" + Version +
	" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37"

// wrapperFiles are the wrapper's files as the build needs them on disk,
// in the order the cache key hashes them.
var wrapperFiles = []string{"go.mod", "go.sum", "cmd/etcd/main.go", "cmd/kube-apiserver/main.go"}

// CacheRoot is where tekbot caches what it builds:
// $TEKBOT_CACHE_DIR, else $XDG_CACHE_HOME/tekbot (~/.cache/tekbot).
func CacheRoot() string {
	if d := os.Getenv("TEKBOT_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "tekbot")
	}
	return filepath.Join(os.TempDir(), "tekbot-cache")
}

// cacheKey hashes what shapes the binaries (the wrapper's sources and the
// link flags), so editing them rebuilds and nothing else does. It is the
// hash the earlier build script computed, so binaries built by it stay
// valid.
func cacheKey() (string, error) {
	h := sha256.New()
	for _, name := range wrapperFiles {
		b, err := wrapper.ReadFile("controlplane/" + name + ".txt")
		if err != nil {
			return "", err
		}
		h.Write(b)
	}
	h.Write([]byte(ldflags + "\n"))
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// BinDir returns the folder with kube-apiserver and etcd, building them
// from the Go module proxy on first use with the machine's go toolchain
// (10-16 minutes on 2 cores; progress goes to progress, which may be
// nil). TEKBOT_CONTROLPLANE_BIN names a folder of ready binaries instead.
// Concurrent callers, in this or other processes, wait for one build.
func BinDir(ctx context.Context, progress io.Writer) (string, error) {
	if dir := os.Getenv("TEKBOT_CONTROLPLANE_BIN"); dir != "" {
		return dir, nil
	}
	if progress == nil {
		progress = io.Discard
	}
	key, err := cacheKey()
	if err != nil {
		return "", err
	}
	root := CacheRoot()
	out := filepath.Join(root, "controlplane-"+key)
	bin := filepath.Join(out, "bin")
	if built(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	unlock, err := lock(filepath.Join(root, "controlplane.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if built(bin) { // another process built it while we waited
		return bin, nil
	}
	if err := build(ctx, out, progress); err != nil {
		return "", fmt.Errorf("building kube-apiserver and etcd (set TEKBOT_CONTROLPLANE_BIN to a folder holding them to skip this): %w", err)
	}
	return bin, nil
}

func built(bin string) bool {
	for _, name := range []string{"kube-apiserver", "etcd"} {
		if fi, err := os.Stat(filepath.Join(bin, name)); err != nil || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// lock takes an exclusive flock on path, the lock the test run's build
// step takes too.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

// build writes the wrapper module beside the cache entry and builds both
// binaries into out/bin, moving them into place only when both exist.
func build(ctx context.Context, out string, progress io.Writer) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return errors.New("the Go toolchain (go) is not on PATH")
	}
	tmp := out + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	src := filepath.Join(tmp, "src")
	for _, name := range wrapperFiles {
		b, err := wrapper.ReadFile("controlplane/" + name + ".txt")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, name)), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(src, name), b, 0o644); err != nil {
			return err
		}
	}
	start := time.Now()
	fmt.Fprintf(progress, "tekbot: building kube-apiserver %s and etcd into %s (once; ~10-16 min on 2 cores)\n", Version, out)
	// -v names each package as it compiles: a progress count. GOFLAGS
	// and GOWORK from the caller's project must not reach this module.
	cmd := exec.CommandContext(ctx, goTool, "build", "-v", "-trimpath", "-ldflags", ldflags,
		"-o", filepath.Join(tmp, "bin")+string(filepath.Separator), "./cmd/kube-apiserver", "./cmd/etcd")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off", "GO111MODULE=on")
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	countPackages(pipe, progress)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("go build: %w", err)
	}
	bin := filepath.Join(tmp, "bin")
	if !built(bin) {
		return fmt.Errorf("go build left no binaries in %s", bin)
	}
	if err := os.RemoveAll(src); err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	fmt.Fprintf(progress, "tekbot: control plane built in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// countPackages reads go build -v's output: a package path per line
// (paths have no spaces), anything else a compiler message, passed on.
func countPackages(r io.Reader, progress io.Writer) {
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, " ") {
			fmt.Fprintln(progress, line)
			continue
		}
		if n++; n%250 == 0 {
			fmt.Fprintf(progress, "tekbot: controlplane build: %d packages compiled\n", n)
		}
	}
	// Drain on a scanner error (a line too long) so go build never
	// blocks on a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

// wrapperSources lists the embedded wrapper module's files (a test checks
// that the cache key covers them all).
func wrapperSources() ([]string, error) {
	var names []string
	err := fs.WalkDir(wrapper, "controlplane", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(path, "controlplane/"), ".txt"))
		}
		return err
	})
	return names, err
}
