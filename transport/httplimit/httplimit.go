// Package httplimit bounds what unauthenticated HTTP clients can make
// tekbot hold. A webhook's body must be read whole before its signature can
// be checked, so anyone can make tekbot buffer bodies; the Limiter caps how
// many are read at once and turns the rest away at once, rather than
// queueing them with their connections and buffers.
package httplimit

import "net/http"

// Limiter admits at most a fixed number of requests at once into the
// handlers it wraps, all of them together.
type Limiter struct {
	slots chan struct{}
	// Rejected, if set, is told of each request turned away.
	Rejected func(r *http.Request)
}

// New returns a Limiter admitting n requests at once (at least one).
func New(n int) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(n, 1))}
}

// Wrap admits a request into next while fewer than the cap are in, and
// answers any other 503 without reading its body. The answer closes the
// connection, so a client that stalls beyond the cap holds nothing.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case l.slots <- struct{}{}:
			defer func() { <-l.slots }()
			next.ServeHTTP(w, r)
		default:
			if l.Rejected != nil {
				l.Rejected(r)
			}
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy: try again shortly", http.StatusServiceUnavailable)
		}
	})
}

// InUse is how many requests are inside the wrapped handlers now.
func (l *Limiter) InUse() int { return len(l.slots) }
