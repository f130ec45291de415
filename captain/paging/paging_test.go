package paging_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"

	"tekbot/captain/paging"
	"tekbot/config"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/test/fake"
)

// slackAPI speaks the part of Slack's Web API a page uses and records who
// was told what: channel posts, and DMs (conversations.open then post).
type slackAPI struct {
	mu    sync.Mutex
	posts []string // "channel: text"
}

func (s *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/conversations.open":
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": map[string]any{"id": "D-" + r.PostForm.Get("users")}})
	case "/chat.postMessage":
		s.mu.Lock()
		s.posts = append(s.posts, r.PostForm.Get("channel")+": "+r.PostForm.Get("text"))
		s.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": "1.1"})
	default:
		http.Error(w, `{"ok":false,"error":"unknown_method"}`, http.StatusNotFound)
	}
}

func (s *slackAPI) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.posts
	s.posts = nil
	return out
}

type notifier struct{ client *slackapi.Client }

func (n notifier) Post(ctx context.Context, channel, text string) error {
	_, _, err := n.client.PostMessageContext(ctx, channel, slackapi.MsgOptionText(text, false))
	return err
}

func (n notifier) DirectMessage(ctx context.Context, to *config.Person, text, ackPage string) error {
	ch, _, _, err := n.client.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{to.Slack}})
	if err != nil {
		return err
	}
	return n.Post(ctx, ch.ID, text+" [Ack button for page "+ackPage+"]")
}

// pagerDuty speaks the Events API v2 and records the events.
type pagerDuty struct {
	mu     sync.Mutex
	events []string // "action dedup_key"
}

func (p *pagerDuty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		RoutingKey  string `json:"routing_key"`
		EventAction string `json:"event_action"`
		DedupKey    string `json:"dedup_key"`
	}
	if r.URL.Path != "/v2/enqueue" || json.NewDecoder(r.Body).Decode(&ev) != nil || ev.RoutingKey != "rk-test" {
		http.Error(w, `{"status":"invalid event"}`, http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.events = append(p.events, ev.EventAction+" "+ev.DedupKey)
	p.mu.Unlock()
	w.WriteHeader(http.StatusAccepted)
	fmt.Fprintf(w, `{"status":"success","dedup_key":%q}`, ev.DedupKey)
}

func rome() *time.Location { l, _ := time.LoadLocation("Europe/Rome"); return l }

func at(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, rome()) }

