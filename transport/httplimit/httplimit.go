// Package httplimit bounds what unauthenticated HTTP clients can make
// tekbot hold. A webhook's body must be read whole before its signature can
// be checked, so anyone can make tekbot buffer bodies; the Limiter caps how
// many are read at once and turns the rest away at once, rather than
// queueing them with their connections and buffers.
//
// A cap alone lets slow clients starve honest ones: 32 connections sending
// a byte a second hold every slot, and GitHub, which does not redeliver by
// itself, loses its delivery to a 503. So a body must also keep up a
// minimum rate, and when every slot is taken a new request takes the place
// of the slowest body being read. GitHub and Slack send a body in one go,
// read in milliseconds; only a trickling client is ever the slowest for
// long. (Reserving slots for GitHub's published address ranges would not
// survive an ingress, behind which every request comes from the ingress.)
package httplimit

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter admits at most a fixed number of requests at once into the
// handlers it wraps, all of them together.
type Limiter struct {
	slots chan struct{}
	// Rejected, if set, is told of each request turned away, or put out
	// of its slot for a faster one.
	Rejected func(r *http.Request)
	// MinRate, in bytes a second, is the slowest a body may arrive once
	// Grace has passed: a body read that falls behind Grace + read/MinRate
	// fails and its connection is closed. Zero checks no rate.
	MinRate int64
	Grace   time.Duration
	// ReadTimeout bounds reading a body however fast it comes: the rate
	// check moves the connection's read deadline, which replaces the
	// server's ReadTimeout. Zero bounds nothing more.
	ReadTimeout time.Duration
	// EvictAfter is how long a body is read before it can lose its slot
	// to a new request: long enough for any body sent at once.
	EvictAfter time.Duration
	// Now is the clock of rates and ages; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	reading map[*reading]struct{}
}

// DefaultEvictAfter: webhooks and Slack requests are read in milliseconds.
const DefaultEvictAfter = 200 * time.Millisecond

// evictWait bounds how long a request waits for the slot of the body it
// put out, which is freed as soon as that body's read fails.
const evictWait = time.Second

// New returns a Limiter admitting n requests at once (at least one).
func New(n int) *Limiter {
	return &Limiter{slots: make(chan struct{}, max(n, 1)), EvictAfter: DefaultEvictAfter, reading: map[*reading]struct{}{}}
}

// reading is a request admitted whose body is being read.
type reading struct {
	req     *http.Request
	rc      *http.ResponseController
	start   time.Time
	read    atomic.Int64
	done    atomic.Bool // the body was read to its end, or failed
	evicted atomic.Bool
}

// errEvicted fails the read of a body put out of its slot.
var errEvicted = errors.New("httplimit: body too slow: its slot went to another request")

// Wrap admits a request into next while fewer than the cap are in, or in
// place of the slowest body being read, and answers any other 503 without
// reading its body. The answer closes the connection, so a client that
// stalls beyond the cap holds nothing.
func (l *Limiter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !l.admit() {
			if l.Rejected != nil {
				l.Rejected(r)
			}
			w.Header().Set("Connection", "close")
			w.Header().Set("Retry-After", "1")
			http.Error(w, "busy: try again shortly", http.StatusServiceUnavailable)
			return
		}
		defer func() { <-l.slots }()
		e := &reading{req: r, rc: http.NewResponseController(w), start: l.now()}
		l.mu.Lock()
		l.reading[e] = struct{}{}
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			delete(l.reading, e)
			l.mu.Unlock()
		}()
		r.Body = &body{ReadCloser: r.Body, l: l, e: e}
		next.ServeHTTP(w, r)
	})
}

// admit takes a free slot, or the slot of the slowest body being read.
func (l *Limiter) admit() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
	}
	if !l.evictSlowest() {
		return false
	}
	t := time.NewTimer(evictWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

// evictSlowest fails the read of the body arriving slowest among those
// read for at least EvictAfter, and reports whether there was one.
func (l *Limiter) evictSlowest() bool {
	now := l.now()
	l.mu.Lock()
	var slowest *reading
	var slowestRate float64
	for e := range l.reading {
		age := now.Sub(e.start)
		if e.done.Load() || e.evicted.Load() || age < l.EvictAfter || age <= 0 {
			continue
		}
		if rate := float64(e.read.Load()) / age.Seconds(); slowest == nil || rate < slowestRate {
			slowest, slowestRate = e, rate
		}
	}
	if slowest != nil {
		slowest.evicted.Store(true)
	}
	l.mu.Unlock()
	if slowest == nil {
		return false
	}
	// A read deadline in the past ends a read under way at once; a read
	// about to start sees evicted (body.Read sets its deadline first).
	_ = slowest.rc.SetReadDeadline(time.Now())
	if l.Rejected != nil {
		l.Rejected(slowest.req)
	}
	return true
}

func (l *Limiter) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// InUse is how many requests are inside the wrapped handlers now.
func (l *Limiter) InUse() int { return len(l.slots) }

// body counts what is read of a request's body and holds it to the
// minimum rate.
type body struct {
	io.ReadCloser
	l *Limiter
	e *reading
}

func (b *body) Read(p []byte) (int, error) {
	if b.l.MinRate > 0 {
		_ = b.e.rc.SetReadDeadline(b.deadline())
	}
	if b.e.evicted.Load() {
		return 0, errEvicted
	}
	n, err := b.ReadCloser.Read(p)
	b.e.read.Add(int64(n))
	if err != nil && !b.e.done.Swap(true) && b.l.MinRate > 0 && errors.Is(err, io.EOF) {
		// Read whole in time: nothing more is read, so the deadline the
		// rate moved is lifted rather than left to cut the connection
		// while the handler works.
		_ = b.e.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// deadline is when the next bytes must have come: Grace, plus the time
// MinRate allows for what was read, from the start, and never beyond
// ReadTimeout.
func (b *body) deadline() time.Time {
	allowed := b.l.Grace + time.Duration(float64(b.e.read.Load())/float64(b.l.MinRate)*float64(time.Second))
	if b.l.ReadTimeout > 0 {
		allowed = min(allowed, b.l.ReadTimeout)
	}
	return time.Now().Add(allowed - b.l.now().Sub(b.e.start))
}
