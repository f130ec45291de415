package state

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// ConfigMaps is the port to the ConfigMaps of one namespace: what tekbot's
// records need of Kubernetes. Errors are the apiserver's (apierrors'
// NotFound, AlreadyExists, Conflict), so callers test them the same way
// whatever implements it: ConfigMapsIn on a real apiserver, test/fake in
// the short tier.
type ConfigMaps interface {
	Get(ctx context.Context, name string) (*corev1.ConfigMap, error)
	// List returns the ConfigMaps matching a label selector.
	List(ctx context.Context, labelSelector string) ([]corev1.ConfigMap, error)
	// Create fails with AlreadyExists when the name is taken.
	Create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error)
	// Update fails with Conflict when cm's resourceVersion is not the
	// stored one (an empty resourceVersion updates unconditionally).
	Update(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error)
	// Delete fails with Conflict when pre (if set) does not match.
	Delete(ctx context.Context, name string, pre *metav1.Preconditions) error
}

// Doc is one document of type T kept in one ConfigMap, read and written by
// every replica: Update is the read-modify-write that retries on a
// conflicting write, so two replicas changing it at once both land.
type Doc[T any] struct {
	ConfigMaps ConfigMaps
	Name       string
	// Decode reads the document from its ConfigMap; cm is nil before the
	// first write (Decode says what the empty document is, or that there
	// must be one).
	Decode func(cm *corev1.ConfigMap) (T, error)
	// Encode writes doc into cm, which holds what was read (its Data may
	// be nil); it may set labels too.
	Encode func(doc T, cm *corev1.ConfigMap) error
}

// conflictBackoff spreads writers that collide: client-go's DefaultRetry
// (5 tries 10ms apart, little jitter) gives up under a burst of changes.
var conflictBackoff = wait.Backoff{Steps: 30, Duration: 10 * time.Millisecond, Factor: 1.5, Jitter: 1, Cap: time.Second}

// Get reads the document.
func (d *Doc[T]) Get(ctx context.Context) (T, error) {
	cm, err := d.read(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return d.Decode(cm)
}

func (d *Doc[T]) read(ctx context.Context) (*corev1.ConfigMap, error) {
	cm, err := d.ConfigMaps.Get(ctx, d.Name)
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading ConfigMap %s: %w", d.Name, err)
	}
	return cm, nil
}

// Create stores doc unless the ConfigMap exists; created is false when it
// did (a retried request finds what the first one stored).
func (d *Doc[T]) Create(ctx context.Context, doc T) (created bool, err error) {
	cm := d.fresh()
	if err := d.Encode(doc, cm); err != nil {
		return false, fmt.Errorf("encoding ConfigMap %s: %w", d.Name, err)
	}
	_, err = d.ConfigMaps.Create(ctx, cm)
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("creating ConfigMap %s: %w", d.Name, err)
	}
	return true, nil
}

// Update applies change to the document and saves it, creating the
// ConfigMap if it is missing. When another writer got there first, change
// runs again on fresh data; an error from change leaves the document as it
// was and is returned as is. It returns the document as saved.
func (d *Doc[T]) Update(ctx context.Context, change func(*T) error) (T, error) {
	var zero T
	backoff := conflictBackoff
	for {
		doc, err := d.updateOnce(ctx, change)
		var refused changeError
		switch {
		case err == nil:
			return doc, nil
		case errors.As(err, &refused):
			return zero, refused.err
		case !apierrors.IsConflict(err):
			return zero, err
		case backoff.Steps <= 1:
			return zero, fmt.Errorf("saving ConfigMap %s: still conflicting after %d tries: %w", d.Name, conflictBackoff.Steps, err)
		}
		select {
		case <-ctx.Done():
			return zero, fmt.Errorf("saving ConfigMap %s: %w", d.Name, context.Cause(ctx))
		case <-time.After(backoff.Step()):
		}
	}
}

// changeError keeps an error from change apart from the store's own: it
// reaches the caller unwrapped, and a Conflict from change is not taken
// for the store's.
type changeError struct{ err error }

func (e changeError) Error() string { return e.err.Error() }

func (d *Doc[T]) updateOnce(ctx context.Context, change func(*T) error) (T, error) {
	var zero T
	cm, err := d.read(ctx)
	if err != nil {
		return zero, err
	}
	doc, err := d.Decode(cm)
	if err != nil {
		return zero, err
	}
	if err := change(&doc); err != nil {
		return zero, changeError{err}
	}
	create := cm == nil
	if create {
		cm = d.fresh()
	}
	if err := d.Encode(doc, cm); err != nil {
		return zero, fmt.Errorf("encoding ConfigMap %s: %w", d.Name, err)
	}
	if create {
		_, err = d.ConfigMaps.Create(ctx, cm)
		if apierrors.IsAlreadyExists(err) {
			// Another replica created it first: retry as a conflict.
			return zero, apierrors.NewConflict(corev1.Resource("configmaps"), d.Name, err)
		}
	} else {
		_, err = d.ConfigMaps.Update(ctx, cm)
	}
	if err != nil && !apierrors.IsConflict(err) {
		return zero, fmt.Errorf("saving ConfigMap %s: %w", d.Name, err)
	}
	return doc, err
}

// fresh is the ConfigMap of a document not yet stored.
func (d *Doc[T]) fresh() *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
		Name: d.Name, Labels: map[string]string{LabelManagedBy: "tekbot"},
	}}
}
