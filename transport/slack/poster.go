package slack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"
)

// Message is one message tekbot sends. Text is Slack mrkdwn (see Mrkdwn);
// with Blocks it is also the notification's fallback text.
type Message struct {
	Text   string
	Blocks []slackapi.Block
	// Public messages are seen by the whole channel; the others only by
	// the user they answer.
	Public bool
	// Replace swaps the message a button was clicked on (through the
	// click's response_url) instead of adding one.
	Replace bool
}

func (m Message) options() []slackapi.MsgOption {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(m.Text, false)}
	if len(m.Blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(m.Blocks...))
	}
	return opts
}

// ResponseURL is a response_url that Slack handed over with a slash command
// or a click. Slack takes at most responseURLUses messages through it
// within responseURLLifetime of Issued; after that tekbot posts to Channel
// (for User alone unless the message is public) instead.
type ResponseURL struct {
	URL     string
	Issued  time.Time
	Channel string
	User    string
}

// Slack's limits on a response_url.
const (
	responseURLUses     = 5
	responseURLLifetime = 30 * time.Minute
)

var errResponseURLSpent = errors.New("response_url used up or expired")

// Poster sends every message tekbot writes to Slack — chat.postMessage,
// chat.postEphemeral and response_url answers — so that pacing, retries and
// failure accounting live in one place. A message that cannot be delivered
// is logged at error level and counted, never dropped silently.
type Poster struct {
	api *slackapi.Client
	log *slog.Logger

	// Interval spaces messages to one channel: Slack allows about one a
	// second per channel and answers bursts with 429.
	Interval time.Duration
	// Attempts bounds the tries of one message on 5xx and network
	// errors. A 429 is not a failure but Slack's "not yet": a message
	// waits out Retry-After as often as it is told to, for at most
	// maxRateWait in all.
	Attempts int
	// Backoff is the first wait after a 5xx or network error; it doubles
	// on each try.
	Backoff time.Duration

	mu        sync.Mutex
	lanes     map[string]*lane // by channel
	responses map[string]*responseUses
	failures  atomic.Int64
}

type responseUses struct {
	issued time.Time
	n      int
}

// NewPoster sends through api (authenticated with the bot token).
func NewPoster(api *slackapi.Client, log *slog.Logger) *Poster {
	return &Poster{
		api: api, log: log,
		Interval: time.Second, Attempts: 5, Backoff: 500 * time.Millisecond,
		lanes: map[string]*lane{}, responses: map[string]*responseUses{},
	}
}

// Failures counts the messages that could not be delivered, for metrics
// and alerts.
func (p *Poster) Failures() int64 { return p.failures.Load() }

// PostMessage posts to a channel, in a thread when threadTS is set.
func (p *Poster) PostMessage(ctx context.Context, channel, threadTS string, m Message) error {
	_, err := p.PostMessageTS(ctx, channel, threadTS, m)
	return err
}

// PostMessageTS is PostMessage returning the message's timestamp, which
// names the thread that replies to it start.
func (p *Poster) PostMessageTS(ctx context.Context, channel, threadTS string, m Message) (string, error) {
	ts, err := p.postMessage(ctx, channel, threadTS, m)
	return ts, p.outcome(ctx, "chat.postMessage", channel, err)
}

// UpdateMessage replaces the text of a message tekbot posted
// (chat.update): an alert line that counts repeated failures.
func (p *Poster) UpdateMessage(ctx context.Context, channel, ts string, m Message) error {
	err := p.send(ctx, channel, func(ctx context.Context) error {
		_, _, _, err := p.api.UpdateMessageContext(ctx, channel, ts, m.options()...)
		return err
	})
	return p.outcome(ctx, "chat.update", channel, err)
}

