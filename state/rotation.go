package state

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"

	"tekbot/schedule"
)

// RotationChanges are the changes people make to the rotation from chat:
// overrides (swaps, covers) and holidays (days off, which unlike an
// override to nobody do not use up anyone's turn).
type RotationChanges struct {
	Overrides map[schedule.Date]schedule.Override
	Holidays  map[schedule.Date]string
}

// RotationState keeps RotationChanges in a ConfigMap: overrides in Tekton's
// overrides CSV format and holidays as "date name" lines, so a human can
// read and fix them with kubectl. Writers use optimistic concurrency on
// resourceVersion: two replicas changing it at once both land.
type RotationState struct {
	Kube      Kube
	Namespace string
}

const (
	rotationConfigMap = "tekbot-rotation"
	overridesKey      = "overrides.csv"
	holidaysKey       = "holidays"
)

// Changes reads the current changes; there are none before the first.
func (s *RotationState) Changes(ctx context.Context) (RotationChanges, error) {
	cm, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Get(ctx, rotationConfigMap, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return RotationChanges{Overrides: map[schedule.Date]schedule.Override{}, Holidays: map[schedule.Date]string{}}, nil
	}
	if err != nil {
		return RotationChanges{}, fmt.Errorf("reading rotation state: %w", err)
	}
	return decodeChanges(cm)
}

func decodeChanges(cm *corev1.ConfigMap) (RotationChanges, error) {
	where := fmt.Sprintf("ConfigMap %s/%s", cm.Namespace, cm.Name)
	ov, err := schedule.ReadOverridesCSV(strings.NewReader(cm.Data[overridesKey]))
	if err != nil {
		return RotationChanges{}, fmt.Errorf("%s: %w", where, err)
	}
	holidays := map[schedule.Date]string{}
	sc := bufio.NewScanner(strings.NewReader(cm.Data[holidaysKey]))
	for sc.Scan() {
		date, name, _ := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if date == "" {
			continue
		}
		d, err := schedule.ParseDate(date)
		if err != nil {
			return RotationChanges{}, fmt.Errorf("%s: holidays: %w", where, err)
		}
		holidays[d] = strings.TrimSpace(name)
	}
	return RotationChanges{Overrides: ov, Holidays: holidays}, nil
}

func encodeChanges(c RotationChanges) (map[string]string, error) {
	var ov strings.Builder
	if err := schedule.WriteOverridesCSV(&ov, c.Overrides); err != nil {
		return nil, err
	}
	var h strings.Builder
	for _, d := range slices.SortedFunc(maps.Keys(c.Holidays), func(a, b schedule.Date) int { return a.Sub(b) }) {
		fmt.Fprintf(&h, "%s %s\n", d, c.Holidays[d])
	}
	return map[string]string{overridesKey: ov.String(), holidaysKey: h.String()}, nil
}

// conflictBackoff spreads writers that collide: client-go's DefaultRetry
// (5 tries 10ms apart, little jitter) gives up under a burst of changes.
var conflictBackoff = wait.Backoff{Steps: 30, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1, Cap: time.Second}

// Change applies change and saves the result, retrying on a conflicting
// write by another replica (change runs again on fresh data).
func (s *RotationState) Change(ctx context.Context, change func(*RotationChanges) error) error {
	cms := s.Kube.CoreV1().ConfigMaps(s.Namespace)
	return retry.RetryOnConflict(conflictBackoff, func() error {
		cm, err := cms.Get(ctx, rotationConfigMap, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		switch {
		case create:
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: rotationConfigMap, Namespace: s.Namespace, Labels: map[string]string{LabelManagedBy: "tekbot"},
			}}
		case err != nil:
			return fmt.Errorf("reading rotation state: %w", err)
		}
		changes, err := decodeChanges(cm)
		if err != nil {
			return err
		}
		if err := change(&changes); err != nil {
			return err
		}
		if cm.Data, err = encodeChanges(changes); err != nil {
			return err
		}
		if create {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Another replica created it first: retry as a conflict.
				return apierrors.NewConflict(corev1.Resource("configmaps"), rotationConfigMap, err)
			}
			return err
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
}

// Apply returns the rotation with these changes on top of its own
// holidays and overrides; r itself is not changed.
func (c RotationChanges) Apply(r schedule.Rotation) schedule.Rotation {
	r.Overrides = maps.Clone(r.Overrides)
	if r.Overrides == nil {
		r.Overrides = map[schedule.Date]schedule.Override{}
	}
	maps.Copy(r.Overrides, c.Overrides)
	r.Holidays = maps.Clone(r.Holidays)
	if r.Holidays == nil {
		r.Holidays = map[schedule.Date]string{}
	}
	maps.Copy(r.Holidays, c.Holidays)
	return r
}
