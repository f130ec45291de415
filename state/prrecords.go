package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// prRecords keeps one JSON record of type T per (repository, PR) in a
// ConfigMap named after them, labelled with label: what tekbot knows of a
// PR that neither a label nor a branch name can prove (a hold, an entry
// tekbot put in the merge queue).
type prRecords[T any] struct {
	cms ConfigMaps
	// what names the record in errors ("the hold"); prefix starts its
	// ConfigMaps' names; label marks them for List.
	what, prefix, label string
}

const prRecordKey = "record"

func (s prRecords[T]) name(repo string, number int) string {
	// GitHub's names are case-insensitive: one PR, one record.
	sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d", strings.ToLower(repo), number))
	return s.prefix + hex.EncodeToString(sum[:])[:32]
}

func (s prRecords[T]) get(ctx context.Context, repo string, number int) (*T, error) {
	cm, err := s.cms.Get(ctx, s.name(repo, number))
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading %s on %s#%d: %w", s.what, repo, number, err)
	}
	return s.decode(cm)
}

func (s prRecords[T]) configMap(repo string, number int, v T) (*corev1.ConfigMap, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("recording %s on %s#%d: %w", s.what, repo, number, err)
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:   s.name(repo, number),
			Labels: map[string]string{LabelManagedBy: "tekbot", s.label: "true"},
		},
		Data: map[string]string{prRecordKey: string(body)},
	}, nil
}

// add records v unless the PR has a record already: added is false then,
// and the record is left as it was. Two replicas adding at once add once.
func (s prRecords[T]) add(ctx context.Context, repo string, number int, v T) (added bool, err error) {
	cm, err := s.configMap(repo, number, v)
	if err != nil {
		return false, err
	}
	_, err = s.cms.Create(ctx, cm)
	switch {
	case apierrors.IsAlreadyExists(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("recording %s on %s#%d: %w", s.what, repo, number, err)
	}
	return true, nil
}

// put records v, replacing the PR's record whole: last writer wins.
func (s prRecords[T]) put(ctx context.Context, repo string, number int, v T) error {
	cm, err := s.configMap(repo, number, v)
	if err != nil {
		return err
	}
	_, err = s.cms.Create(ctx, cm)
	if apierrors.IsAlreadyExists(err) {
		// No resourceVersion: the update is unconditional.
		_, err = s.cms.Update(ctx, cm)
	}
	if err != nil {
		return fmt.Errorf("recording %s on %s#%d: %w", s.what, repo, number, err)
	}
	return nil
}

// delete forgets the PR's record; forgetting none is not an error.
func (s prRecords[T]) delete(ctx context.Context, repo string, number int) error {
	err := s.cms.Delete(ctx, s.name(repo, number), nil)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("forgetting %s on %s#%d: %w", s.what, repo, number, err)
	}
	return nil
}

func (s prRecords[T]) list(ctx context.Context) ([]T, error) {
	list, err := s.cms.List(ctx, s.label+"=true")
	if err != nil {
		return nil, fmt.Errorf("listing %s records: %w", s.what, err)
	}
	out := make([]T, 0, len(list))
	for i := range list {
		v, err := s.decode(&list[i])
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

func (s prRecords[T]) decode(cm *corev1.ConfigMap) (*T, error) {
	var v T
	if err := json.Unmarshal([]byte(cm.Data[prRecordKey]), &v); err != nil {
		return nil, fmt.Errorf("reading %s record %s: %w", s.what, cm.Name, err)
	}
	return &v, nil
}
