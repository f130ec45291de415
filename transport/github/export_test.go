package github

import "time"

// ExpireCache makes every cached answer stale, as if its time had passed:
// the next read of each asks GitHub again, with its ETag.
func (a *API) ExpireCache() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, c := range a.cache {
		c.expires = time.Time{}
		a.cache[k] = c
	}
}

// Forgot reports whether a role event named login (or everyone) within
// the cache's life.
func (a *API) Forgot(login string) bool {
	return a.forgotten(login, time.Now().Add(-a.cacheTTL))
}
