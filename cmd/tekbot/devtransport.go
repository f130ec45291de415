package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/transport/github"
	"tekbot/transport/slack"
)

// The sandbox is a transport like GitHub and Slack: a typed line is
// decoded as they decode a slash command, a mention or a PR comment, and
// handed to the app's intake, the path `serve` runs (deduplication, the
// bounded pool, the claim across replicas in the state namespace). Unlike
// them it waits for the answer: the terminal answers one line at a time.

// Keys under which the intake records what the sandbox has taken. A typed
// line is a new request each time (its ID holds the session, so a restart
// on the same clusters never meets an old claim); a button is pressed
// once, like Slack's confirm buttons, keyed by the request it confirms.
func sandboxCommandKey(id string) string { return "sandbox-command/" + id }
func sandboxCommentKey(id string) string { return "sandbox-comment/" + id }
func sandboxConfirmKey(id string) string { return "sandbox-confirm/" + id }

func (d *driver) requestID() string {
	d.nextID++
	return fmt.Sprintf("dev-%s-%d", d.session, d.nextID)
}

// take hands work to the intake and waits until it has run. It reports
// false, having said why, when the intake did not take it: the key was
// taken already, or the pool is full. (Work whose claim another process
// holds does not run, and take would wait for ctx; the sandbox's keys are
// its own, and Seen turns a second press away before any claim.)
func (d *driver) take(ctx context.Context, key string, work bot.Work) bool {
	done := make(chan struct{})
	err := d.app.intake.Take(key, nil, func(ctx context.Context) bool {
		defer close(done)
		return work(ctx)
	})
	switch {
	case errors.Is(err, bot.ErrTaken):
		fmt.Fprintln(d.out, "Already done: tekbot takes each request once.")
		return false
	case err != nil:
		fmt.Fprintln(d.out, "tekbot is too busy to take this right now; nothing was done. Please try again in a minute.")
		return false
	}
	select {
	case <-done:
	case <-ctx.Done():
		return false
	}
	return true
}

// run runs one Slack request through the intake. A failure on tekbot's
// side gives the key back, as in Slack, so that the same button can be
// pressed again.
func (d *driver) run(ctx context.Context, key string, req *bot.Request) (bot.Reply, bool) {
	var reply bot.Reply
	ok := d.take(ctx, key, func(ctx context.Context) bool {
		reply = d.app.bot.Run(ctx, req)
		return reply.Outcome == bot.Failed
	})
	return reply, ok
}

func slackCaller(p *config.Person) bot.Caller {
	return bot.Caller{Transport: bot.Slack, ID: p.Slack, Person: p}
}

// slack takes a slash command or a mention; a reply that asks for
// confirmation is answered on the terminal, and the confirmed command is
// taken again, once, as a click on Slack's button is.
func (d *driver) slack(ctx context.Context, in *bufio.Scanner, text string) {
	cmd, ok := d.app.registry.ParseSlack(text)
	if !ok {
		cmd = bot.Command{Verb: "help", Args: []string{}}
	}
	req := &bot.Request{ID: d.requestID(), Command: cmd, Caller: slackCaller(d.person)}
	req.Key = sandboxCommandKey(req.ID)
	reply, ok := d.run(ctx, req.Key, req)
	if !ok {
		return
	}
	if c := reply.Confirm; c != nil {
		d.show("slack, only you", slack.Mrkdwn(reply.Text))
		// As in Slack, the button runs as whoever may press it.
		presser := d.person
		if len(c.Approvers) > 0 {
			presser = d.app.cfg.Person(c.Approvers[0])
		}
		fmt.Fprintf(d.out, "[%s] %s — type yes to press %q as %s: ", c.Title, d.term.render(c.Text), c.Button, presser.Name)
		answer, _ := readLine(in)
		if strings.TrimSpace(strings.ToLower(answer)) != "yes" {
			fmt.Fprintln(d.out, "Cancelled; nothing was done.")
			return
		}
		req.Confirmed = true
		req.Caller = slackCaller(presser)
		if c.Command != nil {
			req.Command = *c.Command
		}
		req.Key = sandboxConfirmKey(req.ID)
		if reply, ok = d.run(ctx, req.Key, req); !ok {
			return
		}
	}
	d.showSlack(reply)
}

func (d *driver) showSlack(reply bot.Reply) {
	where := "slack, only you"
	if reply.Public {
		where = "slack, in channel"
	}
	d.show(where, slack.Mrkdwn(reply.Text))
}

// comment takes a PR comment on #42, as the GitHub transport takes an
// issue_comment delivery: each command in it runs, and one reply answers
// them all.
func (d *driver) comment(ctx context.Context, body string) {
	cmds, ignored := d.app.registry.ParseComment(body)
	if len(cmds) == 0 {
		fmt.Fprintln(d.out, "(no tekbot command in that comment: tekbot stays silent, as on GitHub)")
		return
	}
	id := d.requestID()
	key := sandboxCommentKey(id)
	var parts []string
	ok := d.take(ctx, key, func(ctx context.Context) bool {
		pr, err := d.github.Get(ctx, sandboxRepo, sandboxPR)
		if err != nil {
			d.app.log.ErrorContext(ctx, "sandbox: reading the pull request failed", "request", id, "err", err)
			parts = append(parts, fmt.Sprintf("tekbot could not read this pull request, so nothing was done. (request %s)", bot.ShortID(id)))
			return true
		}
		caller := bot.Caller{
			Transport: bot.GitHub, ID: d.person.GitHub, Person: d.person,
			Vouch: &github.Vouch{Permissions: d.github, Approvals: d.app.approvals, Repo: d.app.cfg.Repository(sandboxRepo), Login: d.person.GitHub, PR: pr},
		}
		allFailed := true
		for i, reply := range d.app.bot.RunAll(ctx, &bot.Request{ID: id, Key: key, Caller: caller, PullRequest: pr}, cmds) {
			allFailed = allFailed && reply.Outcome == bot.Failed
			switch {
			case reply.Text == "":
			case len(cmds) > 1:
				parts = append(parts, fmt.Sprintf("**/%s**\n%s", bot.UserText(cmds[i].String()), reply.Text))
			default:
				parts = append(parts, reply.Text)
			}
		}
		return allFailed
	})
	if !ok {
		return
	}
	if ignored > 0 {
		parts = append(parts, bot.IgnoredCommands(ignored))
	}
	d.show(fmt.Sprintf("github, comment on #%d", sandboxPR), "@"+d.person.GitHub+"\n\n"+strings.Join(parts, "\n\n"))
}

// show prints a reply to what was typed.
func (d *driver) show(where, text string) {
	fmt.Fprintln(d.out, d.term.block("tekbot ("+where+"):", text))
}

// press presses a button a post offered, as the current person: the
// command runs again, confirmed, through the same gates as in Slack, and
// through the intake under the key of the request it confirms, so that a
// button acts once however often it is pressed.
func (d *driver) press(ctx context.Context, arg string) {
	n, err := strconv.Atoi(arg)
	if err != nil {
		fmt.Fprintln(d.out, "Usage: press <n>, the number a post gave its button.")
		return
	}
	b, err := d.term.press(n, d.person)
	if err != nil {
		fmt.Fprintf(d.out, "%s.\n", err)
		return
	}
	req := b.req
	req.Confirmed = true
	req.Caller = slackCaller(d.person)
	if b.confirm.Command != nil {
		req.Command = *b.confirm.Command
	}
	req.Key = sandboxConfirmKey(req.ID)
	if reply, ok := d.run(ctx, req.Key, &req); ok {
		d.showSlack(reply)
	}
}
