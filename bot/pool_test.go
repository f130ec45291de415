package bot_test

import (
	"context"
	"testing"
	"time"

	"tekbot/bot"
)

func TestPoolIsQuietWhenNoJobIsQueuedOrRunning(t *testing.T) {
	t.Parallel()
	p := bot.NewPool(1, 2)
	defer p.Shutdown(context.Background())
	quiet := func() bool {
		select {
		case <-p.Quiet():
			return true
		default:
			return false
		}
	}
	if !quiet() {
		t.Fatal("a new pool is not quiet")
	}
	release := make(chan struct{})
	for range 2 { // one running, one queued behind it
		if err := p.Submit(func(context.Context) { <-release }); err != nil {
			t.Fatal(err)
		}
	}
	busy := p.Quiet()
	if quiet() {
		t.Fatal("quiet while jobs are queued")
	}
	release <- struct{}{} // the first ends; the second runs or waits to
	if quiet() {
		t.Fatal("quiet while a job is still queued or running")
	}
	close(release)
	select {
	case <-busy:
	case <-time.After(10 * time.Second):
		t.Fatal("not quiet once every job ended")
	}
	if !quiet() {
		t.Fatal("Quiet's new channel is not closed once every job ended")
	}
}
