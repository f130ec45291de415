package slack_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"tekbot/test/kube"
)

// envelope is a Socket Mode message as Slack pushes it.
func envelope(t *testing.T, id, kind string, payload any) string {
	t.Helper()
	return mustJSON(t, map[string]any{"envelope_id": id, "type": kind, "payload": payload, "accepts_response_payload": kind == "slash_commands"})
}

// socketAck is what tekbot sends back over the websocket.
type socketAck struct {
	EnvelopeID string `json:"envelope_id"`
	Payload    *struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	} `json:"payload"`
}

// nextAck waits for the next message tekbot writes to the websocket. The
// deadline only turns a hang into a failure.
func (f *fakeSlack) nextAck(t *testing.T) socketAck {
	t.Helper()
	select {
	case raw := <-f.SeenFeed:
		var ack socketAck
		if err := json.Unmarshal([]byte(raw), &ack); err != nil {
			t.Fatalf("tekbot wrote %q to the websocket: %v", raw, err)
		}
		return ack
	case <-time.After(time.Minute):
		t.Fatal("no acknowledgement within a minute")
		return socketAck{}
	}
}

func TestSocketModeAcknowledgesAndHandlesLikeHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{nightly: true})
	orig := seed(t, e.nightly, e.nightlyNS, "pipeline-nightly-9c1e8d7", kube.Failed)
	r := e.replica()
	// slacktest never pings; Slack does, and the client reconnects when
	// pings stop.
	client := socketmode.New(e.api(), socketmode.OptionPingInterval(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- r.Slack.RunSocketMode(ctx, client) }()

	e.slack.SendToWebsocket(envelope(t, "env-command-1", "slash_commands", slackapi.SlashCommand{
		TeamID: "T0TEKTON", ChannelID: channel, UserID: vincent, Command: "/tekton", Text: "rerun " + orig,
		ResponseURL: e.slack.responseURL("trigger-socket-1"), TriggerID: "trigger-socket-1", APIAppID: "A0TEKBOT",
	}))
	ack := e.slack.nextAck(t)
	if ack.EnvelopeID != "env-command-1" || ack.Payload == nil || ack.Payload.ResponseType != "ephemeral" ||
		!strings.Contains(ack.Payload.Text, "Working on `rerun`") {
		t.Fatalf("command acknowledged with %+v, want env-command-1 and an ephemeral 'Working on `rerun`'", ack)
	}
	result := e.slack.next(t)
	runs := reruns(t, e.nightly, e.nightlyNS, orig)
	if len(runs) != 1 || result.ResponseID != "trigger-socket-1" || result.ResponseType != "in_channel" || !strings.Contains(result.Text, runs[0].Name) {
		t.Fatalf("want one rerun announced through the response_url, got runs %d and %+v", len(runs), result)
	}

	const ts = "1767326199.000100"
	var mention map[string]any
	if err := json.Unmarshal(e.mention("Ev0SOCKET1", andrea, "<@"+botUser+"> status", ts), &mention); err != nil {
		t.Fatal(err)
	}
	e.slack.SendToWebsocket(envelope(t, "env-event-1", "events_api", mention))
	if ack := e.slack.nextAck(t); ack.EnvelopeID != "env-event-1" || ack.Payload != nil {
		t.Fatalf("event acknowledged with %+v, want env-event-1 without payload", ack)
	}
	status := e.slack.next(t)
	if status.Method != "chat.postMessage" || status.ThreadTS != ts || !strings.Contains(status.Text, "*nightly* (nightly, "+e.nightlyNS+"): 1 pipelines, 0 failing") {
		t.Fatalf("want the status in the mention's thread, got %+v", status)
	}

	cancel()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("RunSocketMode after cancel: %v, want nil", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("RunSocketMode did not stop within a minute of its context ending")
	}
}
