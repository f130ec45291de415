package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
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
// what the registry generates for help, with the commands the example
// config declares.
func TestREADMECommandTables(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := handlers.NewRegistry(&handlers.Deps{Config: cfg})
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
	skipUnderShort(t)
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

// skipUnderShort steps the sandbox's tests aside under go test -short:
// like kube.Shared, they need real apiservers.
func skipUnderShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("the sandbox needs real apiservers: not run under -short")
	}
}

// session is `tekbot dev` running with a terminal a test types into: lines
// go in one at a time, and the test waits for what the sandbox prints
// (some of it later, from the stand-in Tekton controller and the
// promotion watch).
type session struct {
	t    *testing.T
	in   *io.PipeWriter
	out  *notifyingBuffer
	seen int // output before this offset has been matched
	done chan error
}

func startSandbox(t *testing.T, args ...string) *session {
	t.Helper()
	skipUnderShort(t)
	r, w := io.Pipe()
	s := &session{t: t, in: w, out: newNotifyingBuffer(), done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	var errOut bytes.Buffer
	go func() { s.done <- run(ctx, append([]string{"dev"}, args...), r, s.out, &errOut) }()
	t.Cleanup(func() {
		w.Close()
		select {
		case err := <-s.done:
			if err != nil {
				t.Errorf("tekbot dev: %v\n%s", err, errOut.String())
			}
		case <-time.After(time.Minute):
			t.Error("tekbot dev did not stop after its input ended")
		}
		cancel()
	})
	return s
}

func (s *session) send(line string) {
	s.t.Helper()
	if _, err := io.WriteString(s.in, line+"\n"); err != nil {
		s.t.Fatalf("typing %q: %v", line, err)
	}
}

// waitFor waits until the output after the last match matches pattern
// (a regular expression), and returns the match's submatches.
func (s *session) waitFor(pattern string) []string {
	s.t.Helper()
	return s.waitForAll(pattern)[0]
}

// waitForAll waits until the output after the last match matches every
// pattern, in any order (what the controller prints and what the command
// replies may interleave), and returns their submatches. The next match
// starts after the last of them.
func (s *session) waitForAll(patterns ...string) [][]string {
	s.t.Helper()
	res := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		res[i] = regexp.MustCompile(p)
	}
	deadline := time.After(90 * time.Second)
	for {
		text, changed := s.out.snapshot()
		var matches [][]string
		end := s.seen
		for _, re := range res {
			loc := re.FindStringSubmatchIndex(text[s.seen:])
			if loc == nil {
				break
			}
			matches = append(matches, re.FindStringSubmatch(text[s.seen:]))
			end = max(end, s.seen+loc[1])
		}
		if len(matches) == len(res) {
			s.seen = end
			return matches
		}
		select {
		case <-changed:
		case <-deadline:
			s.t.Fatalf("no %q in the sandbox's output after 90s; since the last match:\n%s", patterns[len(matches)], text[s.seen:])
		}
	}
}

// notifyingBuffer is output that a reader can wait on: each write closes
// the channel snapshot handed out.
type notifyingBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newNotifyingBuffer() *notifyingBuffer {
	return &notifyingBuffer{changed: make(chan struct{})}
}

func (b *notifyingBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	close(b.changed)
	b.changed = make(chan struct{})
	return b.buf.Write(p)
}

func (b *notifyingBuffer) snapshot() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String(), b.changed
}

