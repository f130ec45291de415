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
