package githubtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// FixturesEnv names the environment variable that, when set, holds the
// directory fixtures.sh printed (the one holding node_modules); the script is
// then not run. A Makefile or CI script runs fixtures.sh once and exports it.
const FixturesEnv = "TEKBOT_GITHUB_FIXTURES"

// Paths of the fixture files inside the directory [FixturesDir] returns.
const (
	WebhookExamplesFile = "node_modules/@octokit/webhooks-examples/api.github.com/index.json"
	OpenAPIFile         = "node_modules/@octokit/openapi/generated/api.github.com.json"
)

var fixtures struct {
	once sync.Once
	dir  string
	err  error
}

// FixturesDir returns the directory holding node_modules with the pinned
// @octokit/webhooks-examples and @octokit/openapi packages. It uses
// $TEKBOT_GITHUB_FIXTURES if set, and otherwise runs fixtures.sh (found next
// to this source file, so it works from any package's tests), which installs
// the packages on first use and is instant afterwards. The answer is computed
// once per process. If the fixtures can't be had, the test fails: these tests
// are never skipped.
func FixturesDir(tb testing.TB) string {
	tb.Helper()
	fixtures.once.Do(func() { fixtures.dir, fixtures.err = findFixtures() })
	if fixtures.err != nil {
		tb.Fatalf("githubtest: GitHub fixtures unavailable: %v", fixtures.err)
	}
	return fixtures.dir
}

// fixturePath returns the absolute path of a file inside FixturesDir.
func fixturePath(tb testing.TB, rel string) string {
	tb.Helper()
	return filepath.Join(FixturesDir(tb), filepath.FromSlash(rel))
}

func findFixtures() (string, error) {
	if dir := os.Getenv(FixturesEnv); dir != "" {
		if err := checkFixtures(dir); err != nil {
			return "", fmt.Errorf("$%s=%s: %w (rerun test/githubtest/fixtures.sh and export its last line)", FixturesEnv, dir, err)
		}
		return dir, nil
	}
	_, self, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate fixtures.sh: runtime.Caller failed; set $%s", FixturesEnv)
	}
	script := filepath.Join(filepath.Dir(self), "fixtures.sh")
	if _, err := os.Stat(script); err != nil {
		return "", fmt.Errorf("cannot locate fixtures.sh (built with -trimpath?): %w; set $%s", err, FixturesEnv)
	}
	cmd := exec.Command("bash", script)
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = os.Stderr // progress of a cold install shows in go test -v
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s failed: %w", script, err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if dir == "" {
		return "", fmt.Errorf("%s printed no directory", script)
	}
	if err := checkFixtures(dir); err != nil {
		return "", fmt.Errorf("%s printed %s: %w", script, dir, err)
	}
	return dir, nil
}

func checkFixtures(dir string) error {
	for _, rel := range []string{WebhookExamplesFile, OpenAPIFile} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel))); err != nil {
			return fmt.Errorf("missing %s", rel)
		}
	}
	return nil
}
