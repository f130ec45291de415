package state

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// labelShards marks the ConfigMaps of a set of documents (Shards).
const labelShards = "tekbot.dev/shards"

// shardKey is the data key holding a document.
const shardKey = "document"

// Shards keeps a set of named documents, one ConfigMap each, so that a
// record too big for one ConfigMap (the outcome history, a day per
// document) is read with one List and written one document at a time.
type Shards struct {
	ConfigMaps ConfigMaps
	// Set names the set: its ConfigMaps are tekbot-<set>-<document>.
	Set string
}

func (s *Shards) configMap(name string) string { return "tekbot-" + s.Set + "-" + name }

// All returns every document of the set, by name.
func (s *Shards) All(ctx context.Context) (map[string][]byte, error) {
	list, err := s.ConfigMaps.List(ctx, labelShards+"="+s.Set)
	if err != nil {
		return nil, fmt.Errorf("listing the %s documents: %w", s.Set, err)
	}
	out := make(map[string][]byte, len(list))
	prefix := s.configMap("")
	for _, cm := range list {
		if name, ok := strings.CutPrefix(cm.Name, prefix); ok {
			out[name] = []byte(cm.Data[shardKey])
		}
	}
	return out, nil
}

// errUnchanged ends an Update whose change writes nothing.
var errUnchanged = errors.New("document unchanged")

// Update changes one document, creating it if need be, and retries when
// another replica wrote it first (change runs again on fresh data).
// change gets nil for a new document and returns nil to write nothing.
func (s *Shards) Update(ctx context.Context, name string, change func(old []byte) ([]byte, error)) error {
	doc := &Doc[[]byte]{
		ConfigMaps: s.ConfigMaps, Name: s.configMap(name),
		Decode: func(cm *corev1.ConfigMap) ([]byte, error) {
			if cm == nil {
				return nil, nil
			}
			return []byte(cm.Data[shardKey]), nil
		},
		Encode: func(doc []byte, cm *corev1.ConfigMap) error {
			if cm.Labels == nil {
				cm.Labels = map[string]string{}
			}
			cm.Labels[LabelManagedBy], cm.Labels[labelShards] = "tekbot", s.Set
			cm.Data = map[string]string{shardKey: string(doc)}
			return nil
		},
	}
	_, err := doc.Update(ctx, func(d *[]byte) error {
		next, err := change(*d)
		switch {
		case err != nil:
			return err
		case next == nil:
			return errUnchanged
		}
		*d = next
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	return err
}

// Delete deletes a document; one already gone is not an error.
func (s *Shards) Delete(ctx context.Context, name string) error {
	err := s.ConfigMaps.Delete(ctx, s.configMap(name), nil)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", s.configMap(name), err)
	}
	return nil
}
