package slack

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	slackapi "github.com/slack-go/slack"

	"tekbot/bot"
)

// The buttons of a confirm dialog.
const (
	actionConfirm = "tekbot-confirm"
	actionCancel  = "tekbot-cancel"
	confirmBlock  = "tekbot-confirm"
)

// Slack's limits on Block Kit fields.
const (
	maxButtonValue  = 2000
	maxSectionText  = 3000
	maxDialogTitle  = 100
	maxDialogText   = 300
	maxDialogButton = 30
	maxButtonText   = 75
)

// pending is a command waiting for its confirmation. It travels in the
// buttons' value, so no state is kept between question and answer: Slack
// hands the value back with the click (in a signed request, and users
// cannot edit a button), and the click is authorised again before
// anything runs.
type pending struct {
	Verb string   `json:"v"`
	Args []string `json:"a"`
	// RequestID is the original request's: the confirmed run reuses it,
	// so a second confirmation finds the first one's PipelineRun.
	RequestID string `json:"r"`
	// Caller is the Slack user who asked; empty on an offer nobody asked
	// for (the promotion train's), which names its Approvers instead.
	Caller string `json:"u,omitempty"`
	// Approvers are who may confirm instead of the caller, by config name
	// as in policy.roles.
	Approvers []string `json:"p,omitempty"`
}

// check refuses a button that runs nothing or that nobody may press:
// tekbot posts none, and a click on one is not tekbot's.
func (p pending) check() error {
	if p.Verb == "" || p.RequestID == "" || (p.Caller == "" && len(p.Approvers) == 0) {
		return errors.New("a confirm button needs a verb, a request ID, and a caller or approvers")
	}
	return nil
}

func (p pending) encode() (string, error) {
	if err := p.check(); err != nil {
		return "", err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("encoding the confirmation: %w", err)
	}
	if len(b) > maxButtonValue {
		return "", fmt.Errorf("the command is too long to confirm with a button (%d bytes, Slack takes %d)", len(b), maxButtonValue)
	}
	return string(b), nil
}

func decodePending(value string) (pending, error) {
	var p pending
	if err := json.Unmarshal([]byte(value), &p); err != nil {
		return pending{}, fmt.Errorf("decoding a confirm button: %w", err)
	}
	if err := p.check(); err != nil {
		return pending{}, err
	}
	return p, nil
}

// confirmMessage asks the caller, privately, to confirm with a danger
// button that asks once more before it acts, or to cancel.
func confirmMessage(text string, c *bot.Confirm, req *bot.Request) Message {
	cmd := req.Command
	if c.Command != nil {
		cmd = *c.Command
	}
	p := pending{Verb: cmd.Verb, Args: cmd.Args, RequestID: req.ID, Caller: req.Caller.ID, Approvers: c.Approvers}
	value, err := p.encode()
	if err != nil {
		return Message{Text: text + "\n\nNothing was run: " + err.Error() + "."}
	}
	title := cmp.Or(c.Title, "Are you sure?")
	button := cmp.Or(c.Button, "Confirm")
	plain := func(s string, n int) *slackapi.TextBlockObject {
		return slackapi.NewTextBlockObject(slackapi.PlainTextType, clip(s, n), false, false)
	}
	dialog := slackapi.NewConfirmationBlockObject(
		plain(title, maxDialogTitle),
		slackapi.NewTextBlockObject(slackapi.MarkdownType, clip(Mrkdwn(cmp.Or(c.Text, title)), maxDialogText), false, false),
		plain(button, maxDialogButton),
		plain("Cancel", maxDialogButton),
	).WithStyle(slackapi.StyleDanger)
	ok := slackapi.NewButtonBlockElement(actionConfirm, value, plain(button, maxButtonText)).
		WithStyle(slackapi.StyleDanger).WithConfirm(dialog)
	cancel := slackapi.NewButtonBlockElement(actionCancel, value, plain("Cancel", maxButtonText))
	return Message{Text: text, Blocks: []slackapi.Block{
		slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, clip(text, maxSectionText), false, false), nil, nil),
		slackapi.NewActionBlock(confirmBlock, ok, cancel),
	}}
}

// mayConfirm says whether a Slack user may press a confirm dialog's
// buttons: its approvers if it names any, else the caller alone.
func (a *Adapter) mayConfirm(user string, p pending) bool {
	if len(p.Approvers) == 0 {
		return user == p.Caller
	}
	person := a.personBySlack(user)
	return person != nil && slices.Contains(p.Approvers, person.Name)
}

// whoMayConfirm names them for a refusal, as mentions where possible.
func (a *Adapter) whoMayConfirm(p pending) string {
	if len(p.Approvers) == 0 {
		return "<@" + p.Caller + ">"
	}
	names := make([]string, len(p.Approvers))
	for i, name := range p.Approvers {
		names[i] = name
		if person := a.Config.Person(name); person != nil && person.Slack != "" {
			names[i] = "<@" + person.Slack + ">"
		}
	}
	return strings.Join(names, ", ")
}
