// Package audit keeps audit records as Kubernetes Events and in a bounded
// ring of ConfigMaps, beside the log line every record gets, and reads them
// back for `tekbot audit` and the status page.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/state"
)

// Audit events: one per command in tekbot's state namespace (what `tekbot
// audit` reads), and one on each PipelineRun a command touched, so `kubectl
// describe pipelinerun` shows who did what to it. The apiserver keeps events
// for its --event-ttl (one hour by default): the Ring keeps the last few
// thousand records beyond that, and the structured log line carries every
// record for good.
const (
	AuditReason     = "TekbotCommand"
	annotationAudit = "tekbot.dev/audit"
	auditComponent  = "tekbot"
)

// EventAuditor keeps audit records as Kubernetes Events and log lines.
type EventAuditor struct {
	// State is the cluster and namespace holding tekbot's own records.
	State     Events
	Namespace string
	// Clusters finds a target's cluster by name, for events on the
	// affected object.
	Clusters func(name string) Events
	// Ring, if set, also keeps each record in the durable ring; it writes
	// in the background, off the reply's path.
	Ring *Ring
	Log  *slog.Logger

	// queue, while Run runs, takes the events off the command's path.
	mu    sync.Mutex
	queue chan bot.Record
}

// eventQueue bounds the events waiting for Run: a burst of fifty commands
// makes a hundred.
const (
	eventQueue        = 1024
	eventWriteTimeout = 10 * time.Second
)

// Record implements bot.Auditor. The structured log line is written first,
// always; the events are written by Run when it runs (a worker is then
// free for the next command at once, and a burst's events do not hold up
// its reruns), else, or when Run's queue is full, here. Failing to write an
// event is logged, never fatal.
func (a *EventAuditor) Record(ctx context.Context, r bot.Record) {
	bot.LogAuditor{Log: a.Log}.Record(ctx, r)
	if a.Ring != nil {
		a.Ring.Add(r)
	}
	a.mu.Lock()
	queued := false
	if a.queue != nil {
		select {
		case a.queue <- r:
			queued = true
		default:
			a.Log.Warn("audit: event queue full; writing the event on the command's path", "request", r.RequestID)
		}
	}
	a.mu.Unlock()
	if !queued {
		a.write(ctx, r)
	}
}

// Run writes the events of the records queued by Record until ctx ends,
// then those still queued, so that a graceful shutdown loses none.
func (a *EventAuditor) Run(ctx context.Context) {
	q := make(chan bot.Record, eventQueue)
	a.mu.Lock()
	a.queue = q
	a.mu.Unlock()
	after := context.WithoutCancel(ctx)
	for {
		select {
		case r := <-q:
			a.writeWithin(after, r)
		case <-ctx.Done():
			a.mu.Lock()
			a.queue = nil // Record writes at once from here on
			a.mu.Unlock()
			for len(q) > 0 {
				a.writeWithin(after, <-q)
			}
			return
		}
	}
}

func (a *EventAuditor) writeWithin(ctx context.Context, r bot.Record) {
	ctx, cancel := context.WithTimeout(ctx, eventWriteTimeout)
	defer cancel()
	a.write(ctx, r)
}

// write writes the record's events: one in tekbot's state namespace and
// one on each target.
func (a *EventAuditor) write(ctx context.Context, r bot.Record) {
	raw, err := json.Marshal(r)
	if err != nil {
		a.Log.Error("audit: encoding a record", "err", err)
		return
	}
	message := r.Summary()
	// Events must name a namespaced object in their namespace: tekbot's own
	// ServiceAccount stands for "tekbot did this".
	self := corev1.ObjectReference{Kind: "ServiceAccount", APIVersion: "v1", Namespace: a.Namespace, Name: "tekbot"}
	if err := createEvent(ctx, a.State, a.Namespace, self, r, message, raw); err != nil {
		a.Log.Error("audit: writing the event", "err", err)
	}
	for _, t := range r.Targets {
		cluster, ns, name, ok := splitTarget(t)
		var events Events
		if ok && a.Clusters != nil {
			events = a.Clusters(cluster)
		}
		if events == nil {
			continue
		}
		ref := corev1.ObjectReference{Kind: "PipelineRun", APIVersion: "tekton.dev/v1", Namespace: ns, Name: name}
		if err := createEvent(ctx, events, ns, ref, r, message, raw); err != nil {
			a.Log.Warn("audit: writing the event on the target", "target", t, "err", err)
		}
	}
}

func splitTarget(t string) (cluster, ns, name string, ok bool) {
	parts := strings.Split(t, "/")
	if len(parts) != 3 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

func createEvent(ctx context.Context, events Events, ns string, ref corev1.ObjectReference, r bot.Record, message string, raw []byte) error {
	sum := sha256.Sum256([]byte(r.RequestID + "\x00" + r.Verb + "\x00" + ref.Name))
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			// Derived from the request: a retried write does not double it.
			Name:        "tekbot-" + hex.EncodeToString(sum[:])[:20],
			Namespace:   ns,
			Labels:      map[string]string{state.LabelManagedBy: "tekbot"},
			Annotations: map[string]string{annotationAudit: string(raw)},
		},
		InvolvedObject:      ref,
		Reason:              AuditReason,
		Message:             message,
		Type:                corev1.EventTypeNormal,
		Source:              corev1.EventSource{Component: auditComponent},
		FirstTimestamp:      metav1.NewTime(r.Time),
		LastTimestamp:       metav1.NewTime(r.Time),
		Count:               1,
		ReportingController: "tekbot.dev/tekbot",
	}
	if r.Outcome == bot.Failed || r.Outcome == bot.Denied {
		ev.Type = corev1.EventTypeWarning
	}
	err := events.Create(ctx, ev)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating event: %w", err)
	}
	return nil
}

// LastRecords reads the newest n audit records from the state namespace.
func LastRecords(ctx context.Context, events Events, namespace string, n int) ([]bot.Record, error) {
	list, err := events.List(ctx, namespace, state.LabelManagedBy+"=tekbot", "reason="+AuditReason+",involvedObject.kind=ServiceAccount")
	if err != nil {
		return nil, fmt.Errorf("listing audit events: %w", err)
	}
	var out []bot.Record
	for _, ev := range list {
		var r bot.Record
		if err := json.Unmarshal([]byte(ev.Annotations[annotationAudit]), &r); err != nil {
			continue // not ours to read: written by another version
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b bot.Record) int { return b.Time.Compare(a.Time) })
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}
