package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPromotionEnvironmentErrors(t *testing.T) {
	t.Parallel()
	env := func(extra string) string {
		return validBase + `policy:
  roles:
    release-managers: [ana]
promotion:
  environments:
    - name: prod
      cluster: nightly
      strategy: pipelinerun
      pipelineRef: install-tekton-release
      releases: {namespace: tekton-nightly}
` + extra
	}
	tests := []struct {
		name     string
		body     string
		wantPath string
		wantMsg  string
	}{
		{"bad nightly param", env("      nightlyParam: \"version tag\"\n"), "promotion.environments[0].nightlyParam", "not a Tekton param name"},
		{"bad canary", env("      canaryPipelines: [ok, Not_A_Name]\n"), "promotion.environments[0].canaryPipelines[1]", "not a pipeline name"},
		{"unknown role", env("      allow: [release-managers, wizards]\n"), "promotion.environments[0].allow[1]", `unknown role "wizards"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tt.body))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want *Errors, got %v", err)
			}
			if len(errs.List) != 1 || errs.List[0].Path != tt.wantPath || !strings.Contains(errs.List[0].Msg, tt.wantMsg) || errs.List[0].Line == 0 {
				t.Errorf("want only %q containing %q (with a line), got:\n%v", tt.wantPath, tt.wantMsg, err)
			}
		})
	}
	cfg, err := Load(writeConfig(t, env("      nightlyParam: tag\n      canaryPipelines: [pipeline-e2e]\n      allow: [release-managers, everyone]\n")))
	if err != nil {
		t.Fatalf("valid environment refused: %v", err)
	}
	if e := cfg.Promotion.Environments[0]; e.NightlyParam != "tag" || len(e.CanaryPipelines) != 1 || len(e.Allow) != 2 {
		t.Errorf("decoded %+v", e)
	}
}

// TestPRNamespaceSharingDeploySecretsIsRefused: PR authors write the
// PipelineRuns in a repository's namespace, so a promotion environment that
// mounts Secrets must not run there; the error names both fields.
func TestPRNamespaceSharingDeploySecretsIsRefused(t *testing.T) {
	t.Parallel()
	// validBase with a production cluster, both clusters' namespace
	// tekton-ci, and the repository's runs on the production one.
	base := strings.NewReplacer(
		"    kubeconfig: kubeconfig\n", "    kubeconfig: kubeconfig\n    namespace: tekton-ci\n"+
			"  - {name: dogfooding, role: production, kubeconfig: kubeconfig, namespace: tekton-ci}\n",
		"      cluster: nightly\n", "      cluster: dogfooding\n",
	).Replace(validBase)
	layout := func(repoNS, envCluster, envNS, secrets string) string {
		return base + repoNS + `promotion:
  environments:
    - name: prod
      cluster: ` + envCluster + `
      strategy: pipelinerun
      pipelineRef: install-tekton-release
` + envNS + secrets
	}
	const (
		secrets   = "      secretWorkspaces: {targetCluster: prod-kubeconfig, gcs: release-bucket}\n"
		repoCI    = "      namespace: tekton-ci\n"
		envCI     = "      namespace: tekton-ci\n"
		envDeploy = "      namespace: tekton-deploy\n"
	)
	for _, tc := range []struct {
		name string
		body string
		// repoLine and envLine are the lines of github.repositories[0].namespace and
		// promotion.environments[0].namespace; zero for a valid layout.
		repoLine, envLine int
	}{
		{"same namespace, secrets", layout(repoCI, "dogfooding", envCI, secrets), 15, 22},
		{"same namespace by default, secrets", layout("", "dogfooding", "", secrets), 13, 17},
		{"namespace of its own", layout(repoCI, "dogfooding", envDeploy, secrets), 0, 0},
		{"same namespace on another cluster", layout(repoCI, "nightly", envCI, secrets), 0, 0},
		{"same namespace, no secrets", layout(repoCI, "dogfooding", envCI, ""), 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tc.body))
			if tc.repoLine == 0 {
				if err != nil {
					t.Fatalf("safe layout refused: %v", err)
				}
				return
			}
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) != 1 {
				t.Fatalf("want one error, got %v", err)
			}
			got := errs.List[0]
			wantMsg := fmt.Sprintf(`"tekton-ci" on cluster "dogfooding" is also promotion.environments[0].namespace (line %d), which binds secret workspaces (gcs, targetCluster); PR-authored PipelineRuns there could mount them`, tc.envLine)
			if got.Path != "github.repositories[0].namespace" || got.Line != tc.repoLine || !strings.Contains(got.Msg, wantMsg) {
				t.Errorf("got %+v\nwant github.repositories[0].namespace at line %d: %s", got, tc.repoLine, wantMsg)
			}
		})
	}
}
