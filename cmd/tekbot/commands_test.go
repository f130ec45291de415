package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// exampleWith writes the example config, with one edit, beside copies of
// the files it refers to.
func exampleWith(t *testing.T, from, to string) string {
	t.Helper()
	src := filepath.Join("..", "..", "config", "example")
	dir := t.TempDir()
	for _, f := range []string{"kubeconfig", "secrets/github-token", "secrets/github-webhook-secret", "secrets/slack-app-token", "secrets/slack-bot-token", "secrets/slack-signing-secret"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(src, "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), from) {
		t.Fatalf("the example config no longer holds %q", from)
	}
	path := filepath.Join(dir, "tekbot.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), from, to, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigCheckNamesDeclaredCommandFields: `tekbot config check` points
// at the field of a declared command that cannot work.
func TestConfigCheckNamesDeclaredCommandFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, from, to, want string
	}{
		{"undeclared argument", `targetBranch: "{{.Args.release_branch}}"`, `targetBranch: "{{.Args.branch}}"`,
			`commands[0].params.targetBranch: bad template: template: cherry-pick:1:7: executing "cherry-pick" at <.Args.branch>: map has no entry for key "branch" (templates see .Args.release_branch`},
		{"unknown cluster", "    cluster: nightly               # namespace", "    cluster: nightlies             # namespace",
			`commands[0].cluster: unknown cluster "nightlies" (clusters: nightly, dogfooding)`},
		{"unsafe namespace", "    cluster: nightly\n    pipelineRef: \"{{.Args.project}}-release\"", "    cluster: dogfooding\n    namespace: tekton-deploy\n    pipelineRef: \"{{.Args.project}}-release\"",
			`commands[1].namespace: "tekton-deploy" on cluster "dogfooding" is also promotion.environments[0].namespace`},
		{"merge commit of an open PR", "    when: merged\n", "",
			"commands[0].params.commit: bad template: template: cherry-pick:1:2: executing \"cherry-pick\" at <.MergeCommit>: map has no entry for key \"MergeCommit\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, errOut, code := runCLI(t, "", "config", "check", "-f", exampleWith(t, tt.from, tt.to))
			if code != 1 || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n  line ") != 1 {
				t.Errorf("exit %d, want 1 and exactly this problem: %s\n%s", code, tt.want, errOut)
			}
		})
	}
	out, errOut, code := runCLI(t, "", "config", "check", "-f", filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if code != 0 || !strings.Contains(out, "commands (2):") || !strings.Contains(out, "cherry-pick  on github: Pipeline cherry-pick on nightly/tekton-nightly, once the PR merges;") {
		t.Errorf("the summary should list the declared commands: exit %d\n%s%s", code, out, errOut)
	}
}

func TestParseSplitsNameLists(t *testing.T) {
	t.Parallel()
	out, errOut, code := runCLI(t, "/test a, b\n", "parse")
	if code != 0 || strings.TrimSpace(out) != `[{"verb":"test","args":["a","b"]}]` {
		t.Errorf("echo '/test a, b' | tekbot parse: exit %d %q %s", code, out, errOut)
	}
}
