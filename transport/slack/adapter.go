package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"tekbot/bot"
	"tekbot/config"
)

// Adapter is tekbot's Slack transport. Its HTTP handlers and its Socket
// Mode runner only verify and decode; both hand the decoded request to the
// same functions (command, interaction, event), which answer Slack at once
// and leave the work to the Pool.
type Adapter struct {
	// SigningSecret verifies that HTTP requests come from Slack. It is
	// never logged nor echoed.
	SigningSecret string
	// MaxBody caps HTTP request bodies; larger ones are answered 413.
	MaxBody  int64
	Config   *config.Config
	Registry *bot.Registry
	Bot      *bot.Bot
	Poster   *Poster
	// Intake deduplicates, queues, claims and runs requests, as for every
	// transport.
	Intake  *bot.Intake
	Metrics *bot.Metrics
	Log     *slog.Logger
}

// ack answers Slack's request within its three seconds: over HTTP with
// the response, over Socket Mode by acknowledging the envelope.
type ack interface {
	// ok takes the request, with an optional immediate answer (a slash
	// command's ephemeral reply).
	ok(answer *slackapi.Msg)
	// reject refuses it: 400 for a request tekbot cannot read, 503 when
	// too busy to take it (so that Slack delivers it again).
	reject(status int, why string)
}

// origin is where a request came from, and so where its answers go.
type origin struct {
	channel string
	user    string
	// threadTS keeps answers to a mention in its thread.
	threadTS string
	// responseURL, for slash commands and clicks, takes the answers
	// while Slack allows.
	responseURL string
	issued      time.Time
	// mention: the question was asked in the open, so answers are public.
	mention bool
}

// Keys under which Seen and Claims record what has been taken.
func commandKey(triggerID string) string { return "slack-command/" + triggerID }
func eventKey(eventID string) string     { return "slack-event/" + eventID }
func confirmKey(requestID string) string { return "slack-confirm/" + requestID }

// command handles a /tekton slash command. Help and unknown verbs are
// answered in the acknowledgement; anything that may call a cluster is
// acknowledged with "Working on…" and answered through the response_url.
// The trigger_id is the request ID, so a repeated POST does nothing new.
func (a *Adapter) command(ctx context.Context, sc slackapi.SlashCommand, ack ack) {
	received := time.Now()
	if sc.UserID == "" || sc.TriggerID == "" || sc.ResponseURL == "" {
		ack.reject(http.StatusBadRequest, "slash command without user_id, trigger_id or response_url")
		return
	}
	log := a.Log.With("trigger", sc.TriggerID, "user", sc.UserID, "channel", sc.ChannelID)
	if refusal := checkText(sc.Text); refusal != "" {
		log.InfoContext(ctx, "slack command refused: unreadable text")
		ack.ok(ephemeral(refusal))
		return
	}
	cmd, ok := a.Registry.ParseSlack(sc.Text)
	if !ok {
		cmd = bot.Command{Verb: "help", Args: []string{}}
	}
	req := &bot.Request{ID: sc.TriggerID, Command: cmd, Caller: a.caller(sc.UserID)}
	if spec := a.Registry.Lookup(cmd.Verb); spec == nil || !spec.Offered(bot.Slack) || spec.Verb == "help" {
		// No cluster to wait for: the answer fits in the acknowledgement.
		reply := a.Bot.Run(ctx, req)
		ack.ok(ephemeral(a.render(reply, req, origin{}).Text))
		return
	}
	o := origin{channel: sc.ChannelID, user: sc.UserID, responseURL: sc.ResponseURL, issued: received}
	working := ephemeral(fmt.Sprintf("Working on `%s`…", cmd.Verb))
	switch err := a.take(ack, working, commandKey(sc.TriggerID), func(ctx context.Context) bool { return a.run(ctx, req, o) }); {
	case errors.Is(err, bot.ErrTaken):
		ack.ok(ephemeral("Already working on this command."))
	case err != nil:
		log.WarnContext(ctx, "slack command refused: busy")
		ack.ok(ephemeral("tekbot is too busy to take this command right now; nothing was done. Please try again in a minute."))
	}
}

// event handles an Events API callback; tekbot acts on app_mention only.
// Slack retries an event it thinks was not taken (X-Slack-Retry-Num), so
// the event_id is the request ID and a retry of a taken event is only
// acknowledged.
func (a *Adapter) event(ctx context.Context, ev slackevents.EventsAPIEvent, retry int, ack ack) {
	cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
	mention, isMention := ev.InnerEvent.Data.(*slackevents.AppMentionEvent)
	switch {
	case ev.Type == slackevents.AppRateLimited:
		a.Log.WarnContext(ctx, "slack is dropping tekbot's events: app_rate_limited")
		ack.ok(nil)
		return
	case cb == nil || !isMention || mention.BotID != "" || mention.User == "":
		ack.ok(nil) // other events, and bots' mentions (no loops)
		return
	case cb.EventID == "":
		ack.reject(http.StatusBadRequest, "event_callback without event_id")
		return
	}
	log := a.Log.With("event", cb.EventID, "user", mention.User, "channel", mention.Channel)
	o := origin{channel: mention.Channel, user: mention.User, threadTS: mention.ThreadTimeStamp, mention: true}
	if o.threadTS == "" {
		o.threadTS = mention.TimeStamp
	}
	switch err := a.take(ack, nil, eventKey(cb.EventID), func(ctx context.Context) bool { return a.mention(ctx, cb.EventID, mention.Text, o) }); {
	case errors.Is(err, bot.ErrTaken):
		log.InfoContext(ctx, "slack event already taken", "retry", retry)
		ack.ok(nil)
	case err != nil:
		log.WarnContext(ctx, "slack event refused: busy", "retry", retry)
		ack.reject(http.StatusServiceUnavailable, bot.ErrPoolFull.Error())
	}
}

