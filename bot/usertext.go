package bot

import (
	"strings"
	"unicode"
)

// maxUserText bounds how much of someone's text a message repeats.
const maxUserText = 300

// UserText makes text written by someone else (a page reason, an unknown
// verb, an argument) safe to repeat in a message, whichever renders it:
// GitHub Markdown or Slack mrkdwn (the Slack transport converts Markdown and
// keeps these entities). Every message that quotes a user goes through it,
// so nobody can make tekbot ping @channel, @here, a person or a GitHub team,
// or hide a link behind other words:
//   - < > & become entities: no HTML, no Slack <!channel>, <@U…> or <url|text>;
//   - an invisible word joiner follows each @: no GitHub @login or @org/team ping;
//   - one follows each ] too: [text](url) no longer makes a link or image;
//   - control characters and newlines become spaces: no forged lines;
//   - it is clipped to maxUserText characters.
//
// URLs stay visible as text, so a reader sees where they lead.
func UserText(s string) string { return quote(s, false) }

// Code shows text that came from a cluster — a run's condition message, a
// run, task or pipeline name, a version a ConfigMap reports — as inline
// code, escaped as UserText escapes: whoever can write a run's status or a
// ConfigMap can make tekbot ping nobody, hide no link, and not turn
// "*text*" into formatting, in Slack mrkdwn (where messages are written as
// mrkdwn directly, or converted from Markdown) as on GitHub. A backquote in
// the text becomes ˋ so that it cannot close the span. GitHub shows the
// entities of < > & literally inside code; Kubernetes names never hold
// them, only messages and versions do, which go to Slack.
func Code(s string) string { return "`" + quote(s, true) + "`" }

func quote(s string, code bool) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxUserText {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '@' || r == ']':
			b.WriteRune(r)
			b.WriteRune(wordJoiner)
		case r == '`' && code:
			b.WriteRune('ˋ')
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// wordJoiner is invisible and keeps what follows from joining a mention or link.
const wordJoiner = '\u2060'
