package flakes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// Store keeps the days' documents (state.Shards: ConfigMaps in tekbot's
// state namespace). It is a port so the record can move onto another
// document store without touching the maths.
type Store interface {
	// All returns every document, by name.
	All(ctx context.Context) (map[string][]byte, error)
	// Update changes one document with a read-modify-write, retried on a
	// conflict; change gets nil for a document not written yet and
	// returns nil to leave it as it is.
	Update(ctx context.Context, name string, change func(old []byte) ([]byte, error)) error
	Delete(ctx context.Context, name string) error
}

// MaxPerDay bounds a day's document: at about 45 bytes an attempt plus
// the pipelines' names, 16,000 attempts stay under 800 KiB, within a
// ConfigMap's 1 MiB. It is more than twice the busiest day of a namespace
// of 100,000 runs kept for 14 days (7,100 a day).
const MaxPerDay = 16000

// dayName is the document of the UTC day t falls in.
func dayName(t time.Time) string { return "day-" + t.UTC().Format("2006-01-02") }

// dayOf parses a document's name; ok is false for a name that is not a
// day's.
func dayOf(name string) (time.Time, bool) {
	t, err := time.Parse("day-2006-01-02", name)
	return t, err == nil
}

// Recorder writes outcomes to the store in batches, off the path of
// whatever reported them: Observe only queues. Run it on the leader.
type Recorder struct {
	Store Store
	Log   *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Every is how often the queue is written; zero means 5 seconds.
	Every time.Duration
	// Tasks finds a failed run's failed tasks; nil records pipelines only.
	Tasks TaskReader

	mu      sync.Mutex
	pending []Outcome
	// recorded are the runs written, and when they ended: a watch that
	// reports a run again (an update, a resync) queues nothing.
	recorded map[uint64]time.Time
	// pruned is the day last pruned.
	pruned string
}

// maxPending bounds the queue: a restart reports every run of a namespace
// at once, and what is over is dropped (the run is reported again at the
// next restart, and the record is idempotent by run).
const maxPending = 50000

// Observe queues an outcome for the next write.
func (r *Recorder) Observe(o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending) >= maxPending || r.recorded[runID(o.Run)] != (time.Time{}) {
		return
	}
	r.pending = append(r.pending, o)
}

// maxLookups bounds the TaskRun reads of one write: after a restart every
// failed run of the window is reported at once, and its tasks are looked
// up a few at a time rather than in one burst on the apiserver.
const maxLookups = 50

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Run writes the queue every so often until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	every := r.Every
	if every == 0 {
		every = 5 * time.Second
	}
	wait.UntilWithContext(ctx, func(ctx context.Context) {
		if err := r.Flush(ctx); err != nil {
			r.Log.Warn("recording run outcomes; retrying", "err", err)
		}
	}, every)
}

// Flush writes what is queued, one update per day, and deletes the days
// that left the window. What could not be written stays queued.
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()

	now := r.now()
	byDay := map[string][]Outcome{}
	var later []Outcome
	lookups := 0
	for _, o := range batch {
		if o.At.Before(now.Add(-Window)) {
			continue // already out of the window
		}
		if o.taskRuns != nil && r.Tasks != nil {
			if lookups == maxLookups {
				later = append(later, o)
				continue
			}
			lookups++
			tasks, err := r.Tasks(ctx, o.cluster, o.namespace, o.taskRuns)
			if err != nil {
				// The TaskRuns may be pruned already: the pipeline's
				// outcome is still worth keeping.
				r.Log.Debug("finding a failed run's tasks", "run", o.Run, "err", err)
			}
			o.FailedTasks, o.taskRuns = tasks, nil
		}
		byDay[dayName(o.At)] = append(byDay[dayName(o.At)], o)
	}
	r.requeue(later)
	var errs []error
	for name, os := range byDay {
		full := 0
		err := r.Store.Update(ctx, name, func(old []byte) ([]byte, error) {
			d, err := DecodeDay(old)
			if err != nil {
				return nil, err
			}
			changed := false
			full = 0
			for _, o := range os {
				added, isFull := d.Add(o, MaxPerDay)
				changed = changed || added
				if isFull {
					full++
				}
			}
			if !changed {
				return nil, nil
			}
			return d.Encode()
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			r.requeue(os)
			continue
		}
		if full > 0 {
			r.Log.Warn("a day's outcome record is full; runs not recorded", "day", name, "runs", full)
		}
		r.remember(os)
	}
	if today := dayName(now); r.pruned != today {
		if err := r.prune(ctx, now); err != nil {
			errs = append(errs, err)
		} else {
			r.pruned = today
		}
	}
	return errors.Join(errs...)
}

func (r *Recorder) requeue(os []Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.pending)+len(os) <= maxPending {
		r.pending = append(r.pending, os...)
	}
}

func (r *Recorder) remember(os []Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.recorded == nil {
		r.recorded = map[uint64]time.Time{}
	}
	for _, o := range os {
		r.recorded[runID(o.Run)] = o.At
	}
}

// prune deletes the days wholly before the window, and forgets the runs
// that ended before it.
func (r *Recorder) prune(ctx context.Context, now time.Time) error {
	all, err := r.Store.All(ctx)
	if err != nil {
		return fmt.Errorf("pruning the outcome history: %w", err)
	}
	r.mu.Lock()
	for id, at := range r.recorded {
		if at.Before(now.Add(-Window)) {
			delete(r.recorded, id)
		}
	}
	r.mu.Unlock()
	for name := range all {
		if d, ok := dayOf(name); ok && d.Add(24*time.Hour).Before(now.Add(-Window)) {
			if err := r.Store.Delete(ctx, name); err != nil {
				return fmt.Errorf("pruning the outcome history: %w", err)
			}
		}
	}
	return nil
}

// Reader reads the history for verdicts, at most once per Fresh: an alert
// burst or a burst of /retest replies reads it once. Fresh is short, as
// the record is written every few seconds (Recorder.Every): a /why just
// after a rerun ended should see it.
type Reader struct {
	Store Store
	// Fresh is how stale a read may be; zero means 5 seconds.
	Fresh time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger

	mu   sync.Mutex
	h    *History
	read time.Time
}

// History returns the record, read again when older than Fresh.
func (r *Reader) History(ctx context.Context) (*History, error) {
	fresh := r.Fresh
	if fresh == 0 {
		fresh = 5 * time.Second
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.h != nil && now.Sub(r.read) < fresh {
		return r.h, nil
	}
	all, err := r.Store.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the outcome history: %w", err)
	}
	h, err := NewHistory(all)
	if err != nil && r.Log != nil {
		r.Log.Warn("part of the outcome history is unreadable; judging on the rest", "err", err)
	}
	r.h, r.read = h, now
	return h, nil
}

// Judge judges a failure of pipeline (or task) in repo now.
func (r *Reader) Judge(ctx context.Context, repo, pipeline, task string) (Verdict, error) {
	h, err := r.History(ctx)
	if err != nil {
		return Verdict{}, err
	}
	return h.Judge(repo, pipeline, task, r.clock()), nil
}

func (r *Reader) clock() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Flakiest lists the pipelines and tasks that flaked in the d before now,
// most often first, at most limit.
func (r *Reader) Flakiest(ctx context.Context, now time.Time, d time.Duration, limit int) ([]Flake, error) {
	h, err := r.History(ctx)
	if err != nil {
		return nil, err
	}
	return h.Flakiest(now, d, limit), nil
}
