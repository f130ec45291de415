// Package triage says why a PipelineRun failed: for each failed TaskRun,
// the step that failed and the lines of its log that explain it, with
// every Secret the run could read and every credential-shaped string
// redacted, bounded to fit a GitHub comment or a Slack message. It reads
// through two ports declared here (LogSource, SecretSource), which the
// tekton adapter implements; it holds no client.
package triage

import (
	"fmt"
	"strings"

	"tekbot/bot"
)

// Limits of what one message can hold.
const (
	// GitHubLimit is the most characters a GitHub comment may have.
	GitHubLimit = 65536
	// SlackBlockLimit is the most characters of a Slack section block's
	// text; a message holds up to 50 blocks.
	SlackBlockLimit = 3000
)

// Excerpt is why one PipelineRun failed.
type Excerpt struct {
	// Run is the PipelineRun's name.
	Run string
	// Tasks are its failed TaskRuns, in the order the run lists them. A
	// run that failed before any TaskRun existed has one, with no Task,
	// holding the run's own condition.
	Tasks []TaskExcerpt
	// Truncated is true when something was left out while reading: a
	// log longer than what is read of it, logs withheld because a Secret
	// could not be checked, or a TaskRun that could not be read.
	Truncated bool
}

// TaskExcerpt is one failed TaskRun.
type TaskExcerpt struct {
	// Task is the pipeline task's name; Step the failed step's, "" when
	// no step ran (validation, timeout, image pull, pod creation).
	Task, Step string
	// ExitCode is the failed step's.
	ExitCode int32
	// Lines are the picked lines of the step's log, redacted and in
	// order, "…" where lines are left out. They are raw: Markdown and
	// Mrkdwn escape them.
	Lines []string
	// Condition is the TaskRun's condition message (redacted).
	Condition string
}

// Markdown renders e for a GitHub comment of at most limit characters,
// each log in a <pre> block: GitHub neither links nor mentions inside
// one, and the bot's escaper (bot.Code) makes its text inert.
func (e Excerpt) Markdown(limit int) string {
	return e.render(limit, markup{bold: "**", open: "<pre>", close: "</pre>"})
}

// Mrkdwn renders e for Slack, at most limit characters (SlackBlockLimit
// for one section block), each log in a ``` block.
func (e Excerpt) Mrkdwn(limit int) string {
	return e.render(limit, markup{bold: "*", open: "```", close: "```"})
}

// markup is what differs between GitHub's Markdown and Slack's mrkdwn.
type markup struct{ bold, open, close string }

func (e Excerpt) render(limit int, m markup) string {
	var b strings.Builder
	for i, t := range e.Tasks {
		more := ""
		if rest := len(e.Tasks) - i - 1; rest > 0 {
			more = fmt.Sprintf("… and %d more failed tasks\n", rest)
		}
		// Each task's lines get an equal share of what is left, keeping
		// room to say how many tasks did not fit; its heading may use
		// all the room.
		room := limit - b.Len() - len(more)
		block, ok := t.render(room/(len(e.Tasks)-i), room, m)
		if !ok {
			if notShown := fmt.Sprintf("… and %d more failed tasks\n", len(e.Tasks)-i); b.Len()+len(notShown) <= limit {
				b.WriteString(notShown)
			}
			break
		}
		b.WriteString(block)
	}
	if e.Truncated {
		const note = "(some of the logs were not read or not shown)\n"
		if b.Len()+len(note) <= limit {
			b.WriteString(note)
		}
	}
	return b.String()
}

// render writes one task: its heading if it fits in room (ok is false if
// not), and as many of its last lines as fit in share.
func (t TaskExcerpt) render(share, room int, m markup) (string, bool) {
	name := t.Task
	if name == "" {
		name = "the run"
	}
	head := m.bold + bot.Code(name) + m.bold
	switch {
	case t.Step != "":
		head += fmt.Sprintf(": step %s exited %d", bot.Code(t.Step), t.ExitCode)
		if len(t.Lines) == 0 && t.Condition != "" {
			head += " — " + bot.Code(t.Condition)
		}
	case t.Condition != "":
		head += ": " + bot.Code(t.Condition)
	}
	head += "\n"
	if len(head) > room {
		return "", false
	}
	lines := make([]string, len(t.Lines))
	for i, l := range t.Lines {
		lines[i] = inert(l)
	}
	// A block of "…" alone says nothing: then the heading is all.
	for len(lines) > 0 && (len(lines) > 1 || lines[0] != gap) {
		body := m.open + "\n" + strings.Join(lines, "\n") + "\n" + m.close + "\n"
		if len(head)+len(body) <= min(share, room) {
			return head + body, true
		}
		// The last lines are kept: a log ends with what stopped it.
		lines = lines[1:]
		if len(lines) > 0 && lines[0] != gap {
			lines[0] = gap
		}
	}
	return head, true
}

// inert is a log line made inert by the bot's escaper: entities for < > &,
// no mention, no link, no backquote to close the block, no control
// character, clipped. It is bot.Code's text without the code span.
func inert(s string) string {
	c := bot.Code(s)
	return c[1 : len(c)-1]
}
