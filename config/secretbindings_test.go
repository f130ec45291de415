package config

import (
	"errors"
	"strings"
	"testing"
)

// TestSecretBindingsInPRNamespacesAreRefused: besides environments, a
// verification pipeline's secretWorkspaces and a declared command's
// secret workspace are refused in any repository's PR namespace, each at
// its own field path; elsewhere they are fine.
func TestSecretBindingsInPRNamespacesAreRefused(t *testing.T) {
	t.Parallel()
	const (
		envSecrets = "      secretWorkspaces: {targetCluster: prod-kubeconfig}\n"
		repoParams = "      params: {goVersion: '1\\.\\d+'}\n"
		workspaces = "      source: {emptyDir: true}\n"
	)
	verify := func(pipeline string) [2]string {
		return [2]string{envSecrets, envSecrets + "      verify:\n        pipelines:\n          - " + pipeline + "\n"}
	}
	// A second repository whose PR runs are in the nightly cluster's
	// namespace, where cherry-pick runs.
	nightlyRepo := [2]string{repoParams, repoParams + "    - name: tektoncd/triggers\n      cluster: nightly\n"}
	secretWorkspace := [2]string{workspaces, workspaces + "      github-token: {secret: cherry-pick-token}\n"}
	// With PR runs in the nightly cluster's namespace, release runs are
	// read from another (config/provenance.go).
	releasesApart := [2]string{envSecrets, envSecrets + "      releases: {namespace: tekton-releases}\n"}
	tests := []struct {
		name      string
		replace   [][2]string // in commandsBase
		path, msg string      // "" for a valid config
	}{
		{"verify secrets on the verify cluster's namespace, by default the PR one",
			[][2]string{verify("{pipelineRef: smoke, secretWorkspaces: {kubeconfig: prod-kubeconfig}}")},
			"promotion.environments[0].verify.pipelines[0].secretWorkspaces",
			`binds secret workspaces (kubeconfig) in "tekton-ci" on cluster "dogfooding", which is github.repositories[0].namespace (line 10) (tektoncd/pipeline), where PR-authored PipelineRuns could mount it`},
		{"verify secrets in a named PR namespace",
			[][2]string{verify("{pipelineRef: smoke, cluster: dogfooding, namespace: tekton-ci, secretWorkspaces: {kubeconfig: k, gcs: g}}")},
			"promotion.environments[0].verify.pipelines[0].secretWorkspaces", `binds secret workspaces (gcs, kubeconfig) in "tekton-ci"`},
		{"verify secrets in the deploy namespace",
			[][2]string{verify("{pipelineRef: smoke, namespace: tekton-deploy, secretWorkspaces: {kubeconfig: prod-kubeconfig}}")}, "", ""},
		{"verify without secrets in the PR namespace", [][2]string{verify("{pipelineRef: smoke}")}, "", ""},
		{"command secret in a PR namespace", [][2]string{nightlyRepo, releasesApart, secretWorkspace},
			"commands[0].workspaces.github-token.secret",
			`binds Secret "cherry-pick-token" in "tekton-nightly" on cluster "nightly", which is github.repositories[1].namespace (line 13) (tektoncd/triggers), where PR-authored PipelineRuns could mount it`},
		{"command secret where no PR runs", [][2]string{secretWorkspace}, "", ""},
		{"command without secrets in a PR namespace", [][2]string{nightlyRepo, releasesApart}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			loadOneError(t, commandsBase, tt.replace, tt.path, tt.msg)
		})
	}
}

// TestRerunnableIsForProductionOutsideDeploys: clusters[].rerunnable
// opens production's deny-by-default for named namespaces and pipelines,
// never a deploy namespace, and means nothing on a nightly cluster.
func TestRerunnableIsForProductionOutsideDeploys(t *testing.T) {
	t.Parallel()
	prod := func(rerunnable string) [2]string {
		return [2]string{"namespace: tekton-ci}", "namespace: tekton-ci, rerunnable: " + rerunnable + "}"}
	}
	tests := []struct {
		name      string
		replace   [][2]string
		path, msg string
	}{
		{"a namespace and its pipelines", [][2]string{prod("[{namespace: tekton-ops, pipelines: [nightly-canary]}]")}, "", ""},
		{"a whole namespace", [][2]string{prod("[{namespace: tekton-ops}]")}, "", ""},
		{"the deploy namespace", [][2]string{prod("[{namespace: tekton-ops}, {namespace: tekton-deploy}]")},
			"clusters[1].rerunnable[1].namespace", `"tekton-deploy" is promotion.environments[0].namespace: every run there is a deploy`},
		{"not a namespace", [][2]string{prod("[{namespace: Tekton_Ops}]")}, "clusters[1].rerunnable[0].namespace", "not a valid namespace"},
		{"not a pipeline", [][2]string{prod("[{namespace: tekton-ops, pipelines: [ok, Not_A_Name]}]")}, "clusters[1].rerunnable[0].pipelines[1]", "not a pipeline name"},
		{"on a nightly cluster", [][2]string{{"namespace: tekton-nightly}", "namespace: tekton-nightly, rerunnable: [{namespace: x}]}"}},
			"clusters[0].rerunnable", "only for a production cluster: a nightly cluster reruns any run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := loadOneError(t, commandsBase, tt.replace, tt.path, tt.msg)
			if cfg != nil && !cfg.Cluster("dogfooding").AllowsRerun("tekton-ops", "nightly-canary") {
				t.Errorf("valid rerunnable %+v does not allow nightly-canary in tekton-ops", cfg.Cluster("dogfooding").Rerunnable)
			}
		})
	}
}

// loadOneError loads base with each replacement made once, and wants it
// valid (path "") or refused with exactly one error at path, with a line,
// whose message contains msg. It returns the config when valid.
func loadOneError(t *testing.T, base string, replace [][2]string, path, msg string) *Config {
	t.Helper()
	body := base
	for _, r := range replace {
		if !strings.Contains(body, r[0]) {
			t.Fatalf("base lacks %q", r[0])
		}
		body = strings.Replace(body, r[0], r[1], 1)
	}
	cfg, err := Load(writeConfig(t, body), KnownVerbs("retest", "test"))
	if path == "" {
		if err != nil {
			t.Fatalf("valid config refused: %v", err)
		}
		return cfg
	}
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want errors, got %v", err)
	}
	if len(errs.List) != 1 || errs.List[0].Path != path || !strings.Contains(errs.List[0].Msg, msg) || errs.List[0].Line == 0 {
		t.Errorf("want only %s: …%s… with a line, got\n%v", path, msg, err)
	}
	return nil
}
