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

	"tekbot/state"
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

// Store keeps pages as ConfigMaps in tekbot's namespace, so escalation
// survives restarts and any replica can ack.
type Store struct {
	ConfigMaps state.ConfigMaps
}

const (
	labelPage = "tekbot.dev/page"
	pageKey   = "page.json"
)

func configMapName(id string) string { return "tekbot-page-" + id }

// doc is page id's ConfigMap. A page that is not there is NotFound, as
// from the apiserver: unlike the other documents it has no empty state.
func (s *Store) doc(id string) *state.Doc[*Page] {
	name := configMapName(id)
	return &state.Doc[*Page]{
		ConfigMaps: s.ConfigMaps, Name: name,
		Decode: func(cm *corev1.ConfigMap) (*Page, error) {
			if cm == nil {
				return nil, apierrors.NewNotFound(corev1.Resource("configmaps"), name)
			}
			return decode(cm)
		},
		Encode: encode,
	}
}

// Create stores a new page; its ID is derived from the request, so a
// retried request finds the page it made instead of paging twice.
func (s *Store) Create(ctx context.Context, p *Page) (created bool, err error) {
	created, err = s.doc(p.ID).Create(ctx, p)
	if err != nil {
		return false, fmt.Errorf("storing page %s: %w", p.ID, err)
	}
	return created, nil
}

// encode writes the page, and labels it open or acked for Open and
// DeleteClosed.
func encode(p *Page, cm *corev1.ConfigMap) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return err
	}
	status := "open"
	if !p.Open() {
		status = "acked"
	}
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	cm.Labels[labelPage] = status
	cm.Data = map[string]string{pageKey: string(raw)}
	return nil
}

func decode(cm *corev1.ConfigMap) (*Page, error) {
	var p Page
	if err := json.Unmarshal([]byte(cm.Data[pageKey]), &p); err != nil {
		return nil, fmt.Errorf("decoding page %s: %w", cm.Name, err)
	}
	return &p, nil
}

// Get reads a page.
func (s *Store) Get(ctx context.Context, id string) (*Page, error) {
	p, err := s.doc(id).Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading page %s: %w", id, err)
	}
	return p, nil
}

// Change applies change to page id and saves it, running change again on
// fresh data when another replica wrote in between. An error from change
// (the page was acked already) is returned as is, and saves nothing.
func (s *Store) Change(ctx context.Context, id string, change func(*Page) error) (*Page, error) {
	return s.doc(id).Update(ctx, func(p **Page) error { return change(*p) })
}

// Open lists the pages waiting for an ack.
func (s *Store) Open(ctx context.Context) ([]*Page, error) {
	list, err := s.ConfigMaps.List(ctx, labelPage+"=open")
	if err != nil {
		return nil, fmt.Errorf("listing pages: %w", err)
	}
	var out []*Page
	for _, cm := range list {
		if p, err := decode(&cm); err == nil {
			out = append(out, p)
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
	list, err := s.ConfigMaps.List(ctx, labelPage+"=acked")
	if err != nil {
		return 0, fmt.Errorf("listing closed pages: %w", err)
	}
	deleted := 0
	var errs []error
	for _, cm := range list {
		// A page that cannot be decoded is dated by its object instead.
		closed := cm.CreationTimestamp.Time
		var p Page
		if json.Unmarshal([]byte(cm.Data[pageKey]), &p) == nil && !p.AckedAt.IsZero() {
			closed = p.AckedAt
		}
		if now.Sub(closed) < retention {
			continue
		}
		err := s.ConfigMaps.Delete(ctx, cm.Name, &metav1.Preconditions{UID: &cm.UID, ResourceVersion: &cm.ResourceVersion})
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
