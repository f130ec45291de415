// Package registrytest adapts localregistry to tests: a registry that
// closes with the test, and Chains keys that fail the test rather than
// return an error.
package registrytest

import (
	"testing"

	"tekbot/localregistry"
)

// Start serves a registry on loopback until the test ends.
func Start(tb testing.TB) *localregistry.Registry {
	tb.Helper()
	r, err := localregistry.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// Key generates a Chains signing key.
func Key(tb testing.TB) *localregistry.Key {
	tb.Helper()
	k, err := localregistry.NewKey()
	if err != nil {
		tb.Fatal(err)
	}
	return k
}
