package state

import corev1client "k8s.io/client-go/kubernetes/typed/core/v1"

// Kube is what this package's records use of Kubernetes: ConfigMaps. It is
// narrower than client-go's full clientset, whose every API group's client
// tekbot would otherwise link; tekton.Kube and the full clientset (tests)
// satisfy it.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
}
