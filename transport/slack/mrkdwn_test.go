package slack_test

import (
	"testing"

	"tekbot/bot"
	"tekbot/transport/slack"
)

func TestMrkdwn(t *testing.T) {
	t.Parallel()
	help := bot.NewRegistry(
		&bot.Spec{Verb: "help", Usage: "help", Summary: "list the commands you may run", Transports: []bot.Transport{bot.Slack}},
		&bot.Spec{Verb: "rerun", Usage: "rerun <pipelinerun|dashboard URL|PR URL> [on <cluster>]", Summary: "rerun a PipelineRun", Transports: []bot.Transport{bot.Slack}},
	).HelpTable(bot.Slack, "/tekton ", nil)
	tests := []struct {
		name, md, want string
	}{
		{"plain", "Nothing to rerun.", "Nothing to rerun."},
		{"link", "reran [run-abc](https://dashboard.example/#/namespaces/ci/pipelineruns/run-abc)", "reran <https://dashboard.example/#/namespaces/ci/pipelineruns/run-abc|run-abc>"},
		{"two links", "[a](https://x.dev/a) and [b](https://x.dev/b)", "<https://x.dev/a|a> and <https://x.dev/b|b>"},
		{"bold", "**nightly** is red", "*nightly* is red"},
		{"single stars are already Slack bold", "*dogfooding* (production): 3 pipelines", "*dogfooding* (production): 3 pipelines"},
		{"bullets", "Rerunning:\n- unit: failed\n- e2e: timed out", "Rerunning:\n• unit: failed\n• e2e: timed out"},
		{"escapes", "a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"},
		{"mentions kept", "The build captain is vincent (<@U0VINCENT>) in <#C0BUILDCOP|build-cop>.", "The build captain is vincent (<@U0VINCENT>) in <#C0BUILDCOP|build-cop>."},
		{"broadcasts are shown, not sent", "I don't know the command `<!channel>`.", "I don't know the command `&lt;!channel&gt;`."},
		{"user links are shown, not linked", "`<https://evil.example|dashboard>`", "`&lt;https://evil.example|dashboard&gt;`"},
		{"help table becomes a list", help, "• `/tekton help` — list the commands you may run\n• `/tekton rerun &lt;pipelinerun|dashboard URL|PR URL&gt; [on &lt;cluster&gt;]` — rerun a PipelineRun\n"},
		{"escaped pipe in a cell", "| a \\| b | c |", "• a | b — c"},
		{"table after text", "Commands:\n\n| command | what |\n|:---|---:|\n| `x` | does x |", "Commands:\n\n• `x` — does x"},
		{"empty", "", ""},
		{"quoted user text reads the same as on GitHub", "page: " + bot.UserText("<!channel> <@U0VINCENT> a&b [docs](https://evil.example)"),
			"page: &lt;!channel&gt; &lt;@\u2060U0VINCENT&gt; a&amp;b [docs]\u2060(https://evil.example)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := slack.Mrkdwn(tt.md); got != tt.want {
				t.Errorf("Mrkdwn(%q)\n got %q\nwant %q", tt.md, got, tt.want)
			}
		})
	}
}
