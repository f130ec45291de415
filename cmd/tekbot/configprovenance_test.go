package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tekbot/config"
	"tekbot/localregistry"
)

// TestConfigCheckShowsAndGuardsReleaseEvidence: `tekbot config check` says
// where an environment's release evidence comes from, and refuses the
// example once its release runs are read from the PR namespace.
func TestConfigCheckShowsAndGuardsReleaseEvidence(t *testing.T) {
	t.Parallel()
	example, err := os.ReadFile(filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	const own = "      releases:\n        cluster: nightly\n        namespace: tekton-nightly\n"
	if !strings.Contains(string(example), own) {
		t.Fatalf("the example's releases are no longer %q", own)
	}
	dir := t.TempDir()
	for _, rel := range []string{"kubeconfig", "secrets"} {
		if err := os.Symlink(filepath.Join(mustAbs(t, "../../config/example"), rel), filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, releases, want string
		code                 int
	}{
		{"releases of their own", own, "  evidence: release runs in nightly/tekton-nightly labelled triggers.tekton.dev/eventlistener=nightly-releases, none with Pipelines-as-Code labels\n", 0},
		{"releases in the PR namespace", "      releases:\n        cluster: dogfooding\n        namespace: tekton-ci\n",
			`promotion.environments[0].releases: release runs are read from namespace "tekton-ci" on cluster "dogfooding", where github.repositories[0] (tektoncd/pipeline) runs PR PipelineRuns`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
			if err := os.WriteFile(path, []byte(strings.Replace(string(example), own, tt.releases, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			out, errOut, code := runCLI(t, "", "config", "check", "-f", path)
			if code != tt.code || !strings.Contains(out+errOut, tt.want) {
				t.Errorf("exit %d, want %d and %q:\n%s%s", code, tt.code, tt.want, out, errOut)
			}
		})
	}
}

func TestDescribeEvidenceOfNightlyImages(t *testing.T) {
	t.Parallel()
	key, err := localregistry.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	image := "ghcr.io/tektoncd/{{.Project}}/controller"
	tests := []struct {
		name   string
		chains *config.Chains
		want   string
	}{
		{"without chains", nil, "images " + image + " by digest"},
		{"with chains", &config.Chains{PublicKey: key.PublicPEM()}, "images " + image + " by digest, with Tekton Chains provenance by pipeline {{.Project}}-release signed with key sha256:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := &config.Environment{AfterDeploy: config.AfterDeploy{NightlyImage: image}, Provenance: config.Provenance{Chains: tt.chains}}
			if got := describeEvidence(&config.Config{}, env); !strings.HasPrefix(got, tt.want) {
				t.Errorf("got %q, want it to start %q", got, tt.want)
			}
		})
	}
}
