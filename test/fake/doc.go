// Package fake holds the in-memory stand-ins for what the middle layer
// (handlers, promotion, the captain) reaches through its ports, so their
// tests run in the short tier without an apiserver. Each fake keeps to
// Kubernetes' semantics where a port exposes them (resourceVersion,
// AlreadyExists, Conflict, label selectors, watch order), and a contract
// suite runs the same tests against the fake and the real adapter on a
// real apiserver, so the two cannot drift apart.
package fake
