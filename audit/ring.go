package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"tekbot/bot"
	"tekbot/state"
)

// Ring keeps the last few thousand audit records in ConfigMaps in the state
// namespace, so that recent actions outlive the apiserver's --event-ttl.
//
// The records sit in Segments ConfigMaps of at most PerSegment records each,
// one JSON record a line. A small head ConfigMap holds the sequence number
// of the segment being filled; segment seq lives in ConfigMap
// tekbot-audit-<seq mod Segments>, so when the head moves on, the oldest
// segment is overwritten. A write is one small Get and one segment Update,
// whatever the history's length, and reading the newest n records reads
// only the segments that hold them.
//
// Add never blocks the reply: records queue in memory and Run writes them
// in batches. A full queue (the apiserver down for long) drops records with
// a log line; the Events and the log line still carry them.
type Ring struct {
	ConfigMaps state.ConfigMaps
	Log        *slog.Logger
	// Segments and PerSegment size the ring: it keeps the newest
	// (Segments-1)×PerSegment records at least, Segments×PerSegment at
	// most. Zero means 16 × 250, about 4,000 records of ~400 bytes, so a
	// segment stays near 100 KB, well inside a ConfigMap's 1 MiB.
	Segments, PerSegment int
	// FlushEvery is how long Run gathers records before writing them;
	// zero means one second.
	FlushEvery time.Duration

	once  sync.Once
	queue chan bot.Record
}

const (
	ringHead        = "tekbot-audit"
	ringSegment     = "tekbot-audit-"
	ringHeadKey     = "head"
	ringSegmentsKey = "segments"
	ringRecordsKey  = "records.jsonl"
	// annotationRingSeq says which sequence number a segment holds: a
	// segment left from an earlier lap (or half-written when a replica
	// died) is recognised as stale and read as empty.
	annotationRingSeq = "tekbot.dev/audit-seq"
	labelRing         = "tekbot.dev/audit-ring"
	ringQueue         = 1024
	ringFlushTimeout  = 10 * time.Second
)

func (r *Ring) init() {
	r.once.Do(func() {
		r.queue = make(chan bot.Record, ringQueue)
		if r.Segments <= 0 {
			r.Segments = 16
		}
		if r.PerSegment <= 0 {
			r.PerSegment = 250
		}
		if r.FlushEvery <= 0 {
			r.FlushEvery = time.Second
		}
	})
}

// Add queues a record for Run to write. It never blocks.
func (r *Ring) Add(rec bot.Record) {
	r.init()
	select {
	case r.queue <- rec:
	default:
		r.Log.Warn("audit ring: queue full, record kept in events and logs only", "request", rec.RequestID)
	}
}

// Run writes queued records in batches until ctx ends, then writes what is
// left within a short grace period, so a graceful shutdown loses nothing.
// Every replica runs it: each records the commands it ran.
func (r *Ring) Run(ctx context.Context) {
	r.init()
	for {
		var batch []bot.Record
		select {
		case rec := <-r.queue:
			batch = append(batch, rec)
		case <-ctx.Done():
			r.drain()
			return
		}
		// Gather what arrives shortly after: one write for a burst.
		timer := time.NewTimer(r.FlushEvery)
	gather:
		for len(batch) < r.PerSegment {
			select {
			case rec := <-r.queue:
				batch = append(batch, rec)
			case <-timer.C:
				break gather
			case <-ctx.Done():
				break gather
			}
		}
		timer.Stop()
		r.write(context.WithoutCancel(ctx), batch)
	}
}

// drain writes whatever is still queued when Run stops.
func (r *Ring) drain() {
	var batch []bot.Record
	for len(r.queue) > 0 {
		batch = append(batch, <-r.queue)
	}
	if len(batch) > 0 {
		r.write(context.Background(), batch)
	}
}

func (r *Ring) write(ctx context.Context, batch []bot.Record) {
	ctx, cancel := context.WithTimeout(ctx, ringFlushTimeout)
	defer cancel()
	if err := r.Append(ctx, batch); err != nil {
		r.Log.Error("audit ring: writing records", "records", len(batch), "err", err)
	}
}

// Append writes records to the ring at once (Run calls it; tests and tools
// may too). Concurrent writers are serialised by resourceVersion.
func (r *Ring) Append(ctx context.Context, records []bot.Record) error {
	r.init()
	for len(records) > 0 {
		wrote, err := r.appendOnce(ctx, records)
		if err != nil {
			return err
		}
		records = records[wrote:]
	}
	return nil
}

// errMoved: another writer moved the head, or filled the segment, since it
// was read; the caller starts again from the new head.
var errMoved = errors.New("the audit ring moved on")

// appendOnce appends as many records as fit in the head segment, moving
// the head on first if the segment is full, and says how many it wrote
// (none when another writer moved the ring on meanwhile).
func (r *Ring) appendOnce(ctx context.Context, records []bot.Record) (int, error) {
	h, err := r.headDoc().Get(ctx)
	if err != nil {
		return 0, err
	}
	seg, err := r.segmentDoc(h).Get(ctx)
	if err != nil {
		return 0, err
	}
	if len(seg.lines(h.seq)) >= r.PerSegment || !h.saved {
		// Full (or the very first write): move the head on, unless
		// another replica did.
		seen := h
		h, err = r.headDoc().Update(ctx, func(cur *headState) error {
			if cur.saved != seen.saved || cur.seq != seen.seq {
				return errMoved
			}
			if cur.saved {
				cur.seq++
			}
			return nil
		})
		if errors.Is(err, errMoved) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
	}
	var n int
	_, err = r.segmentDoc(h).Update(ctx, func(seg *segmentState) error {
		lines := seg.lines(h.seq)
		n = min(len(records), r.PerSegment-len(lines))
		if n == 0 {
			return errMoved
		}
		for _, rec := range records[:n] {
			raw, err := json.Marshal(rec)
			if err != nil {
				return fmt.Errorf("encoding an audit record: %w", err)
			}
			lines = append(lines, string(raw))
		}
		*seg = segmentState{seq: h.seq, held: lines}
		return nil
	})
	if errors.Is(err, errMoved) {
		return 0, nil
	}
	return n, err
}

