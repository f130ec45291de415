package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAlertsConfig(t *testing.T) {
	t.Parallel()
	const slack = "slack:\n  botToken: {file: secret}\n  signingSecret: {file: secret}\n  channels: {captain: C0CAPTAIN}\n"
	base := validBase + slack
	tests := []struct {
		name, body, wantPath, wantMsg string
	}{
		{"unknown cluster", base + "alerts:\n  watch:\n    - {cluster: prod, selector: a=b}\n", "alerts.watch[0].cluster", `unknown cluster "prod"`},
		{"bad selector", base + "alerts:\n  watch:\n    - {cluster: nightly, selector: \"a in (\"}\n", "alerts.watch[0].selector", "not a label selector"},
		{"bad pipeline", base + "alerts:\n  watch:\n    - {cluster: nightly, pipelines: [Release_1]}\n", "alerts.watch[0].pipelines[0]", "not a pipeline name"},
		{"everything", base + "alerts:\n  watch:\n    - {cluster: nightly}\n", "alerts.watch[0]", "needs a selector or pipelines"},
		{"no captain channel", validBase + "alerts:\n  watch:\n    - {cluster: nightly, selector: a}\n", "alerts.watch", "slack.channels.captain"},
		{"bad group", strings.Replace(base, "channels:", "captainGroup: U0NOTAGROUP\n  channels:", 1), "slack.captainGroup", "user group ID"},
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
	body := strings.Replace(base, "channels:", "captainGroup: S0CAPTAINS\n  channels:", 1) +
		"alerts:\n  watch:\n    - {cluster: nightly, selector: \"tekton.dev/pipeline\", pipelines: [pipeline-release]}\n"
	cfg, err := Load(writeConfig(t, body))
	if err != nil {
		t.Fatalf("valid alerts refused: %v", err)
	}
	if w := cfg.Alerts.Watch[0]; w.Namespace != "default" || cfg.Slack.CaptainGroup != "S0CAPTAINS" {
		t.Errorf("decoded %+v, group %q: the namespace should default to the cluster's", w, cfg.Slack.CaptainGroup)
	}
	if ns := (&Environment{}).VersionNamespace(); ns != "tekton-pipelines" {
		t.Errorf("default info namespace = %q", ns)
	}
}
