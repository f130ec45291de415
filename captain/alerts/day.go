package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"tekbot/schedule"
	"tekbot/state"
)

// Day is one duty day's alerts: the thread they are posted in and one line
// per failing pipeline.
type Day struct {
	// Thread is the timestamp of the message that starts the day's thread.
	Thread string `json:"thread,omitempty"`
	// Lines are keyed by cluster/pipeline.
	Lines map[string]*Line `json:"lines,omitempty"`
}

// Line is what the thread says about one pipeline: one message, updated
// as it fails again, and whether it went green since.
type Line struct {
	Cluster  string `json:"cluster"`
	Pipeline string `json:"pipeline"`
	// TS is the line's message in the thread.
	TS string `json:"ts,omitempty"`
	// Failures counts the distinct runs that failed; Runs holds the last
	// few, so a retried alert does not count twice.
	Failures int      `json:"failures"`
	Runs     []string `json:"runs,omitempty"`
	// The last failure: when, its link, what failed.
	LastRun    string    `json:"lastRun"`
	LastFailed time.Time `json:"lastFailed"`
	URL        string    `json:"url,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	// Green is set when a run succeeded after the last failure.
	Green   bool      `json:"green,omitempty"`
	GreenAt time.Time `json:"greenAt,omitzero"`
}

func lineKey(cluster, pipeline string) string { return cluster + "/" + pipeline }

// Sorted returns the lines by cluster and pipeline.
func (d *Day) Sorted() []*Line {
	out := make([]*Line, 0, len(d.Lines))
	for _, k := range slices.Sorted(maps.Keys(d.Lines)) {
		out = append(out, d.Lines[k])
	}
	return out
}

// keptRuns bounds Line.Runs; keptDays bounds the record.
const (
	keptRuns = 20
	keptDays = 7
)

// addFailure records run as failed; it reports false if it was already.
func (l *Line) addFailure(run string, at time.Time, url, detail string) bool {
	if slices.Contains(l.Runs, run) {
		return false
	}
	l.Runs = append(l.Runs, run)
	l.Runs = l.Runs[max(0, len(l.Runs)-keptRuns):]
	l.Failures++
	if at.After(l.LastFailed) {
		l.LastRun, l.LastFailed, l.URL, l.Detail, l.Green = run, at, url, detail, false
	}
	return true
}

// Days keeps each day's alerts in a ConfigMap in tekbot's state namespace
// (one key per date), so any replica, and the next process, continues the
// same thread and the same lines.
type Days struct {
	ConfigMaps state.ConfigMaps
}

const daysConfigMap = "tekbot-alerts"

// days is the record as stored: each date's Day in JSON, decoded only when
// asked for, so one unreadable day does not hide the others.
type days struct {
	where string
	raw   map[string]string
}

func (s *Days) doc() *state.Doc[days] {
	return &state.Doc[days]{
		ConfigMaps: s.ConfigMaps, Name: daysConfigMap,
		Decode: func(cm *corev1.ConfigMap) (days, error) {
			if cm == nil {
				return days{raw: map[string]string{}}, nil
			}
			return days{where: fmt.Sprintf("ConfigMap %s/%s", cm.Namespace, cm.Name), raw: maps.Clone(cm.Data)}, nil
		},
		Encode: func(ds days, cm *corev1.ConfigMap) error {
			cm.Data = ds.raw
			return nil
		},
	}
}

// Get returns the day's record; it is empty before its first alert.
func (s *Days) Get(ctx context.Context, d schedule.Date) (*Day, error) {
	ds, err := s.doc().Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the alerts record: %w", err)
	}
	return ds.day(d)
}

func (ds days) day(d schedule.Date) (*Day, error) {
	day := &Day{}
	if raw := ds.raw[d.String()]; raw != "" {
		if err := json.Unmarshal([]byte(raw), day); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", ds.where, d, err)
		}
	}
	if day.Lines == nil {
		day.Lines = map[string]*Line{}
	}
	return day, nil
}

// Update applies change to the day's record and saves it, running change
// again on fresh data when another replica wrote first. It returns the
// record as saved. Days older than a week are dropped.
func (s *Days) Update(ctx context.Context, d schedule.Date, change func(*Day)) (*Day, error) {
	var saved *Day
	_, err := s.doc().Update(ctx, func(ds *days) error {
		day, err := ds.day(d)
		if err != nil {
			return err
		}
		change(day)
		raw, err := json.Marshal(day)
		if err != nil {
			return err
		}
		if ds.raw == nil {
			ds.raw = map[string]string{}
		}
		ds.raw[d.String()] = string(raw)
		for k := range ds.raw {
			if old, err := schedule.ParseDate(k); err != nil || d.Sub(old) >= keptDays {
				delete(ds.raw, k)
			}
		}
		saved = day
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("saving the alerts record: %w", err)
	}
	return saved, nil
}
