package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAfterDeployErrors(t *testing.T) {
	t.Parallel()
	env := func(strategy, extra string) string {
		return validBase + `promotion:
  environments:
    - name: prod
      cluster: nightly
      releases: {namespace: tekton-nightly}
` + strategy + extra
	}
	const pr = "      strategy: pipelinerun\n      pipelineRef: install-tekton-release\n"
	const gitops = "      strategy: gitops\n      repository: tektoncd/plumbing\n      path: a.yaml\n      pattern: 'v[0-9]+'\n"
	verify := func(pipeline string) string {
		return "      verify:\n        pipelines:\n          - " + pipeline + "\n"
	}
	tests := []struct {
		name, body, wantPath, wantMsg string
	}{
		{"auto rollback needs verify", env(pr, "      autoRollback: true\n"), "promotion.environments[0].autoRollback", "needs verify"},
		{"unknown verification cluster", env(pr, verify("{pipelineRef: verify-tekton, cluster: ci}")), "promotion.environments[0].verify.pipelines[0].cluster", `unknown cluster "ci"`},
		{"bad pipeline name", env(pr, verify("{pipelineRef: Verify_Tekton}")), "promotion.environments[0].verify.pipelines[0].pipelineRef", "not a pipeline name"},
		{"bad param template", env(pr, verify("{pipelineRef: verify-tekton, params: {v: '{{.Version'}}")), "promotion.environments[0].verify.pipelines[0].params.v", "bad template"},
		{"bad component", env(pr, "      verify:\n        components: [Pipeline]\n"), "promotion.environments[0].verify.components[0]", "not a component name"},
		{"auto merge without gitops", env(pr, "      autoMerge: true\n"), "promotion.environments[0].autoMerge", "only for the gitops strategy"},
		{"nightly image with a tag", env(pr, "      nightlyImage: ghcr.io/tektoncd/pipeline/controller:latest\n"), "promotion.environments[0].nightlyImage", "must be an OCI repository"},
		{"train without projects", env(pr, "      train: {at: '10:00'}\n"), "promotion.environments[0].train.projects", "required"},
		{"train at a bad time", env(pr, "      train: {at: '25:00', projects: [pipeline]}\n"), "promotion.environments[0].train.at", "must be HH:MM"},
		{"train on a bad day", env(pr, "      train: {at: '10:00', projects: [pipeline], workingDays: [Mon, Funday]}\n"), "promotion.environments[0].train.workingDays[1]", "not a weekday"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tt.body))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want *Errors, got %v", err)
			}
			if len(errs.List) != 1 || errs.List[0].Path != tt.wantPath || !strings.Contains(errs.List[0].Msg, tt.wantMsg) {
				t.Errorf("want only %q containing %q, got:\n%v", tt.wantPath, tt.wantMsg, err)
			}
		})
	}
	cfg, err := Load(writeConfig(t, env(gitops, `      autoMerge: true
      autoRollback: true
      nightlyImage: ghcr.io/tektoncd/{{.Project}}/controller
      verify:
        components: [pipeline, triggers]
        timeout: 15m
        pipelines:
          - pipelineRef: verify-tekton
            cluster: nightly
            params: {version: "{{.Version}}"}
      train: {at: "10:00", projects: [pipeline]}
`)))
	if err != nil {
		t.Fatalf("valid environment refused: %v", err)
	}
	e := cfg.Promotion.Environments[0]
	if !e.AutoMerge || !e.AutoRollback || e.Verify.Timeout.Duration != 15*time.Minute || e.VerifyCluster() != "nightly" ||
		len(e.Verify.Pipelines) != 1 || e.Train.At != "10:00" || e.NightlyImage == "" {
		t.Errorf("decoded %+v", e)
	}
}
