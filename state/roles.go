package state

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
)

// RoleChanges tell every replica that GitHub changed someone's roles: a
// role event reaches one replica, and each keeps its own cache of who may
// write. One ConfigMap holds, per person (lower case), when the last event
// named them; every replica watches it (Follow).
type RoleChanges struct {
	ConfigMaps WatchedConfigMaps
	// Keep is how long a change is kept: as long as a cached role lives.
	Keep time.Duration
}

// WatchedConfigMaps are ConfigMaps one of which can be watched by name,
// as tekbot's RBAC allows for the role changes alone.
type WatchedConfigMaps interface {
	ConfigMaps
	Watch(ctx context.Context, name string) (watch.Interface, error)
}

// WatchedConfigMapsIn is the WatchedConfigMaps port on a real apiserver.
func WatchedConfigMapsIn(kube Kube, namespace string) WatchedConfigMaps {
	return kubeConfigMaps{kube.CoreV1().ConfigMaps(namespace)}
}

func (k kubeConfigMaps) Watch(ctx context.Context, name string) (watch.Interface, error) {
	return k.cms.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
}

const (
	roleChangesName = "tekbot-role-changes"
	// everyone stands for a change no login names (a team's access). GitHub
	// logins have no "_", so no one is called that.
	everyone = "_everyone"
)

// Note records that login's roles changed ("" for everyone's).
func (r *RoleChanges) Note(ctx context.Context, login string, now time.Time) error {
	key := everyone
	if login != "" {
		key = strings.ToLower(login)
	}
	doc := Doc[map[string]string]{
		ConfigMaps: r.ConfigMaps, Name: roleChangesName,
		Decode: func(cm *corev1.ConfigMap) (map[string]string, error) {
			if cm == nil || cm.Data == nil {
				return map[string]string{}, nil
			}
			return cm.Data, nil
		},
		Encode: func(changes map[string]string, cm *corev1.ConfigMap) error { cm.Data = changes; return nil },
	}
	_, err := doc.Update(ctx, func(changes *map[string]string) error {
		for k, v := range *changes {
			if at, err := time.Parse(time.RFC3339Nano, v); err != nil || now.Sub(at) > r.Keep {
				delete(*changes, k) // older than any cached role: says nothing now
			}
		}
		(*changes)[key] = now.UTC().Format(time.RFC3339Nano)
		return nil
	})
	if err != nil {
		return fmt.Errorf("noting %s's role change: %w", key, err)
	}
	return nil
}

// Follow calls forget with each login (or "" for everyone) whose change is
// noted, until ctx ends: at once for changes within Keep when it starts,
// then as they are noted. A broken watch is made again after a second.
func (r *RoleChanges) Follow(ctx context.Context, forget func(login string), log *slog.Logger) {
	told := map[string]string{}
	for ctx.Err() == nil {
		w, err := r.ConfigMaps.Watch(ctx, roleChangesName)
		if err != nil {
			log.Warn("watching role changes failed", "err", err)
		} else {
			for ev := range w.ResultChan() {
				cm, ok := ev.Object.(*corev1.ConfigMap)
				if !ok {
					continue
				}
				for k, v := range told {
					if at, _ := time.Parse(time.RFC3339Nano, v); time.Since(at) > r.Keep {
						delete(told, k)
					}
				}
				for k, v := range cm.Data {
					at, err := time.Parse(time.RFC3339Nano, v)
					if err != nil || told[k] == v || time.Since(at) > r.Keep {
						continue
					}
					told[k] = v
					if k == everyone {
						k = ""
					}
					forget(k)
				}
			}
			w.Stop()
		}
		t := time.NewTimer(time.Second)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}
