package triage

import (
	"fmt"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	t.Parallel()
	two := Excerpt{Run: "ci-1", Tasks: []TaskExcerpt{
		{Task: "unit", Step: "test", ExitCode: 1, Lines: []string{gap, "--- FAIL: TestA", "x.go:3: want <1> & @team [a](http://b)", "```"}},
		{Task: "lint", Condition: "TaskRun \"lint\" failed to finish within \"1m0s\""},
	}}
	for _, tc := range []struct {
		name   string
		render func(Excerpt, int) string
		want   []string
		absent []string
	}{
		{name: "markdown", render: Excerpt.Markdown,
			want: []string{"**`unit`**: step `test` exited 1\n<pre>\n…\n--- FAIL: TestA\n", "x.go:3: want &lt;1&gt; &amp; @\u2060team [a]\u2060(http://b)", "ˋˋˋ\n</pre>\n",
				"**`lint`**: `TaskRun \"lint\" failed to finish within \"1m0s\"`\n"},
			absent: []string{"<1>", "@team", "[a](", "```"}},
		{name: "mrkdwn", render: Excerpt.Mrkdwn,
			want:   []string{"*`unit`*: step `test` exited 1\n```\n…\n--- FAIL: TestA\n", "&lt;1&gt; &amp;", "ˋˋˋ\n```\n", "*`lint`*: `TaskRun"},
			absent: []string{"<1>", "@team", "[a]("}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.render(two, GitHubLimit)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("render =\n%s\nwant it to hold %q", got, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("render =\n%s\nholds %q", got, a)
				}
			}
		})
	}
}

func TestRenderIsBounded(t *testing.T) {
	t.Parallel()
	var many Excerpt
	for i := range 60 {
		var lines []string
		for j := range maxTaskLines {
			lines = append(lines, fmt.Sprintf("task %d line %d %s", i, j, strings.Repeat("x", 250)))
		}
		many.Tasks = append(many.Tasks, TaskExcerpt{Task: fmt.Sprintf("task-%d", i), Step: "s", ExitCode: 2, Lines: lines})
	}
	many.Truncated = true
	for _, tc := range []struct {
		name   string
		render func(Excerpt, int) string
		limit  int
		want   []string
	}{
		{name: "GitHub comment: every task, last lines kept", render: Excerpt.Markdown, limit: GitHubLimit,
			want: []string{"task-0", "task-59", fmt.Sprintf("task 0 line %d", maxTaskLines-1), "(some of the logs"}},
		{name: "Slack block: every task's heading, lines where they fit", render: Excerpt.Mrkdwn, limit: SlackBlockLimit,
			want: []string{"task-0", "task-59", "task 59 line 39"}},
		{name: "short: what fits, and how many did not", render: Excerpt.Mrkdwn, limit: 400,
			want: []string{"task-0", "more failed tasks"}},
		{name: "tiny", render: Excerpt.Mrkdwn, limit: 40, want: []string{"… and 60 more failed tasks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := tc.render(many, tc.limit)
			if len(got) > tc.limit {
				t.Errorf("rendered %d characters, limit %d", len(got), tc.limit)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("render (%d chars) does not hold %q:\n%s", len(got), w, got[max(0, len(got)-500):])
				}
			}
		})
	}
}
