package slack_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"tekbot/test/poll"
	"tekbot/transport/slack"
)

func newPoster(t *testing.T, f *fakeSlack) *slack.Poster {
	t.Helper()
	p := slack.NewPoster(slackapi.New(botToken, slackapi.OptionAPIURL(f.GetAPIURL())), slog.New(slog.NewTextHandler(io.Discard, nil)))
	p.Interval, p.Attempts, p.Backoff = 10*time.Millisecond, 3, 10*time.Millisecond
	return p
}

func TestPosterRetriesFallsBackAndCountsFailures(t *testing.T) {
	t.Parallel()
	msg := slack.Message{Text: "nightly is red"}
	post := func(ctx context.Context, p *slack.Poster, _ *fakeSlack) error {
		return p.PostMessage(ctx, channel, "", msg)
	}
	respond := func(issued time.Time, public bool, times int) func(context.Context, *slack.Poster, *fakeSlack) error {
		return func(ctx context.Context, p *slack.Poster, f *fakeSlack) error {
			r := slack.ResponseURL{URL: f.responseURL("cmd-1"), Issued: issued, Channel: channel, User: vincent}
			for range times {
				if err := p.Respond(ctx, r, slack.Message{Text: "result", Public: public}); err != nil {
					return err
				}
			}
			return nil
		}
	}
	tests := []struct {
		name      string
		fail      map[string][]failure
		send      func(context.Context, *slack.Poster, *fakeSlack) error
		wantErr   bool
		delivered map[string]int
		// tries is how often chat.postMessage was called.
		tries int
	}{
		{
			name: "429 waits for Retry-After, then delivers once",
			fail: map[string][]failure{"chat.postMessage": {{status: http.StatusTooManyRequests, retryAfter: 1}}},
			send: post, delivered: map[string]int{"chat.postMessage": 1}, tries: 2,
		},
		{
			name: "429s are waited out beyond the attempts, which count failures",
			fail: map[string][]failure{"chat.postMessage": {
				{status: http.StatusTooManyRequests}, {status: http.StatusTooManyRequests},
				{status: http.StatusTooManyRequests}, {status: http.StatusTooManyRequests},
			}},
			send: post, delivered: map[string]int{"chat.postMessage": 1}, tries: 5,
		},
		{
			name: "5xx is retried",
			fail: map[string][]failure{"chat.postMessage": {{status: http.StatusServiceUnavailable}, {status: http.StatusBadGateway}}},
			send: post, delivered: map[string]int{"chat.postMessage": 1}, tries: 3,
		},
		{
			name: "5xx until the attempts run out fails",
			fail: map[string][]failure{"chat.postMessage": {{status: 500}, {status: 500}, {status: 500}}},
			send: post, wantErr: true, delivered: map[string]int{}, tries: 3,
		},
		{
			name: "a Slack error is not retried",
			fail: map[string][]failure{"chat.postMessage": {{slackError: "channel_not_found"}}},
			send: post, wantErr: true, delivered: map[string]int{}, tries: 1,
		},
		{
			name: "a response_url takes five answers, the sixth goes to the channel",
			send: respond(time.Now(), false, 6), delivered: map[string]int{"response_url": 5, "chat.postEphemeral": 1},
		},
		{
			name: "an expired response_url is not tried",
			send: respond(time.Now().Add(-31*time.Minute), true, 1), delivered: map[string]int{"chat.postMessage": 1}, tries: 1,
		},
		{
			name: "a refused response_url falls back",
			fail: map[string][]failure{"response_url": {{status: http.StatusNotFound}}},
			send: respond(time.Now(), false, 1), delivered: map[string]int{"chat.postEphemeral": 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeSlack(t)
			for method, fs := range tt.fail {
				f.failNext(method, fs...)
			}
			p := newPoster(t, f)
			err := tt.send(context.Background(), p, f)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if want := map[bool]int64{true: 1, false: 0}[tt.wantErr]; p.Failures() != want {
				t.Errorf("Failures() = %d, want %d", p.Failures(), want)
			}
			got := map[string]int{}
			for _, d := range f.messages("") {
				got[d.Method]++
			}
			if len(got) != len(tt.delivered) {
				t.Errorf("delivered %v, want %v", got, tt.delivered)
			}
			for method, n := range tt.delivered {
				if got[method] != n {
					t.Errorf("delivered %v, want %v", got, tt.delivered)
				}
			}
			tries := f.tries("chat.postMessage")
			if len(tries) != tt.tries {
				t.Errorf("chat.postMessage tried %d times, want %d", len(tries), tt.tries)
			}
			for i, fail := range tt.fail["chat.postMessage"] {
				if wait := time.Duration(fail.retryAfter) * time.Second; i+1 < len(tries) && tries[i+1].At.Sub(tries[i].At) < wait {
					t.Errorf("retried after %s, before Retry-After %s", tries[i+1].At.Sub(tries[i].At), wait)
				}
			}
		})
	}
}

func TestPosterPacesMessagesToOneChannel(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	p := newPoster(t, f)
	p.Interval = 300 * time.Millisecond
	start := time.Now()
	for i := range 3 {
		if err := p.PostMessage(context.Background(), channel, "", slack.Message{Text: "message"}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if took := time.Since(start); took < 2*p.Interval {
		t.Errorf("3 messages to one channel took %s, want at least 2 intervals (%s)", took, 2*p.Interval)
	}
	if n := len(f.messages("chat.postMessage")); n != 3 {
		t.Errorf("delivered %d, want 3", n)
	}
}

// TestPosterKeepsAChannelsOrder: a message Slack refuses for its rate
// limit keeps its place, so one sent after it waits; one whose context
// ends while it waits for its turn is not sent and holds nobody up.
func TestPosterKeepsAChannelsOrder(t *testing.T) {
	t.Parallel()
	f := newFakeSlack(t)
	f.failNext("chat.postMessage", failure{status: http.StatusTooManyRequests, retryAfter: 1})
	p := newPoster(t, f)
	ctx := context.Background()
	first := make(chan error, 1)
	go func() { first <- p.PostMessage(ctx, channel, "", slack.Message{Text: "first"}) }()
	poll.Until(t, "the first message is refused", 10*time.Second, func() bool { return len(f.tries("chat.postMessage")) == 1 })

	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := p.PostMessage(gone, channel, "", slack.Message{Text: "abandoned"}); !errors.Is(err, context.Canceled) {
		t.Errorf("a message whose context ended while it waited: err = %v, want context.Canceled", err)
	}
	if err := p.PostMessage(ctx, channel, "", slack.Message{Text: "second"}); err != nil {
		t.Fatal(err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range f.messages("chat.postMessage") {
		got = append(got, d.Text)
	}
	if want := []string{"first", "second"}; !slices.Equal(got, want) {
		t.Errorf("delivered %q, want %q", got, want)
	}
}
