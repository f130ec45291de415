package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"tekbot/bot"
	"tekbot/handlers"
)

// readmeStep is a line typed into `tekbot dev` and the answer the README
// documents for it: patterns, found in any order in what follows.
type readmeStep struct {
	typed string
	want  []string
}

// readmeStory is the README's sandbox walk-through, line by line (the
// README shows the lines that are not a confirmation's "yes"), then the
// other examples the README gives: its commands tables, row by row, and
// the examples in its prose. A new verb or a new example in the
// walk-through fails TestSandboxDoesWhatTheREADMEShows until it has a step
// here.
var readmeStory = []readmeStep{
	// ## The sandbox: `tekbot dev`
	{"/tekton status", []string{`nightly \(nightly, tekton-nightly\): 4 pipelines, 1 failing\n  • triggers-release: triggers-release-nightly-20261123 .*\(failed\)`}},
	{"/retest", []string{`Rerunning for 4f2b9c1:`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-unit-tests-q9m4d-retry-1: succeeded`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-e2e-tests-h3v8n-retry-1: succeeded`}},
	{"as sam", nil},
	{"/retest", []string{"@sam-contributor\n  \n  Sorry, you may not run `retest`. Who may: .*the author of a trusted PR \\(after a maintainer's /ok-to-test\\)"}},
	{"as andrea", nil},
	{"/ok-to-test", []string{"Commit 4f2b9c1 is approved: the PR's author may run `/retest` and `/test` on it.",
		`integration: started pipeline-pr-42-integration-z5r1c`,
		// Each run ends before the next line, so that none is left running
		// to take the `fail next` below.
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-integration-z5r1c: succeeded`}},
	{"/tekton rerun pipeline-pr-42-build-x7k2p", []string{"`pipeline-pr-42-build-x7k2p` is on the production cluster dogfooding. Rerun it\\?",
		`type yes to press "Rerun" as andrea: `}},
	{"yes", []string{`andrea reran dogfooding/tekton-ci/pipeline-pr-42-build-x7k2p \(was succeeded\): pipeline-pr-42-build-x7k2p-retry-1`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-build-x7k2p-retry-1: succeeded`}},
	{"runs", []string{`pipeline-pr-42-build-x7k2p-retry-1\s+succeeded\s+rerun of pipeline-pr-42-build-x7k2p by andrea`}},
	{"/hold waiting on #12", []string{`This PR is held: held by @afrittoli on .*, because: waiting on #12`}},
	{"label lgtm", nil},
	{"pr", []string{`labels: .*do-not-merge/hold, lgtm`, `check tekbot/hold on 4f2b9c1: action_required, Held by @afrittoli`}},
	{"/unhold", []string{"The hold is lifted."}},
	{"/tekton promote pipeline nightly to dogfooding", []string{`type yes to press "Promote" as andrea: `}},
	{"yes", []string{`\[slack #releases, thread-1\]\n  🚀 andrea promotes pipeline to dogfooding`,
		"\\[slack #releases, thread-1\\]\n  ✅ pipeline `v20261123-a1b2c3d` is on dogfooding"}},
	{"fail next", []string{"The next PipelineRun to end will fail."}},
	{"/tekton promote pipeline v20261122-a1b2c3d to dogfooding", []string{`type yes to press "Promote" as andrea: `}},
	{"yes", []string{"\\[slack #releases, thread-2\\]\n  ❌ Promoting pipeline `v20261122-a1b2c3d` to dogfooding failed",
		"\\[Roll back\\] button: type `press 1` to press it \\(who may: andrea, vincent\\)"}},
	{"press 1", []string{"andrea is promoting pipeline to dogfooding: .* → `v20261123-a1b2c3d`",
		"\\[slack #releases, thread-2\\]\n  ✅ pipeline `v20261123-a1b2c3d` is on dogfooding"}},
	// A button acts once: the intake took its key.
	{"press 1", []string{"Already done: tekbot takes each request once."}},
	// Why it failed: the rerun fails with a Go test's log, and /why on
	// the PR and in Slack show its excerpt and its verdict (unit-tests
	// failed, passed and failed on 4f2b9c1: flaky).
	{"fail next", []string{"The next PipelineRun to end will fail."}},
	{"/test unit-tests", []string{`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-unit-tests-q9m4d-retry-2: failed`}},
	{"/why", []string{"`unit-tests` .*pipeline-pr-42-unit-tests-q9m4d-retry-2.* failed: flaky \\(once in 14 days\\)",
		"promote_test.go:42: version = v0.62.1, want v0.63.0", "--- FAIL: TestPromoteNightly"}},
	{"/tekton why pipeline-pr-42-unit-tests-q9m4d-retry-2", []string{"failed: flaky \\(once in 14 days\\)",
		"```[^`]*promote_test.go:42: version = v0.62.1, want v0.63.0"}},

	// The captain's live duties: a repeated failure edits its line, and
	// the promotion shows as drift from what the cluster reports.
	{"fail next", nil},
	{"/tekton rerun triggers-release-nightly-20261123", []string{`andrea reran nightly/tekton-nightly/triggers-release-nightly-20261123 \(was failed\)`,
		`\[tekton on nightly\] tekton-nightly/triggers-release-nightly-20261123-retry-1: failed`,
		"\\[slack #captain, thread-\\d+ edited\\]\n  \\w+ 🔴 nightly `triggers-release` failed 2 times today",
		// The excerpt folds into the alerts thread under the line.
		"\\[slack #captain, in thread-\\d+\\]\n  Why `triggers-release-nightly-20261123-retry-1` failed:\n  `tests`: step `go-test` exited 1\n  ```[^`]*promote_test.go:42"}},
	{"/tekton promotions", []string{`What runs where\n  • pipeline on dogfooding: .*⚠️ drift: `}},

	// ## Commands: the GitHub table, row by row.
	{"/tekbot help", []string{"tekbot commands:", "\\| `/cherry-pick <release-branch>` \\|"}},
	{"/test unit-tests goVersion=1.23", []string{`unit-tests: pipeline-pr-42-unit-tests-q9m4d-retry-\d+`,
		`\[tekton on dogfooding\] tekton-ci/pipeline-pr-42-unit-tests-q9m4d-retry-\d+: running`}},
	{"/cancel", []string{`unit-tests: cancelled pipeline-pr-42-unit-tests-q9m4d-retry-\d+`}},
	{"/test unit-tests goVersion=abc", []string{"Nothing was rerun: goVersion=abc: the value of goVersion must match `1\\\\.\\\\d\\+`"}},
	{"/page the nightly is red", []string{`Paged the build captain \(\w+\), page \w+: the nightly is red`, `\[slack DM to \w+, with an Ack button for page \w+\]`}},
	// ### Declared commands
	{"/cherry-pick main", []string{"main is not a valid release-branch: it must match `release-v\\\\d\\+\\\\.\\\\d\\+\\\\.x`"}},
	{"/cherry-pick release-v1.2.x", []string{"Queued: `/cherry-pick release-v1.2.x` will run when this PR merges, on its merge commit."}},

	// ## Commands: the Slack table, row by row.
	{"/tekton help", []string{"tekbot commands:", "• `/tekton nightly <project>` — start a project's nightly release now"}},
	{"/tekton captain next 3", []string{`(?m)^  • \w{3} \d{4}-\d{2}-\d{2}: \w+ \(\w+\)$`}},
	{"/tekton page ack", []string{`andrea acked page \w+ \(the nightly is red\)\.`}},
	{"/tekton nightly triggers", []string{"andrea started `/tekton nightly triggers` \\(Pipeline triggers-release\\) on cluster nightly: "}},
	{"@tekbot who is the build captain ?", []string{`The build captain is \w+`}},
	{"/tekton retset", []string{"`retest` is a GitHub command: on GitHub, comment `/retest`; here, `/tekton rerun <PR URL>`"}},
	{"quit", nil},
}