// SetGroupMembers makes users the whole membership of a user group
// (usergroups.users.update), e.g. @build-captain to today's captain.
// Setting the members it already has changes nothing, so it may be
// repeated.
func (p *Poster) SetGroupMembers(ctx context.Context, group string, users []string) error {
	err := p.send(ctx, group, func(ctx context.Context) error {
		_, err := p.api.UpdateUserGroupMembersContext(ctx, group, strings.Join(users, ","))
		return err
	})
	return p.outcome(ctx, "usergroups.users.update", group, err)
}

// PostEphemeral posts to a channel for one user's eyes only.
func (p *Poster) PostEphemeral(ctx context.Context, channel, user, threadTS string, m Message) error {
	return p.outcome(ctx, "chat.postEphemeral", channel, p.postEphemeral(ctx, channel, user, threadTS, m))
}

// Respond answers through a response_url, or — once Slack would refuse it
// (used five times, older than 30 minutes, or rejected) — posts the
// message to the channel instead.
func (p *Poster) Respond(ctx context.Context, r ResponseURL, m Message) error {
	err := errResponseURLSpent
	if p.use(r) {
		err = p.send(ctx, r.Channel, func(ctx context.Context) error { return p.respond(ctx, r.URL, m) })
		if err == nil || ctx.Err() != nil {
			return p.outcome(ctx, "response_url", r.Channel, err)
		}
	}
	p.log.WarnContext(ctx, "slack response_url unusable; posting to the channel instead", "channel", r.Channel, "err", err)
	m.Replace = false // only a response_url can replace a message
	if m.Public {
		_, err = p.postMessage(ctx, r.Channel, "", m)
	} else {
		err = p.postEphemeral(ctx, r.Channel, r.User, "", m)
	}
	return p.outcome(ctx, "response_url fallback", r.Channel, err)
}

