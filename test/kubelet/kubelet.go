// Package kubelet is the tests' adapter over localcluster's stand-in
// kubelet: pods bound to its Node have logs that the real apiserver serves
// through pods/log.
package kubelet

import (
	"testing"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

	"tekbot/localcluster"
)

// Kubelet is a stand-in kubelet and its Node.
type Kubelet = localcluster.Kubelet

// ForTest starts a stand-in kubelet with Node node for one test, stopped
// when it ends.
func ForTest(tb testing.TB, core corev1client.CoreV1Interface, node string) *Kubelet {
	tb.Helper()
	k, err := localcluster.StartKubelet(tb.Context(), core, node)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(k.Close)
	return k
}
