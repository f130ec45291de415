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
	"net/url"
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
		c.Handle("/chat.postMessage", s.method("chat.postMessage", s.postMessage))
		c.Handle("/chat.update", s.method("chat.update", s.update))
		c.Handle("/usergroups.users.update", s.method("usergroups.users.update", s.groupUpdate))
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

// method serves one Web API method: a form post in, fn's answer out as
// JSON, or a scope error while Fail says so.
func (s *Server) method(name string, fn func(form url.Values) map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		answer := map[string]any{"ok": false, "error": "missing_scope", "needed": "usergroups:write"}
		if s.failing[name] > 0 {
			s.failing[name]--
		} else {
			answer = fn(r.PostForm)
		}
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	}
}

func (s *Server) postMessage(form url.Values) map[string]any {
	m := &Message{
		Channel: form.Get("channel"), ThreadTS: form.Get("thread_ts"), Text: form.Get("text"),
		TS: fmt.Sprintf("1700000000.%06d", len(s.messages)+1),
	}
	s.messages = append(s.messages, m)
	return map[string]any{"ok": true, "channel": m.Channel, "ts": m.TS, "message": map[string]any{"type": "message", "text": m.Text, "ts": m.TS}}
}

func (s *Server) update(form url.Values) map[string]any {
	channel, ts := form.Get("channel"), form.Get("ts")
	for _, m := range s.messages {
		if m.Channel == channel && m.TS == ts {
			m.Text = form.Get("text")
			m.Edits++
			return map[string]any{"ok": true, "channel": channel, "ts": ts, "text": m.Text}
		}
	}
	return map[string]any{"ok": false, "error": "message_not_found"}
}

func (s *Server) groupUpdate(form url.Values) map[string]any {
	g := GroupUpdate{Group: form.Get("usergroup"), Users: strings.Split(form.Get("users"), ",")}
	if g.Group == "" || form.Get("users") == "" {
		return map[string]any{"ok": false, "error": "invalid_arguments"}
	}
	s.groups = append(s.groups, g)
	return map[string]any{"ok": true, "usergroup": map[string]any{"id": g.Group, "is_usergroup": true, "users": g.Users, "user_count": len(g.Users)}}
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
