package audit

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Events is the port to the Kubernetes Events audit writes and reads.
// Errors are the apiserver's (apierrors' AlreadyExists …), whatever
// implements it: EventsIn on a real apiserver, test/fake in the short tier.
type Events interface {
	// Create writes ev in its namespace; a name taken is AlreadyExists.
	Create(ctx context.Context, ev *corev1.Event) error
	// List returns a namespace's Events matching both selectors.
	List(ctx context.Context, namespace, labelSelector, fieldSelector string) ([]corev1.Event, error)
}

// Kube is what this package uses of Kubernetes: Events and ConfigMaps, in
// core/v1. It is narrower than client-go's full clientset, whose every API
// group's client tekbot would otherwise link; tekton.Kube and the full
// clientset (tests) satisfy it.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
}

// EventsIn is the Events port on a real apiserver.
func EventsIn(kube Kube) Events { return kubeEvents{kube} }

type kubeEvents struct{ kube Kube }

func (k kubeEvents) Create(ctx context.Context, ev *corev1.Event) error {
	_, err := k.kube.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	return err
}

func (k kubeEvents) List(ctx context.Context, namespace, labelSelector, fieldSelector string) ([]corev1.Event, error) {
	list, err := k.kube.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{LabelSelector: labelSelector, FieldSelector: fieldSelector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}
