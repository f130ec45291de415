package bot

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"
)

// Bot runs commands: it looks the verb up, authorises the caller, calls the
// handler and records the result. Every transport hands its commands here.
type Bot struct {
	Registry *Registry
	Policy   *Policy
	Audit    Auditor
	Metrics  *Metrics
	Log      *slog.Logger
}

// Run runs one command and returns the reply for the transport to render.
// It never panics: a handler's panic becomes a Failed reply and a log line.
func (b *Bot) Run(ctx context.Context, req *Request) Reply {
	reply, rec := b.run(ctx, req)
	b.audit(ctx, rec)
	return reply
}

// RunAll runs the commands of one message (a PR comment) in order, each as
// req with that command, and returns their replies. Each is audited as Run
// audits it, except when every one is denied: one record then lists their
// verbs, so that a stranger's comment costs one record and one Event
// however many commands it holds.
func (b *Bot) RunAll(ctx context.Context, req *Request, cmds []Command) []Reply {
	replies := make([]Reply, len(cmds))
	var denied []*Record
	for i, cmd := range cmds {
		r := *req
		r.Command = cmd
		var rec *Record
		replies[i], rec = b.run(ctx, &r)
		if replies[i].Outcome != Denied {
			b.audit(ctx, rec)
			continue
		}
		denied = append(denied, rec)
	}
	if len(denied) < 2 || len(denied) < len(cmds) || denied[0] == nil {
		for _, rec := range denied {
			b.audit(ctx, rec)
		}
		return replies
	}
	one := *denied[0]
	one.Args = []string{}
	verbs := []string{}
	for _, rec := range denied {
		if !slices.Contains(verbs, rec.Verb) {
			verbs = append(verbs, rec.Verb)
		}
		one.Duration += rec.Duration
	}
	one.Verb = strings.Join(verbs, ",")
	b.audit(ctx, &one)
	return replies
}

// audit keeps rec; nil is a request another replica records.
func (b *Bot) audit(ctx context.Context, rec *Record) {
	if rec != nil && b.Audit != nil {
		b.Audit.Record(ctx, *rec)
	}
}

// run runs one command and counts it; its record is nil when another
// replica has the request and records it.
func (b *Bot) run(ctx context.Context, req *Request) (reply Reply, rec *Record) {
	start := time.Now()
	spec := b.Registry.Lookup(req.Command.Verb)
	defer func() {
		if p := recover(); p != nil {
			b.Log.ErrorContext(ctx, "handler panicked", "request", req.ID, "verb", req.Command.Verb, "panic", p, "stack", string(debug.Stack()))
			reply = Reply{Outcome: Failed, Text: "Sorry, tekbot hit an internal error running `" + req.Command.Verb + "`; it has been logged."}
		}
		if req.Claim != nil && !req.Claim.Won() {
			b.Log.InfoContext(ctx, "request handled by another replica; not recorded here", "request", req.ID, "verb", req.Command.Verb)
			return
		}
		r := NewRecord(req, reply, time.Since(start))
		verb := UnknownVerb
		if spec != nil {
			verb = spec.Verb
		}
		b.Metrics.Command(verb, r)
		rec = &r
	}()

	if spec == nil || !spec.Offered(req.Caller.Transport) {
		return b.unknown(req), nil
	}
	ok, err := b.Policy.Allowed(ctx, spec, req.Caller)
	if err != nil {
		b.Log.ErrorContext(ctx, "checking permissions failed", "request", req.ID, "verb", spec.Verb, "err", err)
		return Trouble(req, permissionService(req.Caller.Transport), err, "check whether you may run `"+spec.Verb+"`"), nil
	}
	if !ok {
		var repo string
		if req.PullRequest != nil {
			repo = req.PullRequest.Repository
		}
		return Reply{Outcome: Denied, Text: fmt.Sprintf("Sorry, you may not run `%s`. Who may: %s.", spec.Verb, b.Policy.WhoMay(spec, req.Caller.Transport, repo))}, nil
	}
	return spec.Handle(ctx, req), nil
}

// unknown answers a verb the caller's transport does not offer: a typo
// gets what was probably meant, and another transport's verb says how to
// run it there and what to do here instead.
func (b *Bot) unknown(req *Request) Reply {
	t := req.Caller.Transport
	if s := b.Registry.Lookup(req.Command.Verb); s != nil {
		return Reply{Outcome: Refused, Text: s.Hint(t) + "."}
	}
	text := fmt.Sprintf("I don't know the command %s.", UserText(req.Command.Verb))
	if s := b.Registry.Closest(req.Command.Verb, t); s != nil {
		if s.Offered(t) {
			text += " Did you mean " + s.Hint(t) + "?"
		} else {
			text += fmt.Sprintf(" Did you mean `%s`? %s.", s.Verb, s.Hint(t))
		}
	}
	text += " Try `help` for the list."
	return Reply{Outcome: Refused, Text: text}
}

// permissionService names who answers permission questions for a
// transport's callers, for replies.
func permissionService(t Transport) string {
	if t == GitHub {
		return "GitHub"
	}
	return "the permission check"
}
