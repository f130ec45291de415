package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleConfigIsValid(t *testing.T) {
	t.Parallel()
	cfg, err := Load(filepath.Join("example", "tekbot.yaml"), KnownVerbs("retest", "test", "cancel", "ok-to-test", "rerun", "promote"))
	if err != nil {
		t.Fatalf("example config: %v", err)
	}
	if got := len(cfg.Clusters); got != 2 {
		t.Errorf("clusters = %d, want 2", got)
	}
	if r := cfg.Repository("tektoncd/pipeline"); r == nil || r.PipelineLabel != DefaultPipelineLabel {
		t.Errorf("repository defaults not applied: %+v", r)
	}
	if !filepath.IsAbs(cfg.Clusters[0].Kubeconfig) {
		t.Errorf("kubeconfig path not resolved against the file's folder: %q", cfg.Clusters[0].Kubeconfig)
	}
	tok, err := cfg.GitHub.Token.Value()
	if err != nil || tok != "example-github-token" {
		t.Errorf("token = %q, %v", tok, err)
	}
}

// writeConfig writes body as tekbot.yaml in a fresh folder that also holds a
// kubeconfig and one secret file, so fragments can refer to them.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range map[string]string{
		"kubeconfig": "apiVersion: v1\nkind: Config\n",
		"secret":     "s3cr3t-value\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tekbot.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const validBase = `clusters:
  - name: nightly
    role: nightly
    kubeconfig: kubeconfig
people:
  - {name: ana, github: ana}
github:
  webhookSecret: {file: secret}
  token: {file: secret}
  repositories:
    - name: tektoncd/pipeline
      cluster: nightly
`

func TestPlantedErrorsAreAllReported(t *testing.T) {
	t.Parallel()
	body := `clusters:
  - name: nightly
    role: nightly
    kubeconfig: kubeconfig
    colour: blue
people:
  - {name: ana, github: ana}
github:
  webhookSecret: {file: missing-secret}
  token: {file: secret}
  repositories:
    - name: tektoncd/pipeline
      cluster: prd
`
	_, err := Load(writeConfig(t, body))
	var errs *Errors
	if !errors.As(err, &errs) {
		t.Fatalf("want *Errors, got %v", err)
	}
	want := []FieldError{
		{Path: "clusters[0].colour", Line: 5, Msg: `unknown field "colour"`},
		{Path: "github.webhookSecret", Line: 9, Msg: "missing-secret"},
		{Path: "github.repositories[0].cluster", Line: 13, Msg: `unknown cluster "prd"`},
	}
	if len(errs.List) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs.List), len(want), err)
	}
	for i, w := range want {
		g := errs.List[i]
		if g.Path != w.Path || g.Line != w.Line || !strings.Contains(g.Msg, w.Msg) {
			t.Errorf("error %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		wantPath string
		wantMsg  string
	}{
		{"inline secret", strings.Replace(validBase, "token: {file: secret}", "token: ghp_abc123", 1), "github.token", "never inline"},
		{"secret typo", strings.Replace(validBase, "token: {file: secret}", "token: {fiel: secret}", 1), "github.token.fiel", `unknown field "fiel"`},
		{"unset env", strings.Replace(validBase, "token: {file: secret}", "token: {env: TEKBOT_TEST_UNSET_VAR}", 1), "github.token", "TEKBOT_TEST_UNSET_VAR is not set"},
		{"bad role", strings.Replace(validBase, "role: nightly", "role: staging", 1), "clusters[0].role", `got "staging"`},
		{"both kubeconfig and inCluster", strings.Replace(validBase, "kubeconfig: kubeconfig", "kubeconfig: kubeconfig\n    inCluster: true", 1), "clusters[0].kubeconfig", "not both"},
		{"bad repo name", strings.Replace(validBase, "tektoncd/pipeline", "pipeline", 1), "github.repositories[0].name", "owner/repo"},
		{"bad selector template", validBase + "      selector: \"a={{.Repo\"\n", "github.repositories[0].selector", "bad template"},
		{"bad slack id", strings.Replace(validBase, "github: ana}", "github: ana, slack: ana}", 1), "people[0].slack", "Slack user ID"},
		{"bad duration", validBase + "server:\n  shutdownTimeout: soon\n", "server.shutdownTimeout", "not a duration"},
		{"unknown roster person", validBase + "rotation:\n  start: \"2026-01-05\"\n  roster: [bob]\n", "rotation.roster[0]", `unknown person "bob"`},
		{"bad handoff", validBase + "rotation:\n  handoff: \"9am\"\n", "rotation.handoff", "HH:MM"},
		{"bad weekday", validBase + "rotation:\n  workingDays: [Mon, Funday]\n", "rotation.workingDays[1]", "not a weekday"},
		{"unknown role in allow", validBase + "policy:\n  allow:\n    retest: [wizards]\n", "policy.allow.retest[0]", `unknown role "wizards"`},
		{"unknown triage mode", validBase + "triage:\n  secrets: all\n", "triage.secrets", `must be "read" or "shapes", not "all"`},
		{"unknown verb in allow", validBase + "policy:\n  allow:\n    deploy: [everyone]\n", "policy.allow.deploy", `unknown command "deploy"`},
		{"gitops without path", validBase + "promotion:\n  environments:\n    - {name: prod, strategy: gitops, repository: tektoncd/plumbing, pattern: 'v.*'}\n", "promotion.environments[0].path", "required"},
		{"metrics on the webhook listener", validBase + "server:\n  listen: \":8080\"\n  metricsAddr: \":8080\"\n", "server.metricsAddr", "leave it empty"},
		{"metrics address without port", validBase + "server:\n  metricsAddr: localhost\n", "server.metricsAddr", "host:port"},
		{"status page both public and tokened", validBase + "server:\n  statusPublic: true\n  statusToken: {env: HOME}\n", "server.statusPublic", "one or the other"},
		{"negative body cap", validBase + "server:\n  maxConcurrentBodies: -1\n", "server.maxConcurrentBodies", "must be positive"},
		{"not yaml", "clusters: [", "", "did not find expected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tt.body), KnownVerbs("retest"))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want *Errors, got %v", err)
			}
			for _, fe := range errs.List {
				if fe.Path == tt.wantPath && strings.Contains(fe.Msg, tt.wantMsg) {
					if tt.wantPath != "" && fe.Line == 0 {
						t.Errorf("%s: no line number", fe.Path)
					}
					return
				}
			}
			t.Errorf("no error at %q containing %q in:\n%v", tt.wantPath, tt.wantMsg, err)
		})
	}
}

func TestSecretValueNeverInErrorsOrStrings(t *testing.T) {
	t.Parallel()
	body := strings.Replace(validBase, "role: nightly", "role: bogus", 1)
	_, err := Load(writeConfig(t, body))
	if err == nil || strings.Contains(err.Error(), "s3cr3t-value") {
		t.Fatalf("error leaks or is missing: %v", err)
	}
	s := &Secret{File: "/etc/x"}
	if got := s.String(); got != "file /etc/x" {
		t.Errorf("String = %q", got)
	}
	if got := s.LogValue().String(); strings.Contains(got, "s3cr3t") {
		t.Errorf("LogValue leaks: %q", got)
	}
}
