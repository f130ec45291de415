package bot

import "sync"

// Seen remembers the most recent request IDs (GitHub deliveries, Slack
// event IDs) so that a retry reaching the same replica is answered at once.
// It is only a fast path: across replicas and restarts the apiserver claim
// decides.
type Seen struct {
	mu   sync.Mutex
	ids  map[string]struct{}
	ring []string
	next int
}

// NewSeen remembers up to size IDs.
func NewSeen(size int) *Seen {
	// The map grows with what is seen: presized, it would hold half a
	// megabyte from the start of an idle bot.
	return &Seen{ids: map[string]struct{}{}, ring: make([]string, size)}
}

// Add records id and reports whether it is new.
func (s *Seen) Add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.ids[id]; dup {
		return false
	}
	if old := s.ring[s.next]; old != "" {
		delete(s.ids, old)
	}
	s.ring[s.next] = id
	s.next = (s.next + 1) % len(s.ring)
	s.ids[id] = struct{}{}
	return true
}

// Forget drops id, so a retry of work that failed is taken again.
func (s *Seen) Forget(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}
