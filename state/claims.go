// Package state keeps tekbot's runtime state in the Kubernetes API, so
// that it survives restarts and is shared by every replica: the apiserver,
// not process memory, decides who handles a request.
package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels on the objects this package writes.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelClaim     = "tekbot.dev/claim"
	annotationKey  = "tekbot.dev/key"
	annotationAt   = "tekbot.dev/claimed-at"
)

// Claims records which requests have been taken, as ConfigMaps with names
// derived from the request: creating one succeeds for exactly one caller.
type Claims struct {
	ConfigMaps ConfigMaps
}

// Claim takes key (e.g. "github-delivery/<id>") for the caller. It returns
// false if someone took it before: another replica, or an earlier delivery.
func (c *Claims) Claim(ctx context.Context, key string) (bool, error) {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:        claimName(key),
			Labels:      map[string]string{LabelManagedBy: "tekbot", LabelClaim: "true"},
			Annotations: map[string]string{annotationKey: key, annotationAt: time.Now().UTC().Format(time.RFC3339)},
		},
	}
	_, err := c.ConfigMaps.Create(ctx, cm)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsAlreadyExists(err):
		return false, nil
	default:
		return false, fmt.Errorf("claiming %s: %w", key, err)
	}
}

// ClaimEvery takes key at most once per period: it succeeds when the key
// is free or its last claim is older than period (e.g. one denial per PR
// per ten minutes). A stale claim is deleted only if it is still the one
// read, so of two replicas racing past it exactly one succeeds.
func (c *Claims) ClaimEvery(ctx context.Context, key string, period time.Duration, now time.Time) (bool, error) {
	ok, err := c.Claim(ctx, key)
	if ok || err != nil {
		return ok, err
	}
	old, err := c.ConfigMaps.Get(ctx, claimName(key))
	switch {
	case apierrors.IsNotFound(err):
		return c.Claim(ctx, key)
	case err != nil:
		return false, fmt.Errorf("reading claim %s: %w", key, err)
	}
	if at, err := time.Parse(time.RFC3339, old.Annotations[annotationAt]); err == nil && now.Sub(at) < period {
		return false, nil
	}
	uid := old.UID
	err = c.ConfigMaps.Delete(ctx, old.Name, &metav1.Preconditions{UID: &uid})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return false, fmt.Errorf("renewing claim %s: %w", key, err)
	}
	return c.Claim(ctx, key)
}

// Release gives a claim back, so that a redelivery of a request that
// failed on our side is handled again rather than lost.
func (c *Claims) Release(ctx context.Context, key string) error {
	err := c.ConfigMaps.Delete(ctx, claimName(key), nil)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("releasing %s: %w", key, err)
	}
	return nil
}

// Expire deletes each claim older than maxAge says for its key: what it
// guards may be replayed for as long as it would still be acted on.
func (c *Claims) Expire(ctx context.Context, maxAge func(key string) time.Duration, now time.Time) (int, error) {
	list, err := c.ConfigMaps.List(ctx, LabelClaim+"=true")
	if err != nil {
		return 0, fmt.Errorf("listing claims: %w", err)
	}
	n := 0
	for _, cm := range list {
		at, err := time.Parse(time.RFC3339, cm.Annotations[annotationAt])
		if err == nil && now.Sub(at) < maxAge(cm.Annotations[annotationKey]) {
			continue
		}
		if err := c.ConfigMaps.Delete(ctx, cm.Name, nil); err != nil && !apierrors.IsNotFound(err) {
			return n, fmt.Errorf("expiring claim %s: %w", cm.Name, err)
		}
		n++
	}
	return n, nil
}

func claimName(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "tekbot-claim-" + hex.EncodeToString(sum[:])[:32]
}
