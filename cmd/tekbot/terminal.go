package main

import (
	"cmp"
	"context"
	"fmt"
	"html"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kyokomi/emoji/v2"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/promotion"
)

// terminal is the sandbox's Slack: it prints what tekbot would post,
// rendered for people rather than Slack's client, and keeps the buttons
// tekbot offers in posts (Approve, Roll back) so they can be pressed by
// number.
type terminal struct {
	out io.Writer // shared with the driver; writes are whole lines
	cfg *config.Config
	// bold shows *bold* in ANSI bold: stdout is a terminal. Otherwise (a
	// pipe, a file) the asterisks are dropped and the text stays plain.
	bold bool

	mu      sync.Mutex
	buttons []*button
	// threads counts the threads started in each channel, to name them
	// thread-1, thread-2… there.
	threads map[string]int
}

// button is a confirm button on a posted message: pressing it runs req
// again, confirmed, as whoever pressed it (once: the intake keys it by
// req.ID).
type button struct {
	confirm bot.Confirm
	req     bot.Request
}

var (
	markdownLink = regexp.MustCompile(`\[([^\]\n]+)\]\((\S+?)\)`)
	slackMarkup  = regexp.MustCompile(`<([^<>\n]+)>`)
	emojiName    = regexp.MustCompile(`:[a-z0-9_+-]+:`)
	// boldMarkup is Markdown's **bold** (GitHub replies) and mrkdwn's
	// *bold* (Slack), whose asterisks hug the text.
	boldMarkup = regexp.MustCompile(`\*\*([^*\n]+)\*\*|\*([^*\s](?:[^*\n]*[^*\s])?)\*`)
)

// emojiGlyphs are the names Slack (and GitHub) know, as glyphs.
var emojiGlyphs = emoji.CodeMap()

// render turns Slack mrkdwn and Markdown into text for people: a mention
// names the person, a link shows its text and then its address, an emoji
// name its glyph (a name Slack does not know stays as written), and bold
// is ANSI bold on a terminal, plain text elsewhere.
func (t *terminal) render(text string) string {
	text = markdownLink.ReplaceAllStringFunc(text, func(m string) string {
		g := markdownLink.FindStringSubmatch(m)
		return linkText(g[1], g[2])
	})
	text = slackMarkup.ReplaceAllStringFunc(text, func(m string) string {
		inner := m[1 : len(m)-1]
		target, label, _ := strings.Cut(inner, "|")
		switch {
		case strings.HasPrefix(target, "@"):
			if p := t.personBySlack(target[1:]); p != nil {
				return p.Name
			}
			if label != "" {
				return label
			}
			return target
		case strings.HasPrefix(target, "#"):
			return "#" + cmp.Or(label, target[1:])
		case strings.HasPrefix(target, "!subteam^"):
			return cmp.Or(label, "@team")
		case strings.HasPrefix(target, "!"):
			return "@" + strings.TrimPrefix(target, "!")
		case strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:"):
			return linkText(label, target)
		}
		return m // not Slack markup: someone's <placeholder>
	})
	text = emojiName.ReplaceAllStringFunc(text, func(name string) string { return cmp.Or(emojiGlyphs[name], name) })
	return html.UnescapeString(t.embolden(text))
}

// embolden shows bold markup as bold, or as plain text. An asterisk inside
// a word (2*3*4) is not markup.
func (t *terminal) embolden(text string) string {
	var b strings.Builder
	last := 0
	for _, m := range boldMarkup.FindAllStringSubmatchIndex(text, -1) {
		if !wordEdge(text, m[0], m[1]) {
			continue
		}
		var inner string
		if m[2] >= 0 {
			inner = text[m[2]:m[3]] // **bold**
		} else {
			inner = text[m[4]:m[5]] // *bold*
		}
		b.WriteString(text[last:m[0]])
		if t.bold {
			inner = "\x1b[1m" + inner + "\x1b[22m"
		}
		b.WriteString(inner)
		last = m[1]
	}
	b.WriteString(text[last:])
	return b.String()
}

// wordEdge reports whether text[start:end] neither follows nor precedes a
// letter or digit.
func wordEdge(text string, start, end int) bool {
	before, _ := utf8.DecodeLastRuneInString(text[:start])
	after, _ := utf8.DecodeRuneInString(text[end:])
	isWord := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	return (start == 0 || !isWord(before)) && (end == len(text) || !isWord(after))
}

func linkText(text, url string) string {
	text = strings.Trim(text, "`")
	if text == "" || text == url {
		return url
	}
	return text + " (" + url + ")"
}