func newPager(t *testing.T) (*paging.Pager, *paging.Pager, *slackAPI, *pagerDuty) {
	t.Helper()
	// Both replicas share one state namespace: the in-memory ConfigMaps,
	// which state's contract suite holds to the apiserver's behaviour.
	cms := fake.NewConfigMaps("tekbot")
	slackSrv, pdSrv := &slackAPI{}, &pagerDuty{}
	s1, s2 := httptest.NewServer(slackSrv), httptest.NewServer(pdSrv)
	t.Cleanup(s1.Close)
	t.Cleanup(s2.Close)
	cfg := &config.Config{People: []config.Person{
		{Name: "andrea", Slack: "U01ANDREA"}, {Name: "vincent", Slack: "U01VINCENT"}, {Name: "jerop", Slack: "U01JEROP"},
	}}
	rot := schedule.Rotation{Roster: []string{"andrea", "vincent", "jerop"}, Location: rome(),
		Handoff: schedule.TimeOfDay{Hour: 9}, Start: schedule.NewDate(2026, 11, 2), StartPerson: "andrea"}
	replica := func() *paging.Pager {
		return &paging.Pager{
			Rotation: func(context.Context) (schedule.Rotation, error) { return rot, nil },
			Config:   cfg, Store: &paging.Store{ConfigMaps: cms},
			Notifier:      notifier{slackapi.New("xoxb-test", slackapi.OptionAPIURL(s1.URL+"/"))},
			PagerDuty:     &paging.PagerDuty{URL: s2.URL + "/v2/enqueue", RoutingKey: "rk-test"},
			Channel:       "C01CAPTAIN",
			EscalateAfter: 15 * time.Minute,
			Claims:        &state.Claims{ConfigMaps: cms},
			Log:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
	}
	return replica(), replica(), slackSrv, pdSrv
}

func contains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestPageEscalateAck: page → channel post and DM → no ack → the backup
// after the delay (once, with two replicas ticking) → ack stops the rest.
// Mon 23 Nov 2026: andrea is on duty (duty day 16, index 15 → andrea).
func TestPageEscalateAck(t *testing.T) {
	t.Parallel()
	a, b, sl, pd := newPager(t)
	ctx := context.Background()
	pg, err := a.Page(ctx, at(23, 10, 0), paging.Request{ID: "req-1", Requester: "sam", Reason: "nightly is red", Link: "https://github.com/tektoncd/pipeline/pull/42"})
	if err != nil {
		t.Fatal(err)
	}
	posts := sl.take()
	if len(posts) != 2 || !contains(posts, "C01CAPTAIN: <@U01ANDREA> :rotating_light: page from sam: nightly is red") || !contains(posts, "D-U01ANDREA: ") ||
		!contains(posts, "[Ack button for page "+pg.ID+"]") {
		t.Fatalf("page: %q", posts)
	}
	// A retried request finds the same page.
	if again, err := b.Page(ctx, at(23, 10, 0), paging.Request{ID: "req-1", Requester: "sam", Reason: "nightly is red"}); err != nil || again.ID != pg.ID || len(sl.take()) != 0 {
		t.Fatalf("retry paged again: %v %v", again, err)
	}
	for _, now := range []time.Time{at(23, 10, 10), at(23, 10, 16), at(23, 10, 20)} {
		for _, r := range []*paging.Pager{a, b} {
			if err := r.Tick(ctx, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	posts = sl.take()
	if len(posts) != 2 || !contains(posts, "D-U01VINCENT: <@U01VINCENT> :rotating_light: andrea did not ack") {
		t.Fatalf("escalation to the backup (vincent), once: %q", posts)
	}
	if _, err := b.Ack(ctx, at(23, 10, 25), "", "vincent"); err != nil {
		t.Fatal(err)
	}
	if err := a.Tick(ctx, at(23, 11, 0)); err != nil {
		t.Fatal(err)
	}
	posts = sl.take()
	if len(posts) != 1 || !strings.Contains(posts[0], "vincent acked page "+pg.ID) {
		t.Fatalf("after the ack only the ack is posted, no @here: %q", posts)
	}
	if _, err := a.Ack(ctx, at(23, 11, 0), pg.ID, "andrea"); err == nil || !strings.Contains(err.Error(), "already acked by vincent") {
		t.Errorf("second ack: %v", err)
	}
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if want := []string{"trigger " + pg.ID, "resolve " + pg.ID}; fmt.Sprint(pd.events) != fmt.Sprint(want) {
		t.Errorf("PagerDuty events = %v, want %v", pd.events, want)
	}
}

func TestUnackedPageReachesTheChannel(t *testing.T) {
	t.Parallel()
	a, _, sl, _ := newPager(t)
	ctx := context.Background()
	if _, err := a.Page(ctx, at(23, 10, 0), paging.Request{ID: "req-2", Requester: "sam", Reason: "prod deploy stuck"}); err != nil {
		t.Fatal(err)
	}
	for _, now := range []time.Time{at(23, 10, 15), at(23, 10, 30), at(23, 10, 45), at(23, 11, 0)} {
		if err := a.Tick(ctx, now); err != nil {
			t.Fatal(err)
		}
	}
	posts := sl.take()
	here := 0
	for _, p := range posts {
		if strings.Contains(p, "<!here>") {
			here++
		}
	}
	if here != 1 {
		t.Fatalf("want one @here after the backup, got %d in %q", here, posts)
	}
}

func TestPageOutsideWorkingHoursWaitsForTheHandoff(t *testing.T) {
	t.Parallel()
	a, _, sl, _ := newPager(t)
	ctx := context.Background()
	pg, err := a.Page(ctx, at(21, 15, 0), paging.Request{ID: "req-sat", Requester: "sam", Reason: "flaky e2e"}) // a Saturday
	if err != nil {
		t.Fatal(err)
	}
	if !pg.DeliverAt.Equal(at(23, 9, 0)) || len(sl.take()) != 0 {
		t.Fatalf("queued until Monday 09:00: deliver at %s", pg.DeliverAt)
	}
	if err := a.Tick(ctx, at(23, 8, 59)); err != nil || len(sl.take()) != 0 {
		t.Fatalf("delivered early: %v", err)
	}
	if err := a.Tick(ctx, at(23, 9, 0)); err != nil {
		t.Fatal(err)
	}
	if posts := sl.take(); len(posts) != 2 || !contains(posts, "<@U01ANDREA>") {
		t.Fatalf("Monday's captain should get it at the handoff: %q", posts)
	}
	urgent, err := a.Page(ctx, at(22, 3, 0), paging.Request{ID: "req-sun", Requester: "sam", Reason: "prod down", Urgent: true})
	if err != nil || !urgent.Delivered {
		t.Fatalf("an urgent page goes out at once: %+v %v", urgent, err)
	}
}

func TestPagesAreRateLimitedPerRequester(t *testing.T) {
	t.Parallel()
	a, _, _, _ := newPager(t)
	ctx := context.Background()
	for i := range paging.MaxPagesPerHour + 1 {
		_, err := a.Page(ctx, at(23, 10, i), paging.Request{ID: fmt.Sprint("rl-", i), Requester: "sam", Reason: "again"})
		if (i < paging.MaxPagesPerHour) != (err == nil) || (err != nil && !errors.Is(err, paging.ErrRateLimited)) {
			t.Fatalf("page %d: %v", i+1, err)
		}
	}
	if _, err := a.Page(ctx, at(23, 10, 5), paging.Request{ID: "rl-other", Requester: "jerop", Reason: "mine"}); err != nil {
		t.Fatalf("another requester is not limited: %v", err)
	}
}

// TestPageReasonIsShownNotSent: a page reason cannot ping the channel,
// mention someone or hide a link in the captain channel.
func TestPageReasonIsShownNotSent(t *testing.T) {
	t.Parallel()
	a, _, sl, _ := newPager(t)
	reason := "<!channel> see <https://evil.example|the dashboard> or [logs](https://evil.example) <@U01JEROP>"
	if _, err := a.Page(context.Background(), at(23, 10, 0), paging.Request{ID: "req-hostile", Requester: "sam", Reason: reason}); err != nil {
		t.Fatal(err)
	}
	posts := sl.take()
	if !contains(posts, "C01CAPTAIN: ") {
		t.Fatalf("no channel post: %q", posts)
	}
	for _, p := range posts {
		for _, live := range []string{"<!channel>", "<https://evil.example|", "](https://", "<@U01JEROP>"} {
			if strings.Contains(p, live) {
				t.Errorf("the page reason reached Slack live (%q): %q", live, p)
			}
		}
	}
}
