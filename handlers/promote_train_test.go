package handlers_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/promotion"
	"tekbot/state"
	"tekbot/test/kube"
)

func TestPromotionTrainPostsOncePerWorkingDayAndWaitsForApproval(t *testing.T) {
	t.Parallel()
	env := dogfooding()
	env.TwoPersonRule = true
	env.Train = &config.Train{At: "10:00", TimeZone: "Europe/Rome", Projects: []string{"pipeline"}}
	w := newPromoWorld(t, nil, env)
	w.release("pipeline", "v20261122-bbbbbbb", kube.Succeeded)
	claims := &state.Claims{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
	replicas := []*promotion.Engine{w.deps.Promotions(), w.deps.Promotions()}
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day string, hour, minute int) time.Time {
		d, err := time.ParseInLocation(time.DateOnly, day, rome)
		if err != nil {
			t.Fatal(err)
		}
		return d.Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
	}
	// tick runs every replica's train at once and returns what was posted.
	tick := func(now time.Time) []post {
		t.Helper()
		var wg sync.WaitGroup
		for _, e := range replicas {
			wg.Go(func() {
				if err := e.TrainTick(context.Background(), now, claims); err != nil {
					t.Errorf("tick at %s: %v", now, err)
				}
			})
		}
		wg.Wait()
		var got []post
		for {
			select {
			case p := <-w.notes.posts:
				got = append(got, p)
			default:
				return got
			}
		}
	}
	tests := []struct {
		name  string
		now   time.Time
		posts int
	}{
		{"Monday before the time", at("2026-11-23", 9, 59), 0},
		{"Monday at the time", at("2026-11-23", 10, 5), 1},
		{"Monday later", at("2026-11-23", 16, 0), 0},
		{"Saturday", at("2026-11-28", 10, 5), 0},
		{"Christmas, a holiday", at("2026-12-25", 10, 5), 0},
		{"Tuesday", at("2026-11-24", 10, 0), 1},
	}
	var monday post
	for _, tt := range tests {
		got := tick(tt.now)
		if len(got) != tt.posts {
			t.Fatalf("%s: %d posts, want %d", tt.name, len(got), tt.posts)
		}
		if tt.name == "Monday at the time" {
			monday = got[0]
		}
	}
	if n := len(w.deploys()); n != 0 {
		t.Fatalf("the train deployed %d times without an approval", n)
	}
	if c := monday.reply.Confirm; c == nil || c.Button != "Approve" || strings.Join(c.Approvers, ",") != "andrea,vincent" || monday.offer == nil ||
		monday.offer.Command.String() != "promote pipeline v20261122-bbbbbbb to dogfooding" ||
		!strings.Contains(monday.reply.Text, "🚂 Promotion train: promote *pipeline* to *dogfooding*: `none recorded` → `v20261122-bbbbbbb`?") {
		t.Fatalf("Monday's proposal: %q %+v %+v", monday.reply.Text, monday.reply.Confirm, monday.offer)
	}
	// andrea approves first: under the two-person rule that is asking.
	first := w.slack("andrea", monday.offer.Command.String(), true, monday.offer.ID)
	if first.Outcome != bot.Pending || !strings.Contains(first.Text, "Waiting for a second person") || len(w.deploys()) != 0 {
		t.Fatalf("first approval: %s %q, %d deploys", first.Outcome, first.Text, len(w.deploys()))
	}
	ask := w.notes.next(t, "andrea asks to promote *pipeline* to *dogfooding*")
	if self := w.slack("andrea", ask.offer.Command.String(), true, ask.offer.ID); self.Outcome != bot.Refused || len(w.deploys()) != 0 {
		t.Fatalf("andrea approving twice: %s %q", self.Outcome, self.Text)
	}
	second := w.slack("vincent", ask.offer.Command.String(), true, ask.offer.ID)
	if second.Outcome != bot.Done || len(w.deploys()) != 1 {
		t.Fatalf("second approval: %s %q, %d deploys", second.Outcome, second.Text, len(w.deploys()))
	}
}

// TestPromotionTrainOffersNoButtonNobodyMayPress: when nobody may promote
// to the environment, the train says so rather than post an Approve
// button that would wait forever.
func TestPromotionTrainOffersNoButtonNobodyMayPress(t *testing.T) {
	t.Parallel()
	env := dogfooding()
	env.Allow = []string{"auditors"} // a role nobody holds
	env.Train = &config.Train{At: "10:00", TimeZone: "UTC", Projects: []string{"pipeline"}}
	w := newPromoWorld(t, nil, env)
	w.release("pipeline", "v20261122-bbbbbbb", kube.Succeeded)
	claims := &state.Claims{ConfigMaps: state.ConfigMapsIn(w.prod.Kube, w.pNS)}
	monday := time.Date(2026, 11, 23, 10, 5, 0, 0, time.UTC)
	if err := w.deps.Promotions().TrainTick(context.Background(), monday, claims); err != nil {
		t.Fatal(err)
	}
	got := w.notes.next(t, "🚂 Promotion train: nothing to propose for *pipeline* on *dogfooding* today. Nobody may promote to dogfooding, so nobody could approve.")
	if got.reply.Confirm != nil || got.offer != nil {
		t.Fatalf("the train offered a button nobody may press: %+v %+v", got.reply.Confirm, got.offer)
	}
}
