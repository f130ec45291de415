package state

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

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
	ConfigMaps ConfigMaps
}

const (
	rotationConfigMap = "tekbot-rotation"
	overridesKey      = "overrides.csv"
	holidaysKey       = "holidays"
)

func (s *RotationState) doc() *Doc[RotationChanges] {
	return &Doc[RotationChanges]{ConfigMaps: s.ConfigMaps, Name: rotationConfigMap, Decode: decodeChanges, Encode: encodeChanges}
}

// Changes reads the current changes; there are none before the first.
func (s *RotationState) Changes(ctx context.Context) (RotationChanges, error) {
	c, err := s.doc().Get(ctx)
	if err != nil {
		return RotationChanges{}, fmt.Errorf("reading rotation state: %w", err)
	}
	return c, nil
}

// Change applies change and saves the result, retrying on a conflicting
// write by another replica (change runs again on fresh data).
func (s *RotationState) Change(ctx context.Context, change func(*RotationChanges) error) error {
	_, err := s.doc().Update(ctx, change)
	return err
}

func decodeChanges(cm *corev1.ConfigMap) (RotationChanges, error) {
	if cm == nil {
		return RotationChanges{Overrides: map[schedule.Date]schedule.Override{}, Holidays: map[schedule.Date]string{}}, nil
	}
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

func encodeChanges(c RotationChanges, cm *corev1.ConfigMap) error {
	var ov strings.Builder
	if err := schedule.WriteOverridesCSV(&ov, c.Overrides); err != nil {
		return err
	}
	var h strings.Builder
	for _, d := range slices.SortedFunc(maps.Keys(c.Holidays), func(a, b schedule.Date) int { return a.Sub(b) }) {
		fmt.Fprintf(&h, "%s %s\n", d, c.Holidays[d])
	}
	cm.Data = map[string]string{overridesKey: ov.String(), holidaysKey: h.String()}
	return nil
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
