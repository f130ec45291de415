package state

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// labelShards marks the ConfigMaps of a set of documents (Shards).
const labelShards = "tekbot.dev/shards"

// shardKey is the data key holding a document.
const shardKey = "document"

// Shards keeps a set of named documents, one ConfigMap each, so that a
// record too big for one ConfigMap (the outcome history, a day per
// document) is read with one List and written one document at a time.
type Shards struct {
	Kube      Kube
	Namespace string
	// Set names the set: its ConfigMaps are tekbot-<set>-<document>.
	Set string
}

func (s *Shards) configMap(name string) string { return "tekbot-" + s.Set + "-" + name }

// All returns every document of the set, by name.
func (s *Shards) All(ctx context.Context) (map[string][]byte, error) {
	list, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelShards + "=" + s.Set})
	if err != nil {
		return nil, fmt.Errorf("listing the %s documents: %w", s.Set, err)
	}
	out := make(map[string][]byte, len(list.Items))
	prefix := s.configMap("")
	for _, cm := range list.Items {
		if name, ok := strings.CutPrefix(cm.Name, prefix); ok {
			out[name] = []byte(cm.Data[shardKey])
		}
	}
	return out, nil
}

// Update changes one document, creating it if need be, and retries when
// another replica wrote it first (change runs again on fresh data).
// change gets nil for a new document and returns nil to write nothing.
func (s *Shards) Update(ctx context.Context, name string, change func(old []byte) ([]byte, error)) error {
	cms := s.Kube.CoreV1().ConfigMaps(s.Namespace)
	cmName := s.configMap(name)
	return retry.RetryOnConflict(conflictBackoff, func() error {
		cm, err := cms.Get(ctx, cmName, metav1.GetOptions{})
		create := apierrors.IsNotFound(err)
		var old []byte
		switch {
		case create:
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: cmName, Namespace: s.Namespace,
				Labels: map[string]string{LabelManagedBy: "tekbot", labelShards: s.Set},
			}}
		case err != nil:
			return fmt.Errorf("reading %s: %w", cmName, err)
		default:
			old = []byte(cm.Data[shardKey])
		}
		doc, err := change(old)
		if err != nil || doc == nil {
			return err
		}
		cm.Data = map[string]string{shardKey: string(doc)}
		if create {
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				// Another replica created it first: retry as a conflict.
				return apierrors.NewConflict(corev1.Resource("configmaps"), cmName, err)
			}
		} else {
			_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		}
		if err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("writing %s: %w", cmName, err)
		}
		return err
	})
}

// Delete deletes a document; one already gone is not an error.
func (s *Shards) Delete(ctx context.Context, name string) error {
	err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, s.configMap(name), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", s.configMap(name), err)
	}
	return nil
}