func (a *Adapter) mention(ctx context.Context, eventID, text string, o origin) (retry bool) {
	if refusal := checkText(text); refusal != "" {
		a.deliver(ctx, o, Message{Text: refusal})
		return false
	}
	cmd, ok := a.Registry.ParseSlack(text)
	if !ok {
		cmd = bot.Command{Verb: "help", Args: []string{}}
	}
	return a.run(ctx, &bot.Request{ID: eventID, Command: cmd, Caller: a.caller(o.user)}, o)
}

// run runs a command and delivers its answer. It reports a failure on our
// side, so that the intake gives the claim back for Slack's retry.
func (a *Adapter) run(ctx context.Context, req *bot.Request, o origin) (retry bool) {
	reply := a.Bot.Run(ctx, req)
	if others := a.askOthers(reply, req); len(others) > 0 {
		a.deliver(ctx, o, a.ask(ctx, reply, req, others))
		return false
	}
	a.deliver(ctx, o, a.render(reply, req, o))
	return reply.Outcome == bot.Failed
}

// askOthers lists the people a reply's confirmation is for when they are
// not the caller (a swap asks the other person): the caller cannot press
// those buttons, so they go to the others' DMs.
func (a *Adapter) askOthers(reply bot.Reply, req *bot.Request) []*config.Person {
	if reply.Confirm == nil || len(reply.Confirm.Approvers) == 0 {
		return nil
	}
	var others []*config.Person
	for _, name := range reply.Confirm.Approvers {
		if p := a.Config.Person(name); p != nil && p.Slack != "" && p.Slack != req.Caller.ID {
			others = append(others, p)
		}
	}
	if len(others) < len(reply.Confirm.Approvers) {
		return nil // the caller is an approver, or one cannot be reached: ask here
	}
	return others
}

// ask sends the question with its buttons to each of others by DM, and
// tells the caller who was asked.
func (a *Adapter) ask(ctx context.Context, reply bot.Reply, req *bot.Request, others []*config.Person) Message {
	var asked, failed []string
	for _, p := range others {
		if _, err := a.PostReply(ctx, p.Slack, "", reply, req); err != nil {
			a.Log.ErrorContext(ctx, "asking by DM failed", "person", p.Name, "request", req.ID, "err", err)
			failed = append(failed, p.Name)
			continue
		}
		asked = append(asked, "<@"+p.Slack+">")
	}
	if len(asked) == 0 {
		return Message{Text: fmt.Sprintf("Could not reach %s by DM, so nothing was asked; please try again.", strings.Join(failed, ", "))}
	}
	return Message{Text: fmt.Sprintf("%s\nAsked %s in a DM; only they can confirm.", Mrkdwn(reply.Text), strings.Join(asked, ", "))}
}

// interaction handles a click on a confirm dialog's buttons. Only the
// caller (or the dialog's approvers) may click; the confirmed command runs
// with the original request ID, and the claim on it lets one click act.
func (a *Adapter) interaction(ctx context.Context, cb slackapi.InteractionCallback, ack ack) {
	if cb.Type != slackapi.InteractionTypeBlockActions {
		ack.ok(nil)
		return
	}
	var action *slackapi.BlockAction
	for _, ba := range cb.ActionCallback.BlockActions {
		if ba.ActionID == actionConfirm || ba.ActionID == actionCancel {
			action = ba
		}
	}
	if action == nil {
		ack.ok(nil)
		return
	}
	log := a.Log.With("user", cb.User.ID, "action", action.ActionID)
	p, err := decodePending(action.Value)
	if err != nil || cb.User.ID == "" || cb.ResponseURL == "" {
		log.WarnContext(ctx, "slack click refused: not a tekbot confirm button", "err", err)
		ack.reject(http.StatusBadRequest, "not a click tekbot can read")
		return
	}
	log = log.With("request", p.RequestID)
	o := origin{channel: cb.Channel.ID, user: cb.User.ID, responseURL: cb.ResponseURL, issued: time.Now()}
	if o.channel == "" {
		o.channel = cb.Container.ChannelID
	}
	key := confirmKey(p.RequestID)
	if !a.mayConfirm(cb.User.ID, p) {
		log.InfoContext(ctx, "slack click refused: not the caller")
		key = "" // a refusal, not the click that counts
	}
	cancel := action.ActionID == actionCancel
	switch err := a.take(ack, nil, key, func(ctx context.Context) bool { return a.confirm(ctx, p, cancel, o) }); {
	case errors.Is(err, bot.ErrTaken):
		log.InfoContext(ctx, "slack click ignored: already confirmed or cancelled")
		ack.ok(nil)
	case err != nil:
		log.WarnContext(ctx, "slack click refused: busy")
		ack.reject(http.StatusServiceUnavailable, bot.ErrPoolFull.Error())
	}
}