func (p *Poster) postMessage(ctx context.Context, channel, threadTS string, m Message) (string, error) {
	opts := m.options()
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	var ts string
	err := p.send(ctx, channel, func(ctx context.Context) error {
		var err error
		_, ts, err = p.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	return ts, err
}

func (p *Poster) postEphemeral(ctx context.Context, channel, user, threadTS string, m Message) error {
	opts := m.options()
	if threadTS != "" {
		opts = append(opts, slackapi.MsgOptionTS(threadTS))
	}
	return p.send(ctx, channel, func(ctx context.Context) error {
		_, err := p.api.PostEphemeralContext(ctx, channel, user, opts...)
		return err
	})
}

func (p *Poster) respond(ctx context.Context, responseURL string, m Message) error {
	kind := slackapi.ResponseTypeEphemeral
	if m.Public {
		kind = slackapi.ResponseTypeInChannel
	}
	opts := append(m.options(), slackapi.MsgOptionResponseURL(responseURL, kind))
	if m.Replace {
		opts = append(opts, slackapi.MsgOptionReplaceOriginal(responseURL))
	}
	_, _, _, err := p.api.SendMessageContext(ctx, "", opts...)
	var ue *url.Error
	if errors.As(err, &ue) {
		// A response_url lets anyone post to the channel for 30 minutes:
		// keep it out of errors, which end up in logs.
		return fmt.Errorf("posting to the response_url: %s: %w", ue.Op, ue.Err)
	}
	return err
}

// use counts one message through a response_url, or reports that Slack
// would refuse it.
func (p *Poster) use(r ResponseURL) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	for u, uses := range p.responses {
		if now.Sub(uses.issued) > responseURLLifetime {
			delete(p.responses, u)
		}
	}
	if now.Sub(r.Issued) > responseURLLifetime {
		return false
	}
	uses := p.responses[r.URL]
	if uses == nil {
		uses = &responseUses{issued: r.Issued}
		p.responses[r.URL] = uses
	}
	if uses.n >= responseURLUses {
		return false
	}
	uses.n++
	return true
}

// maxRateWait bounds how long one message waits out Slack's 429s: a
// burst is delivered late rather than not at all, but a Slack that keeps
// refusing does not hold a worker for ever.
const maxRateWait = time.Minute

// lane is one channel's queue. Messages to a channel go out one at a time,
// in the order they were sent: a message that Slack answers 429 keeps its
// place, so a burst of alerts or replies arrives complete and in order,
// rather than with the refused ones after those that were paced later.
type lane struct {
	next    time.Time       // when the channel may get its next message
	busy    bool            // a message holds the channel's turn
	waiting []chan struct{} // the messages after it, in order
}

// send makes one Slack call in the channel's turn, with pacing and
// retries: a 429 holds the channel for its Retry-After, a 5xx or network
// error backs off; anything else (a Slack error such as
// channel_not_found) would fail again.
func (p *Poster) send(ctx context.Context, channel string, call func(context.Context) error) error {
	if err := p.acquire(ctx, channel); err != nil {
		return err
	}
	defer p.release(channel)
	backoff := p.Backoff
	deadline := time.Now().Add(maxRateWait)
	var err error
	for attempt := 0; attempt < p.Attempts; {
		if err := p.pace(ctx, channel); err != nil {
			return err
		}
		if err = call(ctx); err == nil {
			return nil
		}
		var limited *slackapi.RateLimitedError
		switch {
		case ctx.Err() != nil:
			return err
		case errors.As(err, &limited):
			if time.Now().Add(limited.RetryAfter).After(deadline) {
				return fmt.Errorf("rate-limited for more than %s: %w", maxRateWait, err)
			}
			p.hold(channel, limited.RetryAfter)
		case retryable(err):
			attempt++
			if err := sleep(ctx, backoff); err != nil {
				return err
			}
			backoff *= 2
		default:
			return err
		}
	}
	return fmt.Errorf("giving up after %d attempts: %w", p.Attempts, err)
}

func retryable(err error) bool {
	var status slackapi.StatusCodeError
	if errors.As(err, &status) {
		return status.Retryable()
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// acquire waits for the channel's turn, after every message sent to it
// before.
func (p *Poster) acquire(ctx context.Context, channel string) error {
	p.mu.Lock()
	l := p.lanes[channel]
	if l == nil {
		l = &lane{}
		p.lanes[channel] = l
	}
	if !l.busy {
		l.busy = true
		p.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	l.waiting = append(l.waiting, turn)
	p.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		if i := slices.Index(l.waiting, turn); i >= 0 {
			l.waiting = slices.Delete(l.waiting, i, i+1)
		} else {
			p.passOn(channel, l) // the turn came as ctx ended
		}
		return ctx.Err()
	}
}

// release ends a message's turn.
func (p *Poster) release(channel string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.passOn(channel, p.lanes[channel])
}

// passOn gives the turn to the next message waiting, or frees the lane
// (forgotten once its pacing is over, so that channels posted to once do
// not add up); p.mu is held.
func (p *Poster) passOn(channel string, l *lane) {
	if len(l.waiting) > 0 {
		close(l.waiting[0])
		l.waiting = l.waiting[1:]
		return
	}
	l.busy = false
	if !l.next.After(time.Now()) {
		delete(p.lanes, channel)
	}
}

// pace waits, in the channel's turn, until it may get a message, and
// books the one after.
func (p *Poster) pace(ctx context.Context, channel string) error {
	p.mu.Lock()
	l := p.lanes[channel]
	now := time.Now()
	at := now
	if l.next.After(now) {
		at = l.next
	}
	l.next = at.Add(p.Interval)
	p.mu.Unlock()
	return sleep(ctx, at.Sub(now))
}

// hold keeps a channel quiet for d, as Slack's Retry-After asks.
func (p *Poster) hold(channel string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.lanes[channel]
	if until := time.Now().Add(d); until.After(l.next) {
		l.next = until
	}
}

// outcome logs and counts a message that could not be delivered.
func (p *Poster) outcome(ctx context.Context, method, channel string, err error) error {
	if err == nil {
		return nil
	}
	n := p.failures.Add(1)
	p.log.ErrorContext(ctx, "slack message not delivered", "method", method, "channel", channel, "failures", n, "err", err)
	return fmt.Errorf("%s to %s: %w", method, channel, err)
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
