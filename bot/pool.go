package bot

import (
	"context"
	"errors"
	"sync"
)

// Pool runs acknowledged work in the background with a bounded number of
// workers and a bounded queue, so a burst can't exhaust memory, and drains
// on shutdown so acknowledged work is finished rather than dropped.
type Pool struct {
	mu     sync.Mutex
	closed bool
	jobs   chan func(context.Context)
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc
}

// ErrPoolFull means the queue is full or the pool is shutting down: the
// transport answers 503 so the sender knows nothing was taken.
var ErrPoolFull = errors.New("busy: the work queue is full or shutting down")

// NewPool starts workers that take from a queue of the given size.
func NewPool(workers, queue int) *Pool {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{jobs: make(chan func(context.Context), queue), ctx: ctx, cancel: cancel}
	for range workers {
		p.wg.Go(func() {
			for job := range p.jobs {
				job(p.ctx)
			}
		})
	}
	return p
}

// Submit queues a job, or returns ErrPoolFull without blocking.
func (p *Pool) Submit(job func(context.Context)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrPoolFull
	}
	select {
	case p.jobs <- job:
		return nil
	default:
		return ErrPoolFull
	}
}

// Shutdown stops taking jobs and waits for queued and running ones. When
// ctx ends first, running jobs see their context cancelled (so they can
// report the failure) and Shutdown still waits for them to return.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.jobs)
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		p.cancel()
		return nil
	case <-ctx.Done():
		p.cancel()
		<-done
		return ctx.Err()
	}
}
