package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/util/retry"

	"tekbot/schedule"
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

// Kube is what Days uses of Kubernetes: ConfigMaps. It is narrower than
// client-go's full clientset, whose every API group's client tekbot would
// otherwise link; tekton.Kube and the full clientset (tests) satisfy it.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
}

// Days keeps each day's alerts in a ConfigMap in tekbot's state namespace
// (one key per date), so any replica, and the next process, continues the
// same thread and the same lines.
type Days struct {
	Kube      Kube
	Namespace string
}

const daysConfigMap = "tekbot-alerts"

// Get returns the day's record; it is empty before its first alert.
func (s *Days) Get(ctx context.Context, d schedule.Date) (*Day, error) {
	cm, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Get(ctx, daysConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return &Day{Lines: map[string]*Line{}}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the alerts record: %w", err)
	}
	return decodeDay(cm, d)
}

func decodeDay(cm *corev1.ConfigMap, d schedule.Date) (*Day, error) {
	day := &Day{}
	if raw := cm.Data[d.String()]; raw != "" {
		if err := json.Unmarshal([]byte(raw), day); err != nil {
			return nil, fmt.Errorf("ConfigMap %s/%s: %s: %w", cm.Namespace, cm.Name, d, err)
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
	cms := s.Kube.CoreV1().ConfigMaps(s.Namespace)
	var saved *Day
	err := retry.RetryOnConflict(retry.DefaultBackoff, func() error {
		cm, err := cms.Get(ctx, daysConfigMap, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		if create {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: daysConfigMap, Namespace: s.Namespace, Labels: map[string]string{"app.kubernetes.io/managed-by": "tekbot"},
			}}
		} else if err != nil {
			return fmt.Errorf("reading the alerts record: %w", err)
		}
		day, err := decodeDay(cm, d)
		if err != nil {
			return err
		}
		change(day)
		raw, err := json.Marshal(day)
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[d.String()] = string(raw)
		for k := range cm.Data {
			if old, err := schedule.ParseDate(k); err != nil || d.Sub(old) >= keptDays {
				delete(cm.Data, k)
			}
		}
		if create {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), daysConfigMap, err)
			}
		} else {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		saved = day
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("saving the alerts record: %w", err)
	}
	return saved, nil
}
