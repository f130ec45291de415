package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LabelHold marks the ConfigMaps that record /hold.
const (
	LabelHold = "tekbot.dev/hold"
	holdKey   = "hold"
)

// Holds records the PRs held with /hold, one ConfigMap per (repository,
// PR). The record, not the do-not-merge/hold label anyone with triage
// rights can remove, says who held and why: it decides who may unhold and
// puts the hold back on every new head.
type Holds struct {
	Kube      Kube
	Namespace string
}

// Hold is one held PR.
type Hold struct {
	Repository string `json:"repository"`
	Number     int    `json:"pullRequest"`
	// Login is who held it, on GitHub; Person their config name, if any.
	Login  string    `json:"login"`
	Person string    `json:"person,omitempty"`
	Reason string    `json:"reason,omitempty"`
	At     time.Time `json:"at"`
	// Expires is when the hold lapses by itself; zero holds until /unhold.
	Expires time.Time `json:"expires,omitzero"`
	// Reminded is set once the reminder before Expires was posted.
	Reminded bool `json:"reminded,omitempty"`
}

// Get returns the hold on repo#number, or nil.
func (s *Holds) Get(ctx context.Context, repo string, number int) (*Hold, error) {
	cm, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Get(ctx, holdName(repo, number), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("reading the hold on %s#%d: %w", repo, number, err)
	}
	return decodeHold(cm)
}

// Put records h, replacing any hold on its PR.
func (s *Holds) Put(ctx context.Context, h Hold) error {
	body, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("recording the hold on %s#%d: %w", h.Repository, h.Number, err)
	}
	cms := s.Kube.CoreV1().ConfigMaps(s.Namespace)
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:   holdName(h.Repository, h.Number),
			Labels: map[string]string{LabelManagedBy: "tekbot", LabelHold: "true"},
		},
		Data: map[string]string{holdKey: string(body)},
	}
	_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		// Last writer wins: a hold is replaced whole, never merged.
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("recording the hold on %s#%d: %w", h.Repository, h.Number, err)
	}
	return nil
}

// Delete lifts the hold on repo#number; lifting no hold is not an error.
func (s *Holds) Delete(ctx context.Context, repo string, number int) error {
	err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, holdName(repo, number), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("lifting the hold on %s#%d: %w", repo, number, err)
	}
	return nil
}

// List returns every hold.
func (s *Holds) List(ctx context.Context) ([]Hold, error) {
	list, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelHold + "=true"})
	if err != nil {
		return nil, fmt.Errorf("listing holds: %w", err)
	}
	holds := make([]Hold, 0, len(list.Items))
	for i := range list.Items {
		h, err := decodeHold(&list.Items[i])
		if err != nil {
			return nil, err
		}
		holds = append(holds, *h)
	}
	return holds, nil
}

func decodeHold(cm *corev1.ConfigMap) (*Hold, error) {
	var h Hold
	if err := json.Unmarshal([]byte(cm.Data[holdKey]), &h); err != nil {
		return nil, fmt.Errorf("reading hold record %s: %w", cm.Name, err)
	}
	return &h, nil
}

func holdName(repo string, number int) string {
	// GitHub's names are case-insensitive: one PR, one record.
	sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d", strings.ToLower(repo), number))
	return "tekbot-hold-" + hex.EncodeToString(sum[:])[:32]
}
