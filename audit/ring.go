package audit

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"tekbot/bot"
	"tekbot/state"
)

// Kube is what this package uses of Kubernetes: Events and ConfigMaps, in
// core/v1. It is narrower than client-go's full clientset, whose every API
// group's client tekbot would otherwise link; tekton.Kube and the full
// clientset (tests) satisfy it.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
}

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
	Kube      Kube
	Namespace string
	Log       *slog.Logger
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

// ringBackoff spreads replicas that write at once.
var ringBackoff = wait.Backoff{Steps: 20, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1, Cap: time.Second}

// Append writes records to the ring at once (Run calls it; tests and tools
// may too). Concurrent writers are serialised by resourceVersion.
func (r *Ring) Append(ctx context.Context, records []bot.Record) error {
	r.init()
	for len(records) > 0 {
		var wrote int
		err := retry.RetryOnConflict(ringBackoff, func() error {
			var err error
			wrote, err = r.appendOnce(ctx, records)
			return err
		})
		if err != nil {
			return err
		}
		records = records[wrote:]
	}
	return nil
}

// appendOnce appends as many records as fit in the head segment, moving
// the head on first if the segment is full, and says how many it wrote.
func (r *Ring) appendOnce(ctx context.Context, records []bot.Record) (int, error) {
	cms := r.Kube.CoreV1().ConfigMaps(r.Namespace)
	h, err := r.head(ctx)
	if err != nil {
		return 0, err
	}
	seq := h.seq
	seg, lines, err := r.segment(ctx, h, seq)
	if err != nil {
		return 0, err
	}
	if len(lines) >= r.PerSegment || h.cm.ResourceVersion == "" {
		// Full (or the very first write): move the head on. A conflict
		// here means another replica did, and the retry reads its head.
		if h.cm.ResourceVersion != "" {
			seq++
		}
		h.cm.Data = map[string]string{ringHeadKey: strconv.FormatUint(seq, 10), ringSegmentsKey: strconv.Itoa(h.segments)}
		if h.cm.ResourceVersion == "" {
			_, err = cms.Create(ctx, h.cm, metav1.CreateOptions{})
		} else {
			_, err = cms.Update(ctx, h.cm, metav1.UpdateOptions{})
		}
		if err != nil {
			return 0, asConflict(err, ringHead)
		}
		if seg, lines, err = r.segment(ctx, h, seq); err != nil {
			return 0, err
		}
	}
	n := min(len(records), r.PerSegment-len(lines))
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, rec := range records[:n] {
		raw, err := json.Marshal(rec)
		if err != nil {
			return 0, fmt.Errorf("encoding an audit record: %w", err)
		}
		b.Write(raw)
		b.WriteByte('\n')
	}
	seg.Data = map[string]string{ringRecordsKey: b.String()}
	seg.Annotations = map[string]string{annotationRingSeq: strconv.FormatUint(seq, 10)}
	if seg.ResourceVersion == "" {
		_, err = cms.Create(ctx, seg, metav1.CreateOptions{})
	} else {
		_, err = cms.Update(ctx, seg, metav1.UpdateOptions{})
	}
	if err != nil {
		return 0, asConflict(err, seg.Name)
	}
	return n, nil
}

// asConflict turns "someone created it first" into a conflict, so the
// caller retries on fresh data.
func asConflict(err error, name string) error {
	if apierrors.IsAlreadyExists(err) {
		return apierrors.NewConflict(corev1.Resource("configmaps"), name, err)
	}
	if apierrors.IsConflict(err) {
		return err
	}
	return fmt.Errorf("writing ConfigMap %s: %w", name, err)
}

func (r *Ring) meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: r.Namespace, Labels: map[string]string{state.LabelManagedBy: "tekbot", labelRing: "true"}}
}

// ringHeadState is what the head ConfigMap says: the segment being filled
// and how many segments the ring has (so readers need not be configured
// like the writer).
type ringHeadState struct {
	cm       *corev1.ConfigMap
	seq      uint64
	segments int
}

// head reads the head ConfigMap; before the first write it is a new,
// unsaved one with the ring's own size.
func (r *Ring) head(ctx context.Context) (ringHeadState, error) {
	cm, err := r.Kube.CoreV1().ConfigMaps(r.Namespace).Get(ctx, ringHead, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return ringHeadState{cm: &corev1.ConfigMap{ObjectMeta: r.meta(ringHead)}, segments: r.Segments}, nil
	}
	if err != nil {
		return ringHeadState{}, fmt.Errorf("reading the audit ring's head: %w", err)
	}
	seq, err1 := strconv.ParseUint(cm.Data[ringHeadKey], 10, 64)
	segments, err2 := strconv.Atoi(cm.Data[ringSegmentsKey])
	if err1 != nil || err2 != nil || segments <= 0 {
		return ringHeadState{}, fmt.Errorf("ConfigMap %s/%s: unreadable %s or %s", r.Namespace, ringHead, ringHeadKey, ringSegmentsKey)
	}
	return ringHeadState{cm: cm, seq: seq, segments: segments}, nil
}

// segment reads the ConfigMap that holds segment seq and its record lines;
// lines are empty if it holds another lap's segment.
func (r *Ring) segment(ctx context.Context, h ringHeadState, seq uint64) (*corev1.ConfigMap, []string, error) {
	name := ringSegment + strconv.FormatUint(seq%uint64(h.segments), 10)
	cm, err := r.Kube.CoreV1().ConfigMaps(r.Namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &corev1.ConfigMap{ObjectMeta: r.meta(name)}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading the audit ring: %w", err)
	}
	if cm.Annotations[annotationRingSeq] != strconv.FormatUint(seq, 10) {
		return cm, nil, nil
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(cm.Data[ringRecordsKey]))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			lines = append(lines, l)
		}
	}
	return cm, lines, nil
}

// Last reads the newest n records, newest first, reading segments from the
// head back only until it has n.
func (r *Ring) Last(ctx context.Context, n int) ([]bot.Record, error) {
	r.init()
	h, err := r.head(ctx)
	if err != nil || h.cm.ResourceVersion == "" {
		return nil, err // nothing written yet, or unreadable
	}
	seq := h.seq
	var out []bot.Record
	for i := 0; i < h.segments && len(out) < n; i++ {
		_, lines, err := r.segment(ctx, h, seq)
		if err != nil {
			return nil, err
		}
		for _, l := range slices.Backward(lines) {
			var rec bot.Record
			if json.Unmarshal([]byte(l), &rec) == nil {
				out = append(out, rec)
			}
		}
		if seq == 0 {
			break
		}
		seq--
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
func Recent(ctx context.Context, kube Kube, namespace string, n int) ([]bot.Record, error) {
	fromRing, ringErr := (&Ring{Kube: kube, Namespace: namespace}).Last(ctx, n)
	fromEvents, eventsErr := LastRecords(ctx, kube, namespace, n)
	return newestFirst(append(fromRing, fromEvents...), n), errors.Join(ringErr, eventsErr)
}
