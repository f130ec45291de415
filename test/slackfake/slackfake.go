// Package slackfake is slack-go's slacktest server with the Web API methods
// tekbot's live captain duties call and slacktest lacks or simplifies:
// chat.postMessage with unique message timestamps and threads, chat.update
// and usergroups.users.update, answering in Slack's wire format (form
// posts in, {"ok": …} JSON out) and recording every call for tests.
package slackfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/slack-go/slack/slacktest"
)

// Message is a message as posted, and as last edited.
type Message struct {
	Channel, TS, ThreadTS, Text string
	// Edits counts the chat.update calls on it.
	Edits int
}

// GroupUpdate is one usergroups.users.update call.
type GroupUpdate struct {
	Group string
	Users []string
}

// Server is a running fake Slack Web API.
type Server struct {
	*slacktest.Server

	mu       sync.Mutex
	messages []*Message
	groups   []GroupUpdate
	failing  map[string]int // method → calls still to fail
}

// New starts a server; Stop it when done.
func New() *Server {
	s := &Server{failing: map[string]int{}}
	s.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", s.postMessage)
		c.Handle("/chat.update", s.update)
		c.Handle("/usergroups.users.update", s.groupUpdate)
	})
	s.Start()
	return s
}

// APIURL is the base URL for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.GetAPIURL() }

// Fail makes the next n calls of method answer an error, as Slack does
// when the app lacks a scope.
func (s *Server) Fail(method string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing[method] = n
}

func (s *Server) failed(w http.ResponseWriter, method string) bool {
	if s.failing[method] == 0 {
		return false
	}
	s.failing[method]--
	reply(w, map[string]any{"ok": false, "error": "missing_scope", "needed": "usergroups:write"})
	return true
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed(w, "chat.postMessage") {
		return
	}
	m := &Message{
		Channel: r.PostForm.Get("channel"), ThreadTS: r.PostForm.Get("thread_ts"), Text: r.PostForm.Get("text"),
		TS: fmt.Sprintf("1700000000.%06d", len(s.messages)+1),
	}
	s.messages = append(s.messages, m)
	reply(w, map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "message": map[string]any{"type": "message", "text": m.Text, "ts": m.TS}})
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed(w, "chat.update") {
		return
	}
	channel, ts := r.PostForm.Get("channel"), r.PostForm.Get("ts")
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			m.Text = r.PostForm.Get("text")
			m.Edits++
			reply(w, map[string]any{"ok": true, "channel": channel, "ts": ts, "text": m.Text})
			return
		}
	}
	reply(w, map[string]any{"ok": false, "error": "message_not_found"})
}

func (s *Server) groupUpdate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failed(w, "usergroups.users.update") {
		return
	}
	g := GroupUpdate{Group: r.PostForm.Get("usergroup"), Users: strings.Split(r.PostForm.Get("users"), ",")}
	if g.Group == "" || r.PostForm.Get("users") == "" {
		reply(w, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	s.groups = append(s.groups, g)
	reply(w, map[string]any{"ok": true, "usergroup": map[string]any{"id": g.Group, "is_usergroup": true, "users": g.Users, "user_count": len(g.Users)}})
}

// Messages returns copies of the messages posted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		out[i] = *m
	}
	return out
}

// GroupUpdates returns the usergroups.users.update calls so far.
func (s *Server) GroupUpdates() []GroupUpdate {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]GroupUpdate(nil), s.groups...)
}
