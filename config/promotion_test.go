package config

import (
	"errors"
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