// TestSandboxDoesWhatTheREADMEShows types the README's examples into
// `tekbot dev` and checks each documented answer: the walk-through of the
// sandbox (the lines typed, and the lines it shows the sandbox printing),
// every row of the commands tables, and the examples of the prose.
func TestSandboxDoesWhatTheREADMEShows(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	typed, shown := sandboxWalkThrough(t, string(readme))
	checkStoryCoversREADME(t, typed)

	s := startSandbox(t, "--data", t.TempDir())
	s.waitFor(`andrea> `)
	for _, step := range readmeStory {
		s.send(step.typed)
		if len(step.want) > 0 {
			s.waitForAll(step.want...)
		}
	}
	// What the walk-through shows the sandbox print, in its order.
	out, _ := s.out.snapshot()
	at := 0
	for _, line := range shown {
		loc := shownPattern(line).FindStringIndex(out[at:])
		if loc == nil {
			t.Errorf("the README shows the sandbox printing %q, but it did not (after offset %d):\n%s", line, at, out[at:])
			break
		}
		at += loc[1]
	}
}

// sandboxWalkThrough returns the README sandbox section's example: the
// lines typed at a prompt ("sam> /retest", without the comment) and the
// lines it shows the sandbox printing.
func sandboxWalkThrough(t *testing.T, readme string) (typed, shown []string) {
	t.Helper()
	_, section, ok := strings.Cut(readme, "## The sandbox: `tekbot dev`")
	section, _, _ = strings.Cut(section, "\n## ")
	_, block, ok2 := strings.Cut(section, "```\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no example in its section on the sandbox")
	}
	prompt := regexp.MustCompile(`^(\w+)> (.*)$`)
	for line := range strings.Lines(block) {
		line = strings.TrimRight(line, "\n")
		text, _, _ := strings.Cut(line, "  #") // the README's comment
		text = strings.TrimRight(text, " ")
		if m := prompt.FindStringSubmatch(text); m != nil {
			typed = append(typed, m[1]+"> "+m[2])
		} else {
			shown = append(shown, strings.TrimSpace(text))
		}
	}
	return typed, shown
}

