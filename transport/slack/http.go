package slack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"tekbot/bot"
)

// Register mounts the Slack endpoints: the slash command's, the
// interactivity one (button clicks) and the Events API one.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /slack/commands", a.ServeCommand)
	mux.HandleFunc("POST /slack/interactivity", a.ServeInteraction)
	mux.HandleFunc("POST /slack/events", a.ServeEvent)
}

// ServeCommand receives /tekton slash commands.
func (a *Adapter) ServeCommand(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verify(w, r)
	if !ok {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sc, err := slackapi.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "malformed form body", http.StatusBadRequest)
		return
	}
	a.command(r.Context(), sc, httpAck{w})
}

// ServeInteraction receives clicks on tekbot's buttons: a form whose
// payload field holds the interaction as JSON.
func (a *Adapter) ServeInteraction(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verify(w, r)
	if !ok {
		return
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		http.Error(w, "malformed form body: want a payload field", http.StatusBadRequest)
		return
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "malformed interaction payload", http.StatusBadRequest)
		return
	}
	a.interaction(r.Context(), cb, httpAck{w})
}

// ServeEvent receives the Events API: the URL verification challenge when
// the app is configured, then event callbacks.
func (a *Adapter) ServeEvent(w http.ResponseWriter, r *http.Request) {
	body, ok := a.verify(w, r)
	if !ok {
		return
	}
	var outer struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		Event     struct {
			Type string `json:"type"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &outer); err != nil {
		http.Error(w, "malformed event JSON", http.StatusBadRequest)
		return
	}
	switch {
	case outer.Type == slackevents.URLVerification:
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, outer.Challenge)
		return
	case outer.Type == slackevents.CallbackEvent && outer.Event.Type != string(slackevents.AppMention):
		// slackevents cannot parse every inner type, and tekbot needs none
		// but mentions: acknowledge the rest unread.
		w.WriteHeader(http.StatusOK)
		return
	}
	ev, err := slackevents.ParseEvent(body, slackevents.OptionNoVerifyToken())
	if err != nil {
		http.Error(w, "malformed event", http.StatusBadRequest)
		return
	}
	// Only a retry number Slack sent counts; a garbled one is a first try.
	retry, _ := strconv.Atoi(r.Header.Get("X-Slack-Retry-Num"))
	if retry > 0 {
		a.Log.InfoContext(r.Context(), "slack event retried", "retry", retry, "reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	a.event(r.Context(), ev, retry, httpAck{w})
}

// verify reads the body, at most MaxBody bytes, and checks Slack's
// signature of it, which also refuses requests older than five minutes
// (replays). It answers the request itself when it returns false.
func (a *Adapter) verify(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("body larger than %d bytes", a.MaxBody), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "could not read body", http.StatusBadRequest)
		return nil, false
	}
	sv, err := slackapi.NewSecretsVerifier(r.Header, a.SigningSecret)
	if err == nil {
		_, err = sv.Write(body)
	}
	if err == nil {
		err = sv.Ensure()
	}
	if err != nil {
		a.Metrics.VerificationFailed(bot.Slack)
		a.Log.WarnContext(r.Context(), "slack request rejected: signature", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
		http.Error(w, "invalid, expired or missing X-Slack-Signature", http.StatusUnauthorized)
		return nil, false
	}
	return body, true
}

// httpAck answers over HTTP.
type httpAck struct{ w http.ResponseWriter }

func (h httpAck) ok(answer *slackapi.Msg) {
	if answer == nil {
		h.w.WriteHeader(http.StatusOK)
		return
	}
	h.w.Header().Set("Content-Type", "application/json")
	// The answer is small and made here; a write error means the client
	// has gone, and nobody is left to tell.
	_ = json.NewEncoder(h.w).Encode(answer)
	// Work queued behind this answer starts once it is on the wire.
	_ = http.NewResponseController(h.w).Flush()
}

func (h httpAck) reject(status int, why string) { http.Error(h.w, why, status) }
