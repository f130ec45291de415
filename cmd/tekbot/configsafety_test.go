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
	path := exampleVariant(t, "      namespace: tekton-deploy\n", "      namespace: tekton-ci\n")
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

// TestConfigCheckRefusesSecretsInPRNamespaces: `tekbot config check` on
// the example config with a verification pipeline's secretWorkspaces, or
// a declared command's secret workspace, moved into the PR namespace
// (tekton-ci on dogfooding) refuses it, naming the field and the
// repository's namespace with their lines.
func TestConfigCheckRefusesSecretsInPRNamespaces(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, to string
		want           string // a regular expression
	}{
		{"a verification pipeline's secretWorkspaces",
			"            cluster: nightly             # the target, or a CI cluster\n",
			"            cluster: dogfooding\n            secretWorkspaces: {kubeconfig: dogfooding-kubeconfig}\n",
			`line \d+: promotion\.environments\[0\]\.verify\.pipelines\[0\]\.secretWorkspaces: binds secret workspaces \(kubeconfig\) in "tekton-ci" on cluster "dogfooding", ` +
				`which is github\.repositories\[0\]\.namespace \(line \d+\) \(tektoncd/pipeline\), where PR-authored PipelineRuns could mount it`},
		{"a declared command's secret workspace",
			"    cluster: nightly\n    pipelineRef: \"{{.Args.project}}-release\"\n",
			"    cluster: dogfooding\n    pipelineRef: \"{{.Args.project}}-release\"\n",
			`line \d+: commands\[1\]\.workspaces\.release-secret\.secret: binds Secret "release-secret" in "tekton-ci" on cluster "dogfooding", ` +
				`which is github\.repositories\[0\]\.namespace \(line \d+\) \(tektoncd/pipeline\)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := runCLI(t, "", "config", "check", "-f", exampleVariant(t, tt.from, tt.to))
			if code == 0 || !regexp.MustCompile(tt.want).MatchString(errOut) || !strings.Contains(errOut, "1 problem(s)") {
				t.Errorf("exit %d; want one problem matching %s, got:\n%s", code, tt.want, errOut)
			}
		})
	}
}

// exampleVariant writes the example config with from replaced by to
// (once) beside links to its kubeconfig and secrets, and returns its path.
func exampleVariant(t *testing.T, from, to string) string {
	t.Helper()
	example, err := os.ReadFile(filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), from) {
		t.Fatalf("the example no longer has %q", from)
	}
	dir := t.TempDir()
	for _, rel := range []string{"kubeconfig", "secrets"} {
		if err := os.Symlink(filepath.Join(mustAbs(t, "../../config/example"), rel), filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tekbot.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(example), from, to, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
