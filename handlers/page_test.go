package handlers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/handlers"
	"tekbot/test/fake"
)

// ackingPager answers Ack as paging.Pager does after its store or a
// notifier failed: page is what was stored (nil when nothing was).
type ackingPager struct {
	page *paging.Page
	err  error
}

func (p ackingPager) Page(context.Context, time.Time, paging.Request) (*paging.Page, error) {
	return nil, errors.New("not paging in this test")
}

func (p ackingPager) Ack(context.Context, time.Time, string, string) (*paging.Page, error) {
	return p.page, p.err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestPageAckAnswersInWords: every way an ack can fail is answered in
// words, never with the raw error (which names endpoints); what went
// wrong on our side or a service's is logged under the request ID; an ack
// that was stored but not told is still an ack.
func TestPageAckAnswersInWords(t *testing.T) {
	t.Parallel()
	const endpoint = "https://10.96.0.1:443/api/v1/namespaces/tekbot/configmaps"
	stored := &paging.Pager{Store: &paging.Store{ConfigMaps: fake.NewConfigMaps("tekbot")}}
	tests := []struct {
		name      string
		pager     handlers.Pager
		text      string
		want      bot.Outcome
		wantText  string
		wantInLog string
	}{
		{"nothing to ack", stored, "page ack", bot.Refused, "No page is waiting for an ack.", ""},
		{"no such page", stored, "page ack p-nope", bot.Refused, "There is no page `p-nope` to ack.", ""},
		{"acked already", ackingPager{err: &paging.AckedError{ID: "p-1", By: "vincent"}}, "page ack p-1", bot.Noop, "Page p-1 was already acked by vincent.", ""},
		{"the store fails oddly", ackingPager{err: fmt.Errorf("decoding page from %s: unexpected end of JSON input", endpoint)}, "page ack p-1", bot.Failed,
			"Could not ack the page: tekbot's state store returned an error. Nothing was done", endpoint},
		{"acked, but Slack not told", ackingPager{page: &paging.Page{ID: "p-1", Reason: "nightly is red"}, err: errors.New("posting to https://slack.com/api/chat.postMessage: channel_not_found")}, "page ack p-1", bot.Done,
			"andrea acked page p-1 (nightly is red). The captain channel or PagerDuty could not be told of it (request ack-req", "channel_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			cfg := &config.Config{People: people}
			policy := bot.NewPolicy(cfg.Policy)
			reg := handlers.NewRegistry(&handlers.Deps{Config: cfg, Policy: policy, Pager: tt.pager, Log: log})
			b := &bot.Bot{Registry: reg, Policy: policy, Log: log}
			cmd, ok := reg.ParseSlack(tt.text)
			if !ok {
				t.Fatalf("%q does not parse", tt.text)
			}
			andrea := cfg.Person("andrea")
			reply := b.Run(context.Background(), &bot.Request{ID: "ack-req-1", Command: cmd, Caller: bot.Caller{Transport: bot.Slack, ID: andrea.Slack, Person: andrea}})
			if reply.Outcome != tt.want || !strings.Contains(reply.Text, tt.wantText) {
				t.Errorf("reply %s %q, want %s %q", reply.Outcome, reply.Text, tt.want, tt.wantText)
			}
			if strings.Contains(reply.Text, "https://") || strings.Contains(reply.Text, "JSON") || strings.Contains(reply.Text, "channel_not_found") {
				t.Errorf("the reply shows the raw error: %q", reply.Text)
			}
			if tt.wantInLog != "" && (!strings.Contains(logs.String(), tt.wantInLog) || !strings.Contains(logs.String(), "ack-req-1")) {
				t.Errorf("log lacks %q under the request ID:\n%s", tt.wantInLog, logs.String())
			}
		})
	}
}
