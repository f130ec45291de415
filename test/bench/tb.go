package main

import (
	"fmt"
	"slices"
	"sync"
	"testing"
)

// benchTB lets the bench use the test kits (githubtest), which report
// through testing.TB. A fatal report ends the figure that made it (see
// measure); errors are kept for the end of the run; cleanups run when the
// bench ends.
type benchTB struct {
	// testing.TB is nil: it only gives benchTB the interface's unexported
	// method. The kits call the methods below and no others.
	testing.TB

	mu       sync.Mutex
	cleanups []func()
	errs     []string
}

// fatal is what Fatalf panics with, for measure to recover.
type fatal string

func (b *benchTB) Helper()      {}
func (b *benchTB) Name() string { return "bench" }

func (b *benchTB) Cleanup(f func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cleanups = append(b.cleanups, f)
}

func (b *benchTB) Errorf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, fmt.Sprintf(format, args...))
}

func (b *benchTB) Fatalf(format string, args ...any) {
	panic(fatal(fmt.Sprintf(format, args...)))
}

// close runs the cleanups, newest first, and returns what was reported.
func (b *benchTB) close() []string {
	b.mu.Lock()
	cleanups := slices.Clone(b.cleanups)
	b.cleanups = nil
	b.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.errs
}
