package slack_test

import (
	"encoding/json"
	"mime"
	"net/http"
	"path"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

const botToken = "xoxb-test-bot-token"

// fakeSlack is Slack as tekbot meets it: slacktest's server (auth,
// apps.connections.open and the Socket Mode websocket) plus
// chat.postMessage, chat.postEphemeral and response_urls that speak Slack's
// wire format, record what reaches them, and can be told to fail first.
type fakeSlack struct {
	*slacktest.Server
	mu        sync.Mutex
	attempts  []delivery
	delivered []delivery
	failFirst map[string][]failure
	// arrived gets every delivered message, for tests that wait on one.
	arrived chan delivery
}

// delivery is one message as it reached Slack.
type delivery struct {
	Method       string // chat.postMessage, chat.postEphemeral or response_url
	ResponseID   string // which response_url (its last path element)
	Channel      string
	User         string
	ThreadTS     string
	TS           string // the ts Slack gave a chat.postMessage
	Text         string
	Blocks       json.RawMessage
	ResponseType string
	Replace      bool
	At           time.Time
}

// failure is an answer to give instead of delivering.
type failure struct {
	status     int
	retryAfter int    // seconds, with 429
	slackError string // a 200 with ok:false, such as channel_not_found
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{failFirst: map[string][]failure{}, arrived: make(chan delivery, 256)}
	f.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", f.chat("chat.postMessage"))
		c.Handle("/chat.postEphemeral", f.chat("chat.postEphemeral"))
		c.Handle("/respond/", f.respond)
	})
	f.Start()
	t.Cleanup(f.Stop)
	return f
}

// responseURL is a response_url Slack would hand over with a command or a
// click; id tells them apart.
func (f *fakeSlack) responseURL(id string) string { return f.GetAPIURL() + "respond/" + id }

// failNext makes the next calls of method fail, in order.
func (f *fakeSlack) failNext(method string, fs ...failure) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failFirst[method] = append(f.failFirst[method], fs...)
}

func (f *fakeSlack) chat(method string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if r.PostForm.Get("token") != botToken {
			writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
			return
		}
		d := delivery{
			Method: method, Channel: r.PostForm.Get("channel"), User: r.PostForm.Get("user"),
			ThreadTS: r.PostForm.Get("thread_ts"), Text: r.PostForm.Get("text"),
			Blocks: json.RawMessage(r.PostForm.Get("blocks")), At: time.Now(),
		}
		d.TS = strconv.FormatInt(d.At.UnixMicro(), 10)
		if f.failed(w, d) {
			return
		}
		f.deliver(d)
		writeJSON(w, map[string]any{"ok": true, "channel": d.Channel, "ts": d.TS})
	}
}

// respond is a response_url: JSON in, {"ok":true} out.
func (f *fakeSlack) respond(w http.ResponseWriter, r *http.Request) {
	var body struct {
		ResponseType    string          `json:"response_type"`
		Text            string          `json:"text"`
		Blocks          json.RawMessage `json:"blocks"`
		ReplaceOriginal bool            `json:"replace_original"`
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil {
		http.Error(w, "want a JSON message", http.StatusBadRequest)
		return
	}
	d := delivery{
		Method: "response_url", ResponseID: path.Base(r.URL.Path), ResponseType: body.ResponseType,
		Text: body.Text, Blocks: body.Blocks, Replace: body.ReplaceOriginal, At: time.Now(),
	}
	if f.failed(w, d) {
		return
	}
	f.deliver(d)
	writeJSON(w, map[string]any{"ok": true})
}

func (f *fakeSlack) failed(w http.ResponseWriter, d delivery) bool {
	f.mu.Lock()
	f.attempts = append(f.attempts, d)
	queue := f.failFirst[d.Method]
	if len(queue) == 0 {
		f.mu.Unlock()
		return false
	}
	fail := queue[0]
	f.failFirst[d.Method] = queue[1:]
	f.mu.Unlock()
	switch {
	case fail.slackError != "":
		writeJSON(w, map[string]any{"ok": false, "error": fail.slackError})
	case fail.status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(fail.retryAfter))
		http.Error(w, "ratelimited", fail.status)
	default:
		http.Error(w, http.StatusText(fail.status), fail.status)
	}
	return true
}

func (f *fakeSlack) deliver(d delivery) {
	f.mu.Lock()
	f.delivered = append(f.delivered, d)
	f.mu.Unlock()
	f.arrived <- d
}

// next waits for the next delivered message. The deadline only turns a
// hang into a failure.
func (f *fakeSlack) next(t *testing.T) delivery {
	t.Helper()
	select {
	case d := <-f.arrived:
		return d
	case <-time.After(time.Minute):
		t.Fatal("no message reached Slack within a minute")
		return delivery{}
	}
}

// messages lists what was delivered, optionally only with one method.
func (f *fakeSlack) messages(method string) []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []delivery
	for _, d := range f.delivered {
		if method == "" || d.Method == method {
			out = append(out, d)
		}
	}
	return out
}

func (f *fakeSlack) tries(method string) []delivery {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []delivery
	for _, d := range f.attempts {
		if d.Method == method {
			out = append(out, d)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	// A write error means the client has gone; it sees its own error.
	_ = json.NewEncoder(w).Encode(v)
}
