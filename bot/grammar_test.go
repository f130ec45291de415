package bot

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func testRegistry() *Registry {
	spec := func(verb string, t ...Transport) *Spec { return &Spec{Verb: verb, Usage: verb, Transports: t} }
	list := func(s *Spec) *Spec { s.ListArgs = true; return s }
	retest := list(spec("retest", GitHub))
	retest.Elsewhere = map[Transport]string{Slack: "rerun <PR URL>"}
	return NewRegistry(
		&Spec{Verb: "help", Usage: "help", Transports: []Transport{GitHub, Slack}, Prefixed: true},
		retest,
		list(spec("test", GitHub)),
		spec("cancel", GitHub),
		spec("ok-to-test", GitHub),
		spec("page", GitHub, Slack),
		spec("rerun", Slack),
		spec("status", Slack),
		&Spec{Verb: "captain", Aliases: []string{"who"}, Usage: "captain", Transports: []Transport{Slack}},
	)
}

func cmd(verb string, args ...string) Command {
	if args == nil {
		args = []string{}
	}
	return Command{Verb: verb, Args: args}
}

func TestParseComment(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	tests := []struct {
		name string
		body string
		want []Command
	}{
		{"bare retest", "/retest", []Command{cmd("retest")}},
		{"retest with name", "/retest unit-tests", []Command{cmd("retest", "unit-tests")}},
		{"test with name", "/test e2e", []Command{cmd("test", "e2e")}},
		{"test all", "/test all", []Command{cmd("test", "all")}},
		{"bare test", "/test", []Command{cmd("test")}},
		{"cancel", "/cancel", []Command{cmd("cancel")}},
		{"cancel name", "/cancel build", []Command{cmd("cancel", "build")}},
		{"ok-to-test", "/ok-to-test", []Command{cmd("ok-to-test")}},
		{"page with reason", "/page nightly is red", []Command{cmd("page", "nightly", "is", "red")}},
		{"tekbot help", "/tekbot help", []Command{cmd("help")}},
		{"bare tekbot", "/tekbot", []Command{cmd("help")}},
		{"bare help belongs to Prow", "/help", []Command{}},
		{"tekbot prefix on another verb", "/tekbot retest", []Command{cmd("retest")}},
		{"empty", "", []Command{}},
		{"only text", "LGTM, thanks!", []Command{}},
		{"leading spaces", "   /retest", []Command{cmd("retest")}},
		{"four spaces is code", "    /retest", []Command{}},
		{"tab is code", "\t/retest", []Command{}},
		{"trailing spaces", "/retest   ", []Command{cmd("retest")}},
		{"CRLF", "/retest\r\n/test e2e\r\n", []Command{cmd("retest"), cmd("test", "e2e")}},
		{"upper case verb", "/RETEST", []Command{cmd("retest")}},
		{"mixed case verb keeps arg case", "/Test Unit-Tests", []Command{cmd("test", "Unit-Tests")}},
		{"several commands", "/retest\n/cancel build\n/ok-to-test", []Command{cmd("retest"), cmd("cancel", "build"), cmd("ok-to-test")}},
		{"duplicate counts once", "/retest\n/retest", []Command{cmd("retest")}},
		{"same verb other args both count", "/test a\n/test b", []Command{cmd("test", "a"), cmd("test", "b")}},
		{"text around", "Flaky again.\n/retest\nThanks", []Command{cmd("retest")}},
		{"mid-sentence mention", "please /retest this", []Command{}},
		{"mention in backticks", "you can type `/retest` to rerun", []Command{}},
		{"quoted", "> /retest", []Command{}},
		{"quoted with space", ">/retest", []Command{}},
		{"nested quote", "> > /retest", []Command{}},
		{"reply quoting a command then a command", "> /retest\n\n/test e2e", []Command{cmd("test", "e2e")}},
		{"code fence", "```\n/retest\n```", []Command{}},
		{"code fence with language", "```sh\n/retest\n```\n/cancel", []Command{cmd("cancel")}},
		{"tilde fence", "~~~\n/retest\n~~~", []Command{}},
		{"longer fence needs longer close", "````\n```\n/retest\n````\n/test", []Command{cmd("test")}},
		{"unclosed fence swallows rest", "```\n/retest", []Command{}},
		{"unknown verb ignored", "/lgtm", []Command{}},
		{"unknown verbs ignored among ours", "/lgtm\n/approve\n/retest", []Command{cmd("retest")}},
		{"slash only", "/", []Command{}},
		{"slash then space", "/ retest", []Command{}},
		{"punctuation glued to verb", "/retest.", []Command{}},
		{"path is not a command", "/usr/bin/env", []Command{}},
		{"zero-width space in verb", "/re\u200btest", []Command{}},
		{"right-to-left override in verb", "/\u202eretest", []Command{}},
		{"cyrillic look-alike", "/r\u0435test", []Command{}},
		{"NUL in verb", "/retest\x00", []Command{}},
		{"non-breaking space separates args", "/test\u00a0e2e", []Command{cmd("test", "e2e")}},
		{"slack-only verb is not a comment command", "/rerun foo", []Command{}},
		{"trailing text is args", "/retest please", []Command{cmd("retest", "please")}},
		{"html comment line", "<!-- /retest -->", []Command{}},
		{"comma and space separated names", "/test a, b", []Command{cmd("test", "a", "b")}},
		{"comma separated names", "/test a,b,,c", []Command{cmd("test", "a", "b", "c")}},
		{"lone comma", "/retest ,", []Command{cmd("retest")}},
		{"key=value keeps its commas", "/test unit tags=a,b", []Command{cmd("test", "unit", "tags=a,b")}},
		{"other verbs keep commas", "/page nightly is red, again", []Command{cmd("page", "nightly", "is", "red,", "again")}},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ignored := r.ParseComment(tt.body)
			if ignored != 0 {
				t.Errorf("ParseComment(%q) ignored %d", tt.body, ignored)
			}
			if !slices.EqualFunc(got, tt.want, Command.equal) {
				t.Errorf("ParseComment(%q) = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestParseCommentRunsAtMostTen(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	lines := func(n int, format string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, format+"\n", i)
		}
		return b.String()
	}
	tests := []struct {
		name        string
		body        string
		cmds, extra int
	}{
		{"ten", lines(10, "/retest x%04d"), 10, 0},
		{"eleven", lines(11, "/retest x%04d"), 10, 1},
		{"4,500 in 62 KB", lines(4500, "/retest x%04d"), 10, 4490},
		{"repeats count once", lines(12, "/retest x%d") + lines(12, "/retest x%d"), 10, 2},
		{"other bots' commands are not counted", lines(10, "/retest x%d") + lines(50, "/lgtm %d"), 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cmds, ignored := r.ParseComment(tt.body)
			if len(cmds) != tt.cmds || ignored != tt.extra {
				t.Errorf("%d commands, %d ignored; want %d, %d", len(cmds), ignored, tt.cmds, tt.extra)
			}
		})
	}
	// On a closed PR only the commands that run on merged PRs count: ten
	// others before a /cherry-pick do not crowd it out.
	closed := NewRegistry(&Spec{Verb: "retest", Usage: "retest", Transports: []Transport{GitHub}, ListArgs: true},
		&Spec{Verb: "cherry-pick", Usage: "cherry-pick", Transports: []Transport{GitHub}, OnMerged: true})
	cmds, ignored := closed.ParseClosedComment(lines(10, "/retest x%d") + "/cherry-pick release-v1.2.x\n")
	if want := []Command{cmd("cherry-pick", "release-v1.2.x")}; !slices.EqualFunc(cmds, want, Command.equal) || ignored != 0 {
		t.Errorf("ParseClosedComment = %v, %d ignored; want %v, 0", cmds, ignored, want)
	}
}

