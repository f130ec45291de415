package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConfigCheckRefusesPRNamespaceWithDeploySecrets: the example config as
// it was before issue 11, its deploy environment in the PR namespace, is
// refused, and the error names both fields with their lines.
func TestConfigCheckRefusesPRNamespaceWithDeploySecrets(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile(filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const safe = "      namespace: tekton-deploy\n"
	if !strings.Contains(string(example), safe) {
		t.Fatalf("the example's deploy environment is no longer in %q", safe)
	}
	dir := t.TempDir()
	for _, rel := range []string{"kubeconfig", "secrets"} {
		if err := os.Symlink(filepath.Join(mustAbs(t, "../../config/example"), rel), filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tekbot.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(example), safe, "      namespace: tekton-ci\n", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, "", "config", "check", "-f", path)
	if code == 0 {
		t.Fatal("config check passed PR runs and the deploy Secret in one namespace")
	}
	want := regexp.MustCompile(`line \d+: github\.repositories\[0\]\.namespace: "tekton-ci" on cluster "dogfooding" is also ` +
		`promotion\.environments\[0\]\.namespace \(line \d+\), which binds secret workspaces \(targetCluster\)`)
	if !want.MatchString(errOut) || !strings.Contains(errOut, "1 problem(s)") {
		t.Errorf("errors do not name both fields with their lines:\n%s", errOut)
	}
}
