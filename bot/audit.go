package bot

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Record is one audit record: who did what, where, with which result.
type Record struct {
	Time      time.Time     `json:"time"`
	RequestID string        `json:"request"`
	Transport Transport     `json:"transport"`
	CallerID  string        `json:"caller"`
	Person    string        `json:"person,omitempty"`
	Verb      string        `json:"verb"`
	Args      []string      `json:"args"`
	Targets   []string      `json:"targets,omitempty"`
	Outcome   Outcome       `json:"outcome"`
	Duration  time.Duration `json:"duration"`
}

// Summary is the record in one line: who, what, where, result.
func (r Record) Summary() string {
	who := r.Person
	if who == "" {
		who = string(r.Transport) + ":" + r.CallerID
	}
	s := fmt.Sprintf("%s ran %q via %s: %s", who, strings.TrimSpace(r.Verb+" "+strings.Join(r.Args, " ")), r.Transport, r.Outcome)
	if len(r.Targets) > 0 {
		s += " on " + strings.Join(r.Targets, ", ")
	}
	return s
}

// NewRecord describes a finished request.
func NewRecord(req *Request, reply Reply, took time.Duration) Record {
	r := Record{
		Time:      time.Now().UTC(),
		RequestID: req.ID,
		Transport: req.Caller.Transport,
		CallerID:  req.Caller.ID,
		Verb:      req.Command.Verb,
		Args:      req.Command.Args,
		Targets:   reply.Targets,
		Outcome:   reply.Outcome,
		Duration:  took,
	}
	if req.Caller.Person != nil {
		r.Person = req.Caller.Person.Name
	}
	return r
}

// Auditor keeps audit records.
type Auditor interface {
	Record(ctx context.Context, r Record)
}

// LogAuditor writes each record as one structured log line.
type LogAuditor struct{ Log *slog.Logger }

// Record implements Auditor.
func (a LogAuditor) Record(ctx context.Context, r Record) {
	a.Log.InfoContext(ctx, "audit",
		"request", r.RequestID, "transport", r.Transport, "caller", r.CallerID, "person", r.Person,
		"verb", r.Verb, "args", r.Args, "targets", r.Targets, "outcome", r.Outcome,
		"duration_ms", r.Duration.Milliseconds())
}