func TestParseSlack(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	tests := []struct {
		text   string
		want   Command
		wantOK bool
	}{
		{"rerun nightly-abc on nightly", cmd("rerun", "nightly-abc", "on", "nightly"), true},
		{"  HELP ", cmd("help"), true},
		{"<@U0BOT> status pipeline", cmd("status", "pipeline"), true},
		{"<@U0BOT|tekbot> rerun x", cmd("rerun", "x"), true},
		{"rerun <https://dashboard.example/#/namespaces/ci/pipelineruns/x|x>", cmd("rerun", "https://dashboard.example/#/namespaces/ci/pipelineruns/x"), true},
		{"rerun <https://github.com/tektoncd/pipeline/pull/42>", cmd("rerun", "https://github.com/tektoncd/pipeline/pull/42"), true},
		{"captain swap <@U0ANA|ana> 2026-12-01", cmd("captain", "swap", "<@U0ANA>", "2026-12-01"), true},
		{"who", cmd("captain"), true},
		{"who is the build captain ?", cmd("captain"), true},
		{"<@U0BOT> Who is the build captain?", cmd("captain"), true},
		{"deploy everything", cmd("deploy", "everything"), true},
		{"/retest", cmd("retest"), true},
		{"", Command{}, false},
		{"<@U0BOT>", Command{}, false},
	}
	for _, tt := range tests {
		got, ok := r.ParseSlack(tt.text)
		if ok != tt.wantOK || (ok && !got.equal(tt.want)) {
			t.Errorf("ParseSlack(%q) = %v, %v; want %v, %v", tt.text, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestClosest(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	for in, want := range map[string]string{
		"rerunn": "rerun", "staus": "status", "captian": "captain", "hlep": "help", "xyzzy": "",
		// Another transport's verb is suggested too: it says where it lives.
		"retset": "retest", "tset": "test",
	} {
		got := r.Closest(in, Slack)
		if (got == nil && want != "") || (got != nil && got.Verb != want) {
			t.Errorf("Closest(%q) = %v, want %q", in, got, want)
		}
	}
	// At the same distance the caller's own transport wins.
	tie := NewRegistry(&Spec{Verb: "abcd", Transports: []Transport{GitHub}}, &Spec{Verb: "abce", Transports: []Transport{Slack}})
	for on, want := range map[Transport]string{GitHub: "abcd", Slack: "abce"} {
		if got := tie.Closest("abcf", on); got == nil || got.Verb != want {
			t.Errorf("Closest(abcf, %s) = %v, want %s", on, got, want)
		}
	}
}

func TestHint(t *testing.T) {
	t.Parallel()
	r := testRegistry()
	tests := []struct {
		verb string
		on   Transport
		want string
	}{
		{"retest", Slack, "`retest` is a GitHub command: on GitHub, comment `/retest`; here, `/tekton rerun <PR URL>`"},
		{"rerun", GitHub, "`rerun` is a Slack command: on Slack, type `/tekton rerun`; it is not offered on GitHub"},
		{"status", Slack, "`status` ()"},
	}
	for _, tt := range tests {
		if got := r.Lookup(tt.verb).Hint(tt.on); got != tt.want {
			t.Errorf("Hint(%s, %s) = %q, want %q", tt.verb, tt.on, got, tt.want)
		}
	}
}

func FuzzParseComment(f *testing.F) {
	for _, s := range []string{"/retest", "```\n/retest\n```", "> /test a", "/tekbot help", "/test\u00a0e2e\r\n/cancel"} {
		f.Add(s)
	}
	r := testRegistry()
	f.Fuzz(func(t *testing.T, body string) {
		cmds, _ := r.ParseComment(body)
		if len(cmds) > MaxCommentCommands {
			t.Fatalf("%d commands from %q", len(cmds), body)
		}
		for _, c := range cmds {
			if r.Lookup(c.Verb) == nil || !verbRE.MatchString(c.Verb) {
				t.Fatalf("unregistered verb %q from %q", c.Verb, body)
			}
			for _, a := range c.Args {
				if a == "" || strings.ContainsAny(a, " \t\r\n") || (utf8.ValidString(body) && !utf8.ValidString(a)) {
					t.Fatalf("bad arg %q from %q", a, body)
				}
			}
		}
	})
}

func FuzzParseSlack(f *testing.F) {
	for _, s := range []string{"rerun x on prod", "<@U1|a> who is the build captain ?", "<https://x|y>", "captain swap <@U1|a>"} {
		f.Add(s)
	}
	r := testRegistry()
	f.Fuzz(func(t *testing.T, text string) {
		c, ok := r.ParseSlack(text)
		if ok && c.Verb == "" {
			t.Fatalf("empty verb from %q", text)
		}
	})
}
