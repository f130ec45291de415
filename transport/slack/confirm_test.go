package slack

import (
	"slices"
	"strings"
	"testing"

	slackapi "github.com/slack-go/slack"

	"tekbot/bot"
	"tekbot/config"
)

func TestConfirmButtonsCarryTheRequest(t *testing.T) {
	t.Parallel()
	req := &bot.Request{
		ID:      "13345224609.738474920.8088930838d88f008e0",
		Command: bot.Command{Verb: "rerun", Args: []string{"pipeline-release-v1-15-1", "on", "dogfooding"}},
		Caller:  bot.Caller{Transport: bot.Slack, ID: "U0VINCENT"},
	}
	m := confirmMessage("Rerun it?", &bot.Confirm{Title: "Rerun on production?", Button: "Rerun", Approvers: []string{"andrea"}}, req)
	if len(m.Blocks) != 2 || m.Public {
		t.Fatalf("want a private section and actions, got %+v", m)
	}
	actions, ok := m.Blocks[1].(*slackapi.ActionBlock)
	if !ok || actions.BlockID != confirmBlock || len(actions.Elements.ElementSet) != 2 {
		t.Fatalf("want an actions block with two buttons, got %#v", m.Blocks[1])
	}
	for _, el := range actions.Elements.ElementSet {
		button, ok := el.(*slackapi.ButtonBlockElement)
		if !ok {
			t.Fatalf("want buttons, got %#v", el)
		}
		p, err := decodePending(button.Value)
		if err != nil {
			t.Fatal(err)
		}
		if p.Verb != "rerun" || !slices.Equal(p.Args, req.Command.Args) || p.RequestID != req.ID || p.Caller != "U0VINCENT" || !slices.Equal(p.Approvers, []string{"andrea"}) {
			t.Errorf("%s's value decodes to %+v, which is not the request", button.ActionID, p)
		}
	}

	// Slack refuses values over 2000 characters: no buttons, and say so.
	req.Command.Args = []string{strings.Repeat("x", 2000)}
	long := confirmMessage("Rerun it?", &bot.Confirm{}, req)
	if len(long.Blocks) != 0 || !strings.Contains(long.Text, "Nothing was run") {
		t.Errorf("an oversized confirmation = %+v, want text saying nothing was run", long)
	}
}

func TestMayConfirm(t *testing.T) {
	t.Parallel()
	a := &Adapter{Config: &config.Config{People: []config.Person{
		{Name: "vincent", Slack: "U0VINCENT"}, {Name: "andrea", Slack: "U0ANDREA"}, {Name: "no-slack"},
	}}}
	tests := []struct {
		name      string
		user      string
		approvers []string
		want      bool
	}{
		{"the caller", "U0VINCENT", nil, true},
		{"someone else", "U0ANDREA", nil, false},
		{"an approver", "U0ANDREA", []string{"andrea"}, true},
		{"the caller, when approvers are named", "U0VINCENT", []string{"andrea"}, false},
		{"a stranger", "U0STRANGER", []string{"andrea"}, false},
		{"no user ID", "", []string{"no-slack"}, false},
	}
	for _, tt := range tests {
		p := pending{Verb: "promote", RequestID: "r1", Caller: "U0VINCENT", Approvers: tt.approvers}
		if got := a.mayConfirm(tt.user, p); got != tt.want {
			t.Errorf("%s: mayConfirm(%q) = %v, want %v", tt.name, tt.user, got, tt.want)
		}
	}
}

func TestConfirmButtonsNameWhoMayPress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		value   string
		pressBy string // a Slack user allowed to press, when readable
	}{
		{"the caller's", `{"v":"rerun","a":["x"],"r":"r1","u":"U0VINCENT"}`, "U0VINCENT"},
		{"an offer nobody asked for, to its approvers", `{"v":"promote","a":["pipeline"],"r":"train/dogfooding/pipeline/2026-03-04","p":["andrea"]}`, "U0ANDREA"},
		{"an offer nobody may press", `{"v":"promote","a":["pipeline"],"r":"r1"}`, ""},
		{"an offer with an empty caller and no approvers", `{"v":"promote","a":["pipeline"],"r":"r1","u":""}`, ""},
		{"no verb", `{"a":["x"],"r":"r1","u":"U0VINCENT"}`, ""},
		{"no request", `{"v":"rerun","a":["x"],"u":"U0VINCENT"}`, ""},
	}
	a := &Adapter{Config: &config.Config{People: []config.Person{{Name: "vincent", Slack: "U0VINCENT"}, {Name: "andrea", Slack: "U0ANDREA"}}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := decodePending(tt.value)
			if tt.pressBy == "" {
				if err == nil {
					t.Fatalf("decoded %+v, want it refused", p)
				}
				return
			}
			if err != nil || !a.mayConfirm(tt.pressBy, p) {
				t.Fatalf("decoded %+v, %v: want it pressable by %s", p, err, tt.pressBy)
			}
			// And tekbot makes the same button again.
			if value, err := p.encode(); err != nil || value == "" {
				t.Fatalf("encoding %+v: %v", p, err)
			}
		})
	}

	// tekbot posts no button nobody may press: it says nothing was run.
	req := &bot.Request{ID: "r1", Command: bot.Command{Verb: "promote", Args: []string{"pipeline"}}, Caller: bot.Caller{Transport: bot.Slack}}
	if m := confirmMessage("Promote?", &bot.Confirm{Button: "Approve"}, req); len(m.Blocks) != 0 || !strings.Contains(m.Text, "Nothing was run") {
		t.Errorf("a button nobody may press = %+v, want text saying nothing was run", m)
	}
}
