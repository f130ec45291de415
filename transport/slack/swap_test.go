package slack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"tekbot/schedule"
	"tekbot/state"
)

// TestSwapAsksTheOtherPersonByDM: "captain swap @andrea" puts the Swap
// buttons in andrea's DM, where only she can press them; the asker is told
// who was asked, and pressing andrea's button himself does nothing.
func TestSwapAsksTheOtherPersonByDM(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	r := e.replica()
	if code, msg := r.PostSlack(t, "/slack/commands", e.slashCommand(vincent, "captain swap <@"+andrea+"|andrea>", "trigger-swap"), time.Now()); code != http.StatusOK {
		t.Fatalf("slash command: %d %q", code, msg)
	}
	r.Drain(t)
	var dm, told *delivery
	for _, d := range e.slack.messages("") {
		switch {
		case d.Method == "chat.postMessage" && d.Channel == andrea:
			dm = &d
		case d.Method == "response_url" && d.ResponseID == "trigger-swap":
			told = &d
		}
	}
	if dm == nil {
		t.Fatalf("andrea was not asked in a DM; Slack saw %+v", e.slack.messages(""))
	}
	if told == nil || !strings.Contains(told.Text, "Asked <@"+andrea+"> in a DM") || strings.Contains(string(told.Blocks), "tekbot-confirm") {
		t.Fatalf("vincent should be told who was asked, without buttons of his own: %+v", told)
	}
	buttons := parseConfirm(t, *dm)

	r = e.replica()
	if code, msg := r.PostSlack(t, "/slack/interactivity", e.click(vincent, "tekbot-confirm", buttons.confirm.Value, "click-vincent"), time.Now()); code != http.StatusOK {
		t.Fatalf("click: %d %q", code, msg)
	}
	r.Drain(t)
	changes, err := (&state.RotationState{ConfigMaps: state.ConfigMapsIn(e.prod.Kube, e.prodNS)}).Changes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(changes.Overrides) != 0 {
		t.Fatalf("the asker's own click swapped: %v", changes.Overrides)
	}

	r = e.replica()
	if code, msg := r.PostSlack(t, "/slack/interactivity", e.click(andrea, "tekbot-confirm", buttons.confirm.Value, "click-andrea"), time.Now()); code != http.StatusOK {
		t.Fatalf("click: %d %q", code, msg)
	}
	r.Drain(t)
	changes, err = (&state.RotationState{ConfigMaps: state.ConfigMapsIn(e.prod.Kube, e.prodNS)}).Changes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	wed, thu := schedule.NewDate(2026, 3, 4), schedule.NewDate(2026, 3, 5)
	if changes.Overrides[wed].Person != "andrea" || changes.Overrides[thu].Person != "vincent" {
		t.Fatalf("andrea's click should swap Wed and Thu, overrides = %v", changes.Overrides)
	}
}
