package slack

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	// Mentions that handlers write on purpose (<@U…>, <#C…>) survive
	// escaping; anything else in angle brackets is shown, not parsed, so
	// text echoed from a user cannot ping @channel or forge a link.
	slackMentionRE = regexp.MustCompile(`<[@#][A-Z0-9]+(?:\|[^<>]*)?>`)
	markdownLinkRE = regexp.MustCompile(`\[([^\]]+)\]\(([^)\s]+)\)`)
	markdownBoldRE = regexp.MustCompile(`\*\*([^*]+)\*\*`)
)

// Mrkdwn converts the GitHub-flavoured Markdown that handlers write into
// Slack's mrkdwn: [text](url) becomes <url|text>, **bold** *bold*, "- "
// bullets "• ", and tables, which Slack cannot show, a list with one line
// per row ("• `/tekton rerun …` — what it does").
func Mrkdwn(md string) string {
	lines := strings.Split(md, "\n")
	out := make([]string, 0, len(lines))
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		switch {
		case isTableRow(line):
			if isTableSeparator(line) || (i+1 < len(lines) && isTableSeparator(lines[i+1])) {
				continue // the separator, or the header row above it
			}
			out = append(out, "• "+inline(strings.Join(tableCells(line), " — ")))
		case strings.HasPrefix(line, "- "):
			out = append(out, "• "+inline(line[2:]))
		default:
			out = append(out, inline(line))
		}
	}
	return strings.Join(out, "\n")
}

func inline(s string) string {
	s = escape(s)
	s = markdownLinkRE.ReplaceAllString(s, "<$2|$1>")
	return markdownBoldRE.ReplaceAllString(s, "*$1*")
}

// escape encodes &, < and > as Slack requires, outside mentions.
func escape(s string) string {
	var b strings.Builder
	last := 0
	for _, m := range slackMentionRE.FindAllStringIndex(s, -1) {
		b.WriteString(entities.Replace(s[last:m[0]]))
		b.WriteString(s[m[0]:m[1]])
		last = m[1]
	}
	b.WriteString(entities.Replace(s[last:]))
	return b.String()
}

// entities escapes text for Slack. The entities Slack knows are kept as
// they are: bot.UserText writes them into quoted user text, which must read
// the same on GitHub and in Slack, not as "&amp;lt;".
var entities = strings.NewReplacer("&amp;", "&amp;", "&lt;", "&lt;", "&gt;", "&gt;", "&", "&amp;", "<", "&lt;", ">", "&gt;")

func isTableRow(line string) bool { return strings.HasPrefix(strings.TrimSpace(line), "|") }

func isTableSeparator(line string) bool {
	t := strings.TrimSpace(line)
	return isTableRow(t) && strings.Contains(t, "-") && strings.Trim(t, "|-: ") == ""
}

// tableCells splits a row on the pipes between cells. Pipes inside code
// spans belong to the cell: usages such as `rerun <run|URL>` have them.
func tableCells(row string) []string {
	row = strings.TrimSpace(row)
	row = strings.TrimPrefix(row, "|")
	if strings.HasSuffix(row, "|") && !strings.HasSuffix(row, `\|`) {
		row = row[:len(row)-1]
	}
	var cells []string
	var cell strings.Builder
	inCode := false
	for i := 0; i < len(row); i++ {
		switch c := row[i]; {
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cell.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cell.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cell.String()))
			cell.Reset()
		default:
			cell.WriteByte(c)
		}
	}
	return append(cells, strings.TrimSpace(cell.String()))
}

// clip shortens s to at most n characters for Slack's per-field limits.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
