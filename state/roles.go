package state

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/util/retry"
)

// RoleChanges tell every replica that GitHub changed someone's roles: a
// role event reaches one replica, and each keeps its own cache of who may
// write. One ConfigMap holds, per person (lower case), when the last event
// named them; every replica watches it (Follow).
type RoleChanges struct {
	Kube      Kube
	Namespace string
	// Keep is how long a change is kept: as long as a cached role lives.
	Keep time.Duration
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
	cms := r.Kube.CoreV1().ConfigMaps(r.Namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, roleChangesName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: roleChangesName, Labels: map[string]string{LabelManagedBy: "tekbot"}}}
			cm.Data = map[string]string{key: now.UTC().Format(time.RFC3339Nano)}
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), roleChangesName, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		for k, v := range cm.Data {
			if at, err := time.Parse(time.RFC3339Nano, v); err != nil || now.Sub(at) > r.Keep {
				delete(cm.Data, k) // older than any cached role: says nothing now
			}
		}
		cm.Data[key] = now.UTC().Format(time.RFC3339Nano)
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
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
		w, err := r.Kube.CoreV1().ConfigMaps(r.Namespace).Watch(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("metadata.name", roleChangesName).String(),
		})
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
