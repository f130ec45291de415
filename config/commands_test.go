package config

import (
	"errors"
	"strings"
	"testing"
)

// commandsBase has a nightly and a production cluster, a promotion whose
// deploy runs bind a Secret in tekton-deploy, and a maintainers role.
const commandsBase = `clusters:
  - {name: nightly, role: nightly, kubeconfig: kubeconfig, namespace: tekton-nightly}
  - {name: dogfooding, role: production, kubeconfig: kubeconfig, namespace: tekton-ci}
people:
  - {name: ana, github: ana}
github:
  webhookSecret: {file: secret}
  token: {file: secret}
  repositories:
    - name: tektoncd/pipeline
      cluster: dogfooding
      params: {goVersion: '1\.\d+'}
promotion:
  environments:
    - name: prod
      cluster: dogfooding
      namespace: tekton-deploy
      strategy: pipelinerun
      pipelineRef: install-tekton-release
      secretWorkspaces: {targetCluster: prod-kubeconfig}
policy:
  roles: {maintainers: [ana]}
commands:
  - verb: cherry-pick
    help: cherry-pick this PR
    on: github
    when: merged
    args:
      - {name: release-branch, pattern: 'release-v\d+\.\d+\.x'}
    cluster: nightly
    pipelineRef: cherry-pick
    params:
      commit: "{{.MergeCommit}}"
      target: "{{.Args.release_branch}}"
    workspaces:
      source: {emptyDir: true}
    allow: [repo-writers]
`

func TestDeclaredCommandsAreChecked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		from, to  string // replace in commandsBase
		path, msg string // "" for a valid config
	}{
		{"valid", "", "", "", ""},
		{"policy.allow may name a declared verb", "  roles: {maintainers: [ana]}", "  roles: {maintainers: [ana]}\n  allow: {cherry-pick: [maintainers]}", "", ""},
		{"policy.allow of an unknown verb", "  roles: {maintainers: [ana]}", "  roles: {maintainers: [ana]}\n  allow: {cherry-pik: [maintainers]}", "policy.allow.cherry-pik", `unknown command "cherry-pik"`},
		{"undeclared argument", `target: "{{.Args.release_branch}}"`, `target: "{{.Args.branch}}"`,
			"commands[0].params.target", `map has no entry for key "branch" (templates see .Args.release_branch .Repository`},
		{"unknown field", `{{.MergeCommit}}`, `{{.Author}}`, "commands[0].params.commit", `map has no entry for key "Author"`},
		{"PR fields in Slack", "on: github\n    when: merged", "on: slack", "commands[0].params.commit", `map has no entry for key "MergeCommit" (templates see .Args.release_branch)`},
		{"merge commit of an open PR", "    when: merged\n", "", "commands[0].params.commit",
			"map has no entry for key \"MergeCommit\" (templates see .Args.release_branch .Repository .Owner .Repo .PullRequest .HeadSHA .BaseBranch; .MergeCommit only with `when: merged`)"},
		{"merged PRs in Slack", "on: github", "on: both", "commands[0].when", `"merged" waits for a pull request to merge: offer the command on "github" only`},
		{"unknown PR state", "when: merged", "when: closed", "commands[0].when", `must be "open" or "merged", got "closed"`},
		{"unknown cluster", "cluster: nightly", "cluster: nightlyy", "commands[0].cluster", `unknown cluster "nightlyy"`},
		{"namespace of a secret deploy", "cluster: nightly", "cluster: dogfooding\n    namespace: tekton-deploy", "commands[0].namespace",
			`"tekton-deploy" on cluster "dogfooding" is also promotion.environments[0].namespace (line 17), which binds secret workspaces`},
		{"production from GitHub", "cluster: nightly", "cluster: dogfooding", "commands[0].on", "confirmed with Slack's button"},
		{"unchecked argument", `pattern: 'release-v\d+\.\d+\.x'`, `optional: true`, "commands[0].args[0]", "needs a pattern or an enum"},
		{"bad pattern", `release-v\d+`, `release-v(\d+`, "commands[0].args[0].pattern", "not a regular expression"},
		{"default off the pattern", `pattern: 'release-v\d+\.\d+\.x'}`, `pattern: 'release-v\d+\.\d+\.x', optional: true, default: main}`, "commands[0].args[0].default", `"main" must match`},
		{"built-in verb", "verb: cherry-pick", "verb: retest", "commands[0].verb", `"retest" is a built-in command`},
		{"nobody may run it", "allow: [repo-writers]", "allow: []", "commands[0].allow", "required"},
		{"unknown role", "allow: [repo-writers]", "allow: [admins]", "commands[0].allow[0]", `unknown role "admins"`},
		{"two volume sources", "source: {emptyDir: true}", "source: {emptyDir: true, secret: s}", "commands[0].workspaces.source", "exactly one"},
		{"label key tekbot owns", "workspaces:", "labels: {tekbot.dev/command: x}\n    workspaces:", "commands[0].labels.tekbot.dev/command", "not a label key"},
		{"overridable param pattern", `goVersion: '1\.\d+'`, `goVersion: '1\.(\d+'`, "github.repositories[0].params.goVersion", "regular expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := commandsBase
			if tt.from != "" {
				if !strings.Contains(body, tt.from) {
					t.Fatalf("base lacks %q", tt.from)
				}
				body = strings.Replace(body, tt.from, tt.to, 1)
			}
			cfg, err := Load(writeConfig(t, body), KnownVerbs("retest", "test"))
			if tt.path == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				if c := cfg.Commands[0]; c.Args[0].Key() != "release_branch" {
					t.Errorf("decoded %+v", c)
				}
				return
			}
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want errors, got %v", err)
			}
			for _, fe := range errs.List {
				if fe.Path == tt.path && strings.Contains(fe.Msg, tt.msg) && fe.Line > 0 {
					return
				}
			}
			t.Errorf("want %s: …%s… with a line, got\n%v", tt.path, tt.msg, err)
		})
	}
}

func TestDeclaredArgumentsMatchWholeValues(t *testing.T) {
	t.Parallel()
	a := CommandArg{Name: "release-branch", Pattern: `release-v\d+\.\d+\.x`}
	for value, ok := range map[string]bool{
		"release-v1.2.x": true, "main": false, "release-v1.2.x;rm -rf /": false,
		"xrelease-v1.2.x": false, "release-v1.2.x\n": false, "{{.HeadSHA}}": false,
	} {
		if got := a.Check(value) == ""; got != ok {
			t.Errorf("Check(%q) passes = %v, want %v", value, got, ok)
		}
	}
	if why := a.Check("main"); why != "must match `release-v\\d+\\.\\d+\\.x`" {
		t.Errorf("refusal = %q", why)
	}
	e := CommandArg{Name: "project", Enum: []string{"pipeline", "triggers"}}
	if e.Check("pipeline") != "" || e.Check("pipelin") != "must be one of pipeline, triggers" {
		t.Errorf("enum: %q %q", e.Check("pipeline"), e.Check("pipelin"))
	}
}