// TestSandboxPromotesAndRollsBack drives a release manager through the
// promotion story: a nightly goes to dogfooding and the deploy run
// succeeds; a deploy that fails offers a Roll back button, which deploys
// the version that ran before.
func TestSandboxPromotesAndRollsBack(t *testing.T) {
	t.Parallel()
	s := startSandbox(t, "--data", t.TempDir(), "--run-time", "300ms")
	s.waitFor(`andrea> `)

	s.send("/tekton promote pipeline nightly to dogfooding")
	s.waitFor(`Promote pipeline to dogfooding: .*v20261123-a1b2c3d`)
	s.waitFor(`type yes to press "Promote" as andrea: `)
	s.send("yes")
	run := s.waitFor(`\[tekton on dogfooding\] tekton-deploy/(promote-pipeline-[a-z0-9]+): running`)[1]
	// The controller's line and tekbot's, both about the run's end, come
	// in either order.
	s.waitForAll(`\[tekton on dogfooding\] tekton-deploy/`+run+`: succeeded`,
		"✅ pipeline `v20261123-a1b2c3d` is on dogfooding")

	// The next deploy fails: tekbot offers to roll back to what ran.
	s.send("fail next")
	s.send("/tekton promote pipeline v20261122-a1b2c3d to dogfooding")
	s.waitFor(`type yes to press "Promote" as andrea: `)
	s.send("yes")
	failed := s.waitForAll(`\[tekton on dogfooding\] tekton-deploy/promote-pipeline-[a-z0-9]+: failed`,
		"❌ Promoting pipeline `v20261122-a1b2c3d` to dogfooding failed",
		`\[Roll back\] button: type `+"`"+`press (\d+)`+"`")
	button := failed[2][1]

	// sam may not roll back; andrea may, and the rollback deploy succeeds.
	s.send("as sam")
	s.send("press " + button)
	s.waitFor(`only andrea, vincent may press "Roll back"`)
	s.send("as andrea")
	s.send("press " + button)
	s.waitForAll(`andrea is promoting pipeline to dogfooding: `+"`v20261123-a1b2c3d`",
		`\[tekton on dogfooding\] tekton-deploy/promote-pipeline-[a-z0-9]+: succeeded`,
		"✅ pipeline `v20261123-a1b2c3d` is on dogfooding")
	s.send("quit")
}

// TestSandboxRetestFinishes: a /retest on the sample PR reruns its failed
// runs, and the stand-in controller runs them to the end.
func TestSandboxRetestFinishes(t *testing.T) {
	t.Parallel()
	s := startSandbox(t, "--data", t.TempDir(), "--run-time", "300ms")
	s.send("/retest")
	// unit-tests failed, e2e-tests timed out: both rerun, and finish.
	s.waitForAll(`Rerunning for 4f2b9c1`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-unit-tests-q9m4d-retry-1: running`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-unit-tests-q9m4d-retry-1: succeeded`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-e2e-tests-h3v8n-retry-1: running`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-e2e-tests-h3v8n-retry-1: succeeded`)
	s.send("runs")
	s.waitFor(`pipeline-pr-42-unit-tests-q9m4d-retry-1\s+succeeded\s+rerun of pipeline-pr-42-unit-tests-q9m4d by andrea`)
	s.send("quit")
}

// TestSandboxRendersSlackMarkup: replies and posts read as text, not
// Slack markup: bold is ANSI bold on a terminal and plain elsewhere, emoji
// names are glyphs.
func TestSandboxRendersSlackMarkup(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{People: []config.Person{{Name: "andrea", Slack: "U01ANDREA"}}}
	tests := []struct{ in, plain, onTerminal string }{
		{"<@U01ANDREA> is the build captain", "andrea is the build captain", ""},
		{"<@U0NOBODY|nobody> and <@U0UNKNOWN>", "nobody and @U0UNKNOWN", ""},
		{"<!here> the nightly failed", "@here the nightly failed", ""},
		{"see <https://x.dev/runs/a|run a> now", "see run a (https://x.dev/runs/a) now", ""},
		{"see <https://x.dev/runs/a>", "see https://x.dev/runs/a", ""},
		{"in <#C0CAPTAIN|captain>", "in #captain", ""},
		{"the run [`a`](http://localhost:9097/#/a) failed", "the run a (http://localhost:9097/#/a) failed", ""},
		{"usage: promote <project> &amp; more", "usage: promote <project> & more", ""},
		{":rotating_light: *pipeline* failed", "🚨 pipeline failed", "🚨 \x1b[1mpipeline\x1b[22m failed"},
		{"**/retest**\nRerunning", "/retest\nRerunning", "\x1b[1m/retest\x1b[22m\nRerunning"},
		{":large_green_circle: ok, :white_check_mark: :warning:", "🟢 ok, ✅ ⚠️", ""},
		{"at 10:30:00, :not_an_emoji_name: stays", "at 10:30:00, :not_an_emoji_name: stays", ""},
		{"2*3*4 and a * b * c are not bold", "2*3*4 and a * b * c are not bold", ""},
	}
	for _, tt := range tests {
		for _, bold := range []bool{false, true} {
			want := tt.plain
			if bold && tt.onTerminal != "" {
				want = tt.onTerminal
			}
			term := &terminal{cfg: cfg, bold: bold}
			if got := term.render(tt.in); got != want {
				t.Errorf("render(%q), bold %v = %q, want %q", tt.in, bold, got, want)
			}
		}
	}
}
