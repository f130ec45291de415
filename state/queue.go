package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Labels of queued commands.
const (
	LabelQueued   = "tekbot.dev/queued"
	labelQueuedPR = "tekbot.dev/queued-pr"
	queuedKey     = "command"
)

// Queue keeps the commands asked on open PRs that run when the PR merges
// (a declared command with `when: merged`, such as /cherry-pick), one
// ConfigMap per (repository, PR, command and its arguments): asking twice
// for the same thing queues it once, and it survives restarts and is seen
// by every replica.
type Queue struct {
	ConfigMaps ConfigMaps
}

// Queued is one command waiting for its PR to merge. Who asked is kept for
// the reply and the audit record when it runs: they were authorised when
// they asked.
type Queued struct {
	Repository string   `json:"repository"`
	Number     int      `json:"pullRequest"`
	Verb       string   `json:"verb"`
	Args       []string `json:"args"`
	// Login is who asked, on GitHub; Person their name in the config, if
	// they have one.
	Login  string `json:"login"`
	Person string `json:"person,omitempty"`
	// RequestID is the request that queued it; it names the PipelineRun,
	// so running it twice (two deliveries of the merge) starts one.
	RequestID string    `json:"request"`
	At        time.Time `json:"at"`
}

// Add queues q. When the same command with the same arguments is already
// queued on the PR, it returns that one and added is false.
func (s *Queue) Add(ctx context.Context, q Queued) (first Queued, added bool, err error) {
	body, err := json.Marshal(q)
	if err != nil {
		return Queued{}, false, fmt.Errorf("queueing /%s on %s#%d: %w", q.Verb, q.Repository, q.Number, err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name:   queuedName(q),
			Labels: map[string]string{LabelManagedBy: "tekbot", LabelQueued: "true", labelQueuedPR: prKey(q.Repository, q.Number)},
		},
		Data: map[string]string{queuedKey: string(body)},
	}
	cms := s.ConfigMaps
	_, err = cms.Create(ctx, cm)
	switch {
	case err == nil:
		return q, true, nil
	case !apierrors.IsAlreadyExists(err):
		return Queued{}, false, fmt.Errorf("queueing /%s on %s#%d: %w", q.Verb, q.Repository, q.Number, err)
	}
	old, err := cms.Get(ctx, cm.Name)
	if err != nil {
		return Queued{}, false, fmt.Errorf("reading the queued /%s on %s#%d: %w", q.Verb, q.Repository, q.Number, err)
	}
	first, err = decodeQueued(old)
	return first, false, err
}

// List returns the commands queued on repo#number, oldest first.
func (s *Queue) List(ctx context.Context, repo string, number int) ([]Queued, error) {
	list, err := s.ConfigMaps.List(ctx, labelQueuedPR+"="+prKey(repo, number))
	if err != nil {
		return nil, fmt.Errorf("listing the commands queued on %s#%d: %w", repo, number, err)
	}
	var out []Queued
	for i := range list {
		q, err := decodeQueued(&list[i])
		if err != nil {
			return nil, err
		}
		// prKey is a hash: a label is no proof that the record is this PR's.
		if q.Repository == repo && q.Number == number {
			out = append(out, q)
		}
	}
	slices.SortStableFunc(out, func(a, b Queued) int { return a.At.Compare(b.At) })
	return out, nil
}

// All returns every queued command, oldest first: the leader's sweep
// looks for those whose PR closed without tekbot hearing of it.
func (s *Queue) All(ctx context.Context) ([]Queued, error) {
	list, err := s.ConfigMaps.List(ctx, LabelQueued+"=true")
	if err != nil {
		return nil, fmt.Errorf("listing the queued commands: %w", err)
	}
	out := make([]Queued, 0, len(list))
	for i := range list {
		q, err := decodeQueued(&list[i])
		if err != nil {
			return nil, err
		}
		out = append(out, q)
	}
	slices.SortStableFunc(out, func(a, b Queued) int { return a.At.Compare(b.At) })
	return out, nil
}

// Remove takes q off the queue once it has run or been dropped. Removing
// it twice is not an error.
func (s *Queue) Remove(ctx context.Context, q Queued) error {
	err := s.ConfigMaps.Delete(ctx, queuedName(q), nil)
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("unqueueing /%s on %s#%d: %w", q.Verb, q.Repository, q.Number, err)
	}
	return nil
}

func decodeQueued(cm *corev1.ConfigMap) (Queued, error) {
	var q Queued
	if err := json.Unmarshal([]byte(cm.Data[queuedKey]), &q); err != nil {
		return Queued{}, fmt.Errorf("reading queued command %s: %w", cm.Name, err)
	}
	return q, nil
}

// queuedName is keyed to the PR and the command with its arguments: the
// same request twice is one record.
func queuedName(q Queued) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s#%d /%s %s", q.Repository, q.Number, q.Verb, strings.Join(q.Args, "\x00")))
	return "tekbot-queued-" + hex.EncodeToString(sum[:])[:32]
}
