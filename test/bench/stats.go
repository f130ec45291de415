package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
)

// percentile returns the p-th percentile (0 < p ≤ 100) of ds, by nearest
// rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// percentileOf is percentile for numbers.
func percentileOf(xs []float64, p float64) float64 {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = time.Duration(x * float64(time.Millisecond))
	}
	return ms(percentile(ds, p))
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// offer sends rate requests a second for d, each at its due time from its
// own goroutine, and returns how long each took from when it was due. A
// slow answer delays no later request, so queueing shows in the result
// instead of hiding in the sender (no coordinated omission).
func offer(ctx context.Context, rate int, d time.Duration, send func(ctx context.Context, i int) error) ([]time.Duration, error) {
	n := int(d.Seconds() * float64(rate))
	interval := time.Second / time.Duration(rate)
	took := make([]time.Duration, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		t := time.NewTimer(time.Until(due))
		select {
		case <-ctx.Done():
			t.Stop()
			wg.Wait()
			return nil, ctx.Err()
		case <-t.C:
		}
		wg.Go(func() {
			errs[i] = send(ctx, i)
			took[i] = time.Since(due)
		})
	}
	wg.Wait()
	return took, errors.Join(errs...)
}

// loadClient is the HTTP client of offered load: enough idle connections
// kept that a burst does not pay for new ones.
var loadClient = &http.Client{
	Transport: &http.Transport{MaxIdleConns: 512, MaxIdleConnsPerHost: 512, IdleConnTimeout: time.Minute},
	Timeout:   time.Minute,
}

// expect sends req and checks its status.
func expect(req *http.Request, status int) error {
	resp, err := loadClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	// Read to the end, so the connection is kept for the next request.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != status {
		return fmt.Errorf("%s %s: %s, want %d", req.Method, req.URL.Path, resp.Status, status)
	}
	return nil
}
