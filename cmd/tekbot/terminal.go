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

	mu      sync.Mutex
	buttons []*button
	thread  int
}

// button is a confirm button on a posted message: pressing it runs req
// again, confirmed, as whoever pressed it.
type button struct {
	confirm bot.Confirm
	req     bot.Request
	pressed bool
}

var (
	markdownLink = regexp.MustCompile(`\[([^\]\n]+)\]\((\S+?)\)`)
	slackMarkup  = regexp.MustCompile(`<([^<>\n]+)>`)
)

// render turns Slack markup and Markdown links into plain text: a mention
// names the person, a link shows its text and then its address.
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
	return html.UnescapeString(text)
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

// print writes a message block: a header line, then the text indented.
func (t *terminal) print(header, text string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n[%s]\n", header)
	for l := range strings.Lines(t.render(text)) {
		b.WriteString("  " + strings.TrimRight(l, "\n") + "\n")
	}
	_, _ = io.WriteString(t.out, b.String())
}

// Post prints a promotion's progress as a post in the releases channel; a
// confirm button becomes a numbered button for `press N`.
func (t *terminal) Post(_ context.Context, thread promotion.Thread, reply bot.Reply, offer *bot.Request) (promotion.Thread, error) {
	t.mu.Lock()
	if thread.TS == "" {
		t.thread++
		thread.TS = fmt.Sprintf("thread-%d", t.thread)
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

// press takes button n (1-based) for person, once.
func (t *terminal) press(n int, person *config.Person) (*button, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n < 1 || n > len(t.buttons) {
		return nil, fmt.Errorf("no button %d: %d offered so far", n, len(t.buttons))
	}
	b := t.buttons[n-1]
	switch {
	case b.pressed:
		return nil, fmt.Errorf("button %d was pressed already", n)
	case len(b.confirm.Approvers) > 0 && !slices.Contains(b.confirm.Approvers, person.Name):
		return nil, fmt.Errorf("only %s may press %q", strings.Join(b.confirm.Approvers, ", "), b.confirm.Button)
	case len(b.confirm.Approvers) == 0 && b.req.Caller.Person != nil && b.req.Caller.Person.Name != person.Name:
		return nil, fmt.Errorf("only %s may press %q", b.req.Caller.Person.Name, b.confirm.Button)
	}
	b.pressed = true
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
	c.thread++
	ts := fmt.Sprintf("thread-%d", c.thread)
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