// confirm runs a confirmed command, or says why it does not run: the
// click is not the caller's (or an approver's), or it cancels.
func (a *Adapter) confirm(ctx context.Context, p pending, cancel bool, o origin) (retry bool) {
	if !a.mayConfirm(o.user, p) {
		why := fmt.Sprintf("Only %s can confirm this; nothing was done.", a.whoMayConfirm(p))
		if o.user == p.Caller {
			// The button is for others: a second person's approval of
			// what the caller asked (the two-person rule).
			why = fmt.Sprintf("You asked for this, so someone else must confirm it: only %s can. Nothing was done.", a.whoMayConfirm(p))
		}
		a.deliver(ctx, o, Message{Text: why})
		return false
	}
	if cancel {
		a.deliver(ctx, o, Message{Text: fmt.Sprintf("Cancelled by <@%s>; nothing was run.", o.user), Replace: true})
		return false
	}
	req := &bot.Request{ID: p.RequestID, Command: bot.Command{Verb: p.Verb, Args: p.Args}, Caller: a.caller(o.user), Confirmed: true}
	reply := a.Bot.Run(ctx, req)
	m := a.render(reply, req, o)
	if !m.Public {
		m.Replace = true // the result takes the dialog's place
		a.deliver(ctx, o, m)
		return reply.Outcome == bot.Failed
	}
	// An ephemeral dialog cannot be replaced by a public message: post the
	// result to the channel, then close the dialog.
	a.deliver(ctx, o, m)
	a.deliver(ctx, o, Message{Text: fmt.Sprintf("Confirmed by <@%s>; the result is in the channel.", o.user), Replace: true})
	return reply.Outcome == bot.Failed
}

// render turns a reply into a message. Errors and denials are for the
// caller alone; otherwise a slash command or click shows what the reply
// asks (Reply.Public), and a mention, a question asked in the open, is
// answered in the open.
func (a *Adapter) render(reply bot.Reply, req *bot.Request, o origin) Message {
	text := Mrkdwn(reply.Text)
	if text == "" {
		text = fmt.Sprintf("`%s`: %s.", req.Command.Verb, reply.Outcome)
	}
	if reply.Confirm != nil {
		return confirmMessage(text, reply.Confirm, req)
	}
	public := reply.Public
	if o.mention {
		public = reply.Outcome != bot.Denied && reply.Outcome != bot.Failed && reply.Outcome != bot.Refused
	}
	return Message{Text: text, Public: public}
}

// deliver sends a message where the request came from. The Poster logs
// and counts what it cannot deliver, so there is nothing left to do here.
func (a *Adapter) deliver(ctx context.Context, o origin, m Message) {
	switch {
	case o.responseURL != "":
		_ = a.Poster.Respond(ctx, ResponseURL{URL: o.responseURL, Issued: o.issued, Channel: o.channel, User: o.user}, m)
	case m.Public:
		_ = a.Poster.PostMessage(ctx, o.channel, o.threadTS, m)
	default:
		_ = a.Poster.PostEphemeral(ctx, o.channel, o.user, o.threadTS, m)
	}
}

// take hands work to the intake, to run once Slack has its answer (ack
// with answer), so that a quick result never arrives before the
// acknowledgement. On an error nothing was taken and nothing answered.
func (a *Adapter) take(ack ack, answer *slackapi.Msg, key string, work bot.Work) error {
	answered := make(chan struct{})
	if err := a.Intake.Take(key, answered, work); err != nil {
		return err
	}
	ack.ok(answer)
	close(answered)
	return nil
}

func (a *Adapter) caller(userID string) bot.Caller {
	return bot.Caller{Transport: bot.Slack, ID: userID, Person: a.personBySlack(userID)}
}

func (a *Adapter) personBySlack(userID string) *config.Person {
	if userID == "" {
		return nil // or it would match the people who have no Slack ID
	}
	for i := range a.Config.People {
		if a.Config.People[i].Slack == userID {
			return &a.Config.People[i]
		}
	}
	return nil
}

func ephemeral(text string) *slackapi.Msg {
	return &slackapi.Msg{ResponseType: slackapi.ResponseTypeEphemeral, Text: text}
}

// checkText refuses text with control characters (NUL and the like) or
// invisible formatting ones (zero-width spaces, bidi overrides): text that
// reads as one command but would parse as another.
func checkText(text string) string {
	if !utf8.ValidString(text) {
		return "Your command is not valid UTF-8, so tekbot did not run it. Please retype it."
	}
	for _, r := range text {
		if (unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t') || unicode.Is(unicode.Cf, r) {
			return fmt.Sprintf("Your command contains an invisible or control character (U+%04X), so tekbot did not run it. Please retype it.", r)
		}
	}
	return ""
}