// headState is what the head ConfigMap says: the segment being filled and
// how many segments the ring has (so readers need not be configured like
// the writer). saved is false before the first write.
type headState struct {
	seq      uint64
	segments int
	saved    bool
}

func (r *Ring) headDoc() *state.Doc[headState] {
	return &state.Doc[headState]{
		ConfigMaps: r.ConfigMaps, Name: ringHead,
		Decode: func(cm *corev1.ConfigMap) (headState, error) {
			if cm == nil {
				return headState{segments: r.Segments}, nil
			}
			seq, err1 := strconv.ParseUint(cm.Data[ringHeadKey], 10, 64)
			segments, err2 := strconv.Atoi(cm.Data[ringSegmentsKey])
			if err1 != nil || err2 != nil || segments <= 0 {
				return headState{}, fmt.Errorf("ConfigMap %s/%s: unreadable %s or %s", cm.Namespace, cm.Name, ringHeadKey, ringSegmentsKey)
			}
			return headState{seq: seq, segments: segments, saved: true}, nil
		},
		Encode: func(h headState, cm *corev1.ConfigMap) error {
			labelRingConfigMap(cm)
			cm.Data = map[string]string{ringHeadKey: strconv.FormatUint(h.seq, 10), ringSegmentsKey: strconv.Itoa(h.segments)}
			return nil
		},
	}
}

// segmentState is a segment's ConfigMap: the sequence number it holds
// and its record lines.
type segmentState struct {
	seq  uint64
	held []string
}

// lines are the segment's records if it holds segment seq, else none: a
// segment left from an earlier lap (or half-written when a replica died)
// is read as empty.
func (s segmentState) lines(seq uint64) []string {
	if s.seq != seq {
		return nil
	}
	return s.held
}

// segmentDoc is the ConfigMap that holds the head's segment.
func (r *Ring) segmentDoc(h headState) *state.Doc[segmentState] {
	return &state.Doc[segmentState]{
		ConfigMaps: r.ConfigMaps, Name: ringSegment + strconv.FormatUint(h.seq%uint64(h.segments), 10),
		Decode: func(cm *corev1.ConfigMap) (segmentState, error) {
			if cm == nil {
				return segmentState{seq: h.seq}, nil
			}
			seq, err := strconv.ParseUint(cm.Annotations[annotationRingSeq], 10, 64)
			if err != nil {
				return segmentState{seq: math.MaxUint64}, nil // never a head's: read as empty
			}
			var lines []string
			sc := bufio.NewScanner(strings.NewReader(cm.Data[ringRecordsKey]))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if l := sc.Text(); l != "" {
					lines = append(lines, l)
				}
			}
			return segmentState{seq: seq, held: lines}, nil
		},
		Encode: func(s segmentState, cm *corev1.ConfigMap) error {
			labelRingConfigMap(cm)
			cm.Annotations = map[string]string{annotationRingSeq: strconv.FormatUint(s.seq, 10)}
			var b strings.Builder
			for _, l := range s.held {
				b.WriteString(l)
				b.WriteByte('\n')
			}
			cm.Data = map[string]string{ringRecordsKey: b.String()}
			return nil
		},
	}
}

func labelRingConfigMap(cm *corev1.ConfigMap) {
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[labelRing] = "true"
}

// Last reads the newest n records, newest first, reading segments from the
// head back only until it has n.
func (r *Ring) Last(ctx context.Context, n int) ([]bot.Record, error) {
	r.init()
	h, err := r.headDoc().Get(ctx)
	if err != nil || !h.saved {
		return nil, err // nothing written yet, or unreadable
	}
	var out []bot.Record
	for i := 0; i < h.segments && len(out) < n; i++ {
		seg, err := r.segmentDoc(h).Get(ctx)
		if err != nil {
			return nil, err
		}
		for _, l := range slices.Backward(seg.lines(h.seq)) {
			var rec bot.Record
			if json.Unmarshal([]byte(l), &rec) == nil {
				out = append(out, rec)
			}
		}
		if h.seq == 0 {
			break
		}
		h.seq--
	}
	return newestFirst(out, n), nil
}

// newestFirst sorts records newest first, drops repeats (a write retried
// after its response was lost, a record in both the ring and the events)
// and keeps n.
func newestFirst(records []bot.Record, n int) []bot.Record {
	type key struct {
		request, verb string
		at            int64
	}
	seen := map[key]bool{}
	records = slices.DeleteFunc(records, func(r bot.Record) bool {
		k := key{r.RequestID, r.Verb, r.Time.UnixNano()}
		dup := seen[k]
		seen[k] = true
		return dup
	})
	slices.SortStableFunc(records, func(a, b bot.Record) int { return b.Time.Compare(a.Time) })
	if len(records) > n {
		records = records[:n]
	}
	return records
}

// Recent reads the newest n records from the ring and from the events in
// the state namespace: the events add what the ring has not written yet,
// the ring what the apiserver has already forgotten. One unreadable source
// leaves the other's records, with the error.
func Recent(ctx context.Context, ring *Ring, events Events, namespace string, n int) ([]bot.Record, error) {
	fromRing, ringErr := ring.Last(ctx, n)
	fromEvents, eventsErr := LastRecords(ctx, events, namespace, n)
	return newestFirst(append(fromRing, fromEvents...), n), errors.Join(ringErr, eventsErr)
}
