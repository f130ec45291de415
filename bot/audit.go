package bot

import (
	"context"
	"log/slog"
	"time"
)

// Record is one audit record: who did what, where, with which result.
type Record struct {
	Time      time.Time
	RequestID string
	Transport Transport
	CallerID  string
	Person    string
	Verb      string
	Args      []string
	Targets   []string
	Outcome   Outcome
	Duration  time.Duration
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
