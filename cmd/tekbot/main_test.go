package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"tekbot/bot"
	"tekbot/handlers"
	"tekbot/test/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// runCLI runs tekbot with args and stdin, returning its outputs and exit code.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	var exit exitCode
	switch {
	case errors.As(err, &exit):
		code = int(exit)
	case err != nil:
		errOut.WriteString(err.Error())
		code = 1
	}
	return out.String(), errOut.String(), code
}

func TestConfigCheckExample(t *testing.T) {
	t.Parallel()
	out, errOut, code := runCLI(t, "", "config", "check", "-f", filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"OK", "nightly", "dogfooding", "tektoncd/pipeline", "socket mode", "promote"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "example-github-token") {
		t.Error("config check printed a secret's value")
	}
}

func TestConfigCheckNamesEveryPlantedError(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// Three planted errors: an unknown key, an unknown cluster reference and
	// a missing secret file.
	body := strings.NewReplacer(
		"    context: nightly\n", "    context: nightly\n    colour: blue\n",
		"      cluster: dogfooding\n      namespace: tekton-ci\n      # Defaults", "      cluster: prd\n      namespace: tekton-ci\n      # Defaults",
		"secrets/github-token", "secrets/no-such-token",
	).Replace(string(example))
	for _, rel := range []string{"kubeconfig", "secrets"} {
		if err := os.Symlink(filepath.Join(mustAbs(t, "../../config/example"), rel), filepath.Join(dir, rel)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "tekbot.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCLI(t, "", "config", "check", "-f", path)
	if code == 0 {
		t.Fatal("config check passed a broken config")
	}
	for _, want := range []string{"clusters[0].colour", "github.repositories[0].cluster", `unknown cluster "prd"`, "github.token", "no-such-token", "3 problem(s)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("errors lack %q:\n%s", want, errOut)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"parse"}, "Flaky.\n/retest unit-tests\n> /cancel\n/test all\n/lgtm\n", `[{"verb":"retest","args":["unit-tests"]},{"verb":"test","args":["all"]}]`},
		{[]string{"parse"}, "nothing here", `[]`},
		{[]string{"parse", "--source", "slack"}, "rerun <https://x.dev/#/namespaces/ci/pipelineruns/a|a> on prod", `[{"verb":"rerun","args":["https://x.dev/#/namespaces/ci/pipelineruns/a","on","prod"]}]`},
		{[]string{"parse", "--source", "slack"}, "", `[]`},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, tt.stdin, tt.args...)
		if code != 0 || strings.TrimSpace(out) != tt.want {
			t.Errorf("%v <<%q: got %q (exit %d, %s), want %s", tt.args, tt.stdin, out, code, errOut, tt.want)
		}
		var v []bot.Command
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Errorf("not JSON: %v", err)
		}
	}
	if _, _, code := runCLI(t, "", "parse", "--source", "irc"); code != 2 {
		t.Errorf("bad --source: exit %d, want 2", code)
	}
}

// TestScheduleReproducesTektonsRotation runs the migration mode with the
// inputs behind Tekton's published rotation.csv: the output is that file.
func TestScheduleReproducesTektonsRotation(t *testing.T) {
	t.Parallel()
	want, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "tekton-rotation.csv"))
	if err != nil {
		t.Fatalf("the real fixture is needed (shared/ beside the repo): %v", err)
	}
	overrides := filepath.Join(t.TempDir(), "overrides.csv")
	if err := os.WriteFile(overrides, []byte("date,user,comment\n2022-04-29,dibyo,swap\n2022-05-02,andrea.frittoli,swap\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "schedule", "-names", "andrea.frittoli,dibyo,nikthoma,sashture,jerop,vdemeest",
		"-start-date", "2022-04-29", "-start-name", "andrea.frittoli", "-days", "365", "-overrides", overrides)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out != string(want) {
		t.Errorf("output differs from tekton-rotation.csv (%d vs %d bytes)", len(out), len(want))
	}
	if _, errOut, code := runCLI(t, "", "schedule", "-names", "a,b", "-start-date", "2022-04-29", "-overrides", writeFile(t, "2022-05-02,zed\n")); code == 0 || !strings.Contains(errOut, "zed") {
		t.Errorf("an override naming someone not in -names must fail: exit %d %s", code, errOut)
	}
}

func TestScheduleFromConfig(t *testing.T) {
	t.Parallel()
	out, errOut, code := runCLI(t, "", "schedule", "-f", filepath.Join("..", "..", "config", "example", "tekbot.yaml"), "--from", "2026-12-24", "--days", "4", "--csv")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// 2026-11-02 (Mon) is andrea's; Thu 12-24 is the 39th duty day, index
	// 38, and 38 mod 4 names jerop; 12-25 is a holiday; the weekend is blank.
	want := "Date,User\n2026-12-24,jerop\n2026-12-25,\n2026-12-26,\n2026-12-27,\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestREADMECommandTables keeps the README's command tables identical to
// what the registry generates for help.
func TestREADMECommandTables(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	reg := handlers.NewRegistry(&handlers.Deps{})
	for _, table := range []string{reg.HelpTable(bot.GitHub, "/", nil), reg.HelpTable(bot.Slack, "/tekton ", nil)} {
		if !strings.Contains(string(readme), table) {
			t.Errorf("README.md lacks this table (regenerate it from the registry):\n%s", table)
		}
	}
}

func TestUsage(t *testing.T) {
	t.Parallel()
	out, _, code := runCLI(t, "", "--help")
	if code != 0 || !strings.Contains(out, "tekbot dev") || !strings.Contains(out, "config check") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
	if _, errOut, code := runCLI(t, "", "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d %s", code, errOut)
	}
}

// TestDevSandbox drives `tekbot dev` as a user would: help, a /retest on the
// sample PR, the resulting objects; then a second start keeps that state.
func TestDevSandbox(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	script := "/tekton help\n/retest\nruns\n/tekton captain\nas sam\n/tekton rerun pipeline-pr-42-build-x7k2p\nquit\n"
	out, errOut, code := runCLI(t, script, "dev", "--data", data)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"Type as you would in Slack",         // how to use it
		"tekbot commands:",                   // help
		"Rerunning for 4f2b9c1",              // /retest on PR 42
		"rerun of pipeline-pr-42-unit-tests", // the new object, by `runs`
		"The build captain is",               // captain
		"you may not run `rerun`",            // sam is no maintainer
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sandbox output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "ready in") {
		t.Errorf("no start-up progress on stderr: %s", errOut)
	}

	out, errOut, code = runCLI(t, "runs\n", "dev", "--data", data)
	if code != 0 {
		t.Fatalf("second start: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "rerun of pipeline-pr-42-unit-tests") {
		t.Errorf("second start lost the sandbox's state:\n%s", out)
	}
}