// checkStoryCoversREADME fails unless the walk-through's lines are the
// story's, in order and as the same person, and every verb of the
// commands tables is typed on each transport it is offered on.
func checkStoryCoversREADME(t *testing.T, typed []string) {
	t.Helper()
	cfg, err := loadConfig(filepath.Join("..", "..", "config", "example", "tekbot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	reg := handlers.NewRegistry(&handlers.Deps{Config: cfg})
	person, next := "andrea", 0
	tried := map[bot.Transport]map[string]bool{bot.GitHub: {}, bot.Slack: {}}
	for _, step := range readmeStory {
		if next < len(typed) && typed[next] == person+"> "+step.typed {
			next++
		}
		switch {
		case strings.HasPrefix(step.typed, "as "):
			person = strings.TrimPrefix(step.typed, "as ")
		case strings.HasPrefix(step.typed, "/tekton "):
			if cmd, ok := reg.ParseSlack(strings.TrimPrefix(step.typed, "/tekton ")); ok {
				tried[bot.Slack][cmd.Verb] = true
			}
		case strings.HasPrefix(step.typed, "/"):
			cmds, _ := reg.ParseComment(step.typed)
			for _, c := range cmds {
				tried[bot.GitHub][c.Verb] = true
			}
		}
	}
	if next < len(typed) {
		t.Errorf("the README's sandbox example types %q, which the story does not (in that order)", typed[next])
	}
	for _, s := range reg.Specs() {
		for _, tr := range s.Transports {
			if !tried[tr][s.Verb] {
				t.Errorf("the commands table's %s row of %s is not tried in the sandbox", s.Verb, tr.Title())
			}
		}
	}
}

// shownPattern matches a line the README shows the sandbox printing: "…"
// stands for anything, and a post's header ("[slack #releases,
// thread-1]") is on its own line above the post's text.
func shownPattern(line string) *regexp.Regexp {
	parts := strings.Split(line, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	pattern := strings.Join(parts, "(?s:.*?)")
	pattern = strings.ReplaceAll(pattern, `\]  `, `\]\n\s*`)
	return regexp.MustCompile(pattern)
}
