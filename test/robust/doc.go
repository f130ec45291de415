// Package robust is tekbot's robustness suite: bad input through the real
// HTTP handlers, a storm of duplicate deliveries over two replicas, and
// faults (the apiserver going away, GitHub answering 5xx, SIGTERM during a
// burst, GitHub's and Slack's rate limits met mid-burst), all against a
// real apiserver. Each test ends with one line
//
//	robust: <name>: sent=N done=N refused=N lost=0
//
// and fails unless lost is 0. The tests are in the _test files; this file
// only names the package.
package robust