func (t *terminal) personBySlack(id string) *config.Person {
	for i := range t.cfg.People {
		if t.cfg.People[i].Slack == id {
			return &t.cfg.People[i]
		}
	}
	return nil
}

// channel names a configured channel for people ("#releases").
func (t *terminal) channel(id string) string {
	switch id {
	case t.cfg.Slack.Channels.Captain:
		return "#captain"
	case t.cfg.Slack.Channels.Releases:
		return "#releases"
	}
	return "#" + id
}

// block is a message as the terminal shows it: a header line, then the
// text rendered and indented.
func (t *terminal) block(header, text string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for l := range strings.Lines(t.render(text)) {
		b.WriteString("  " + strings.TrimRight(l, "\n") + "\n")
	}
	return b.String()
}

// print writes a post tekbot made on its own, as a block.
func (t *terminal) print(header, text string) {
	_, _ = io.WriteString(t.out, "\n"+t.block("["+header+"]", text))
}

// Post prints a promotion's progress as a post in the releases channel; a
// confirm button becomes a numbered button for `press N`.
func (t *terminal) Post(_ context.Context, thread promotion.Thread, reply bot.Reply, offer *bot.Request) (promotion.Thread, error) {
	t.mu.Lock()
	if thread.TS == "" {
		thread.TS = t.newThread(thread.Channel)
	}
	var offered string
	if reply.Confirm != nil && offer != nil {
		t.buttons = append(t.buttons, &button{confirm: *reply.Confirm, req: *offer})
		who := "you"
		if len(reply.Confirm.Approvers) > 0 {
			who = strings.Join(reply.Confirm.Approvers, ", ")
		}
		offered = fmt.Sprintf("\n[%s] button: type `press %d` to press it (who may: %s)", reply.Confirm.Button, len(t.buttons), who)
	}
	t.mu.Unlock()
	t.print(fmt.Sprintf("slack %s, %s", t.channel(thread.Channel), thread.TS), reply.Text+offered)
	return thread, nil
}

// newThread names the next thread of a channel; t.mu is held.
func (t *terminal) newThread(channel string) string {
	if t.threads == nil {
		t.threads = map[string]int{}
	}
	t.threads[channel]++
	return fmt.Sprintf("thread-%d", t.threads[channel])
}

// press takes button n (1-based) for person, who must be allowed to
// press it.
func (t *terminal) press(n int, person *config.Person) (*button, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 1 || n > len(t.buttons) {
		return nil, fmt.Errorf("no button %d: %d offered so far", n, len(t.buttons))
	}
	b := t.buttons[n-1]
	switch {
	case len(b.confirm.Approvers) > 0 && !slices.Contains(b.confirm.Approvers, person.Name):
		return nil, fmt.Errorf("only %s may press %q", strings.Join(b.confirm.Approvers, ", "), b.confirm.Button)
	case len(b.confirm.Approvers) == 0 && b.req.Caller.Person != nil && b.req.Caller.Person.Name != person.Name:
		return nil, fmt.Errorf("only %s may press %q", b.req.Caller.Person.Name, b.confirm.Button)
	}
	return b, nil
}

// captain shows the captain's messages (handoffs, pages) as Slack would
// deliver them.
type captain struct{ *terminal }

func (c captain) Post(_ context.Context, channel, text string) error {
	c.print("slack "+c.channel(channel), text)
	return nil
}

func (c captain) DirectMessage(_ context.Context, to *config.Person, text, ackPage string) error {
	c.print(fmt.Sprintf("slack DM to %s, with an Ack button for page %s", to.Name, ackPage), text)
	return nil
}

// PostThread prints a failure alert, in the day's thread when there is one.
func (c captain) PostThread(_ context.Context, channel, threadTS, text string) (string, error) {
	c.mu.Lock()
	ts := c.newThread(channel)
	c.mu.Unlock()
	where := "slack " + c.channel(channel) + ", " + ts
	if threadTS != "" {
		where = "slack " + c.channel(channel) + ", in " + threadTS
	}
	c.print(where, text)
	return ts, nil
}

// Update prints an edit of a line tekbot posted (a repeated failure).
func (c captain) Update(_ context.Context, channel, ts, text string) error {
	c.print("slack "+c.channel(channel)+", "+ts+" edited", text)
	return nil
}

// SetGroupMembers prints what @build-captain is set to.
func (c captain) SetGroupMembers(_ context.Context, group string, users []string) error {
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = c.render("<@" + u + ">")
	}
	c.print("slack user group "+group, "@build-captain is now "+strings.Join(names, ", "))
	return nil
}
