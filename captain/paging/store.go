package paging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Page is one page to the build captain.
type Page struct {
	ID        string    `json:"id"`
	Requester string    `json:"requester"`
	Reason    string    `json:"reason"`
	Link      string    `json:"link,omitempty"`
	Urgent    bool      `json:"urgent,omitempty"`
	Created   time.Time `json:"created"`
	// DeliverAt is when the captain is told: now, or the next duty day's
	// handoff for a page outside working hours that is not urgent.
	DeliverAt time.Time `json:"deliverAt"`
	Delivered bool      `json:"delivered,omitempty"`
	// Paged lists who has been paged, the captain first.
	Paged []string `json:"paged,omitempty"`
	// Level is how far it escalated: 0 the captain, 1 the backup, 2 the
	// channel.
	Level          int       `json:"level"`
	NextEscalation time.Time `json:"nextEscalation"`
	AckedBy        string    `json:"ackedBy,omitempty"`
	AckedAt        time.Time `json:"ackedAt,omitzero"`
}

// Open reports whether the page still waits for an ack.
func (p *Page) Open() bool { return p.AckedBy == "" }

// Kube is what Store uses of Kubernetes: ConfigMaps. It is narrower than
// client-go's full clientset, whose every API group's client tekbot would
// otherwise link; tekton.Kube and the full clientset (tests) satisfy it.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
}

// Store keeps pages as ConfigMaps in tekbot's namespace, so escalation
// survives restarts and any replica can ack.
type Store struct {
	Kube      Kube
	Namespace string
}

const (
	labelPage = "tekbot.dev/page"
	pageKey   = "page.json"
)

func configMapName(id string) string { return "tekbot-page-" + id }

// Create stores a new page; its ID is derived from the request, so a
// retried request finds the page it made instead of paging twice.
func (s *Store) Create(ctx context.Context, p *Page) (created bool, err error) {
	cm, err := encode(p)
	if err != nil {
		return false, err
	}
	_, err = s.Kube.CoreV1().ConfigMaps(s.Namespace).Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storing page %s: %w", p.ID, err)
	}
	return true, nil
}

func encode(p *Page) (*corev1.ConfigMap, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	state := "open"
	if !p.Open() {
		state = "acked"
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: configMapName(p.ID), Labels: map[string]string{
			"app.kubernetes.io/managed-by": "tekbot", labelPage: state,
		}},
		Data: map[string]string{pageKey: string(raw)},
	}, nil
}

// Get reads a page.
func (s *Store) Get(ctx context.Context, id string) (*Page, string, error) {
	cm, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Get(ctx, configMapName(id), metav1.GetOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("reading page %s: %w", id, err)
	}
	var p Page
	if err := json.Unmarshal([]byte(cm.Data[pageKey]), &p); err != nil {
		return nil, "", fmt.Errorf("decoding page %s: %w", id, err)
	}
	return &p, cm.ResourceVersion, nil
}

// Update writes p if nobody changed it since resourceVersion; a conflict
// means another replica acted first and the caller should re-read.
func (s *Store) Update(ctx context.Context, p *Page, resourceVersion string) error {
	cm, err := encode(p)
	if err != nil {
		return err
	}
	cm.ResourceVersion = resourceVersion
	if _, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("updating page %s: %w", p.ID, err)
	}
	return nil
}

// Open lists the pages waiting for an ack.
func (s *Store) Open(ctx context.Context) ([]*Page, error) {
	list, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelPage + "=open"})
	if err != nil {
		return nil, fmt.Errorf("listing pages: %w", err)
	}
	var out []*Page
	for _, cm := range list.Items {
		var p Page
		if err := json.Unmarshal([]byte(cm.Data[pageKey]), &p); err == nil {
			out = append(out, &p)
		}
	}
	return out, nil
}

// ClosedRetention is how long an acked page is kept (for "who acked last
// week's page?") before the leader's sweep deletes it.
const ClosedRetention = 7 * 24 * time.Hour

// DeleteClosed deletes the pages acked at least retention before now, so
// that closed pages do not pile up in the state namespace. Open pages are
// never deleted. A page another replica deleted or changed first is left
// to it. It returns how many pages it deleted.
func (s *Store) DeleteClosed(ctx context.Context, retention time.Duration, now time.Time) (int, error) {
	list, err := s.Kube.CoreV1().ConfigMaps(s.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labelPage + "=acked"})
	if err != nil {
		return 0, fmt.Errorf("listing closed pages: %w", err)
	}
	deleted := 0
	var errs []error
	for _, cm := range list.Items {
		// A page that cannot be decoded is dated by its object instead.
		closed := cm.CreationTimestamp.Time
		var p Page
		if json.Unmarshal([]byte(cm.Data[pageKey]), &p) == nil && !p.AckedAt.IsZero() {
			closed = p.AckedAt
		}
		if now.Sub(closed) < retention {
			continue
		}
		err := s.Kube.CoreV1().ConfigMaps(s.Namespace).Delete(ctx, cm.Name, metav1.DeleteOptions{
			Preconditions: &metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion},
		})
		switch {
		case err == nil:
			deleted++
		case apierrors.IsNotFound(err) || apierrors.IsConflict(err):
		default:
			errs = append(errs, fmt.Errorf("deleting closed page %s: %w", cm.Name, err))
		}
	}
	return deleted, errors.Join(errs...)
}
