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

// Labels and annotations of approval records.
const (
	LabelApproval      = "tekbot.dev/approval"
	labelApprovalPR    = "tekbot.dev/approval-pr"
	annotationApproved = "tekbot.dev/approved"
)

// Approvals records the commits a maintainer approved with /ok-to-test, one
// ConfigMap per (repository, PR, commit). Trust lives here, in tekbot's own
// state, not in a PR label that anyone with triage rights can add, and it
// names the commit: a later push by the PR's author is not approved.
type Approvals struct {
	ConfigMaps ConfigMaps
}

// Approve records that by approved commit sha of repo#number. Approving
// the same commit twice is not an error.
func (a *Approvals) Approve(ctx context.Context, repo string, number int, sha, by string) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: approvalName(repo, number, sha),
			Labels: map[string]string{
				LabelManagedBy: "tekbot", LabelApproval: "true", labelApprovalPR: prKey(repo, number),
			},
			Annotations: map[string]string{annotationApproved: time.Now().UTC().Format(time.RFC3339)},
		},
		Data: map[string]string{"repository": repo, "pullRequest": fmt.Sprint(number), "sha": sha, "approvedBy": by},
	}
	_, err := a.ConfigMaps.Create(ctx, cm)
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("recording the approval of %s#%d at %s: %w", repo, number, sha, err)
	}
	return nil
}

// Approved reports whether commit sha of repo#number was approved.
func (a *Approvals) Approved(ctx context.Context, repo string, number int, sha string) (bool, error) {
	_, err := a.ConfigMaps.Get(ctx, approvalName(repo, number, sha))
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("reading the approvals of %s#%d: %w", repo, number, err)
	}
}

// AnyApproved reports whether any commit of repo#number was approved: the
// "pr" trust mode, where an approval covers later pushes too.
func (a *Approvals) AnyApproved(ctx context.Context, repo string, number int) (bool, error) {
	list, err := a.ConfigMaps.List(ctx, labelApprovalPR+"="+prKey(repo, number))
	if err != nil {
		return false, fmt.Errorf("reading the approvals of %s#%d: %w", repo, number, err)
	}
	return len(list) > 0, nil
}

// prKey fits any repository name and number into a label value.
func prKey(repo string, number int) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d", repo, number))
	return hex.EncodeToString(sum[:])[:40]
}

func approvalName(repo string, number int, sha string) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d@%s", repo, number, sha))
	return "tekbot-ok-" + hex.EncodeToString(sum[:])[:32]
}
