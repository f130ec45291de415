package state

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Kube is what this package's records use of Kubernetes: ConfigMaps. It is
// narrower than client-go's full clientset, whose every API group's client
// tekbot would otherwise link; tekton.Kube and the full clientset (tests)
// satisfy it.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
}

// ConfigMapsIn is the ConfigMaps port on a real apiserver: the ConfigMaps
// of namespace. It is the only part of the records that knows client-go.
func ConfigMapsIn(kube Kube, namespace string) ConfigMaps {
	return kubeConfigMaps{kube.CoreV1().ConfigMaps(namespace)}
}

type kubeConfigMaps struct {
	cms corev1client.ConfigMapInterface
}

func (k kubeConfigMaps) Get(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	return k.cms.Get(ctx, name, metav1.GetOptions{})
}

func (k kubeConfigMaps) List(ctx context.Context, labelSelector string) ([]corev1.ConfigMap, error) {
	list, err := k.cms.List(ctx, metav1.ListOptions{LabelSelector: labelSelector})
	if err != nil {
		return nil, err
	}
	return list.Items, nil
}

func (k kubeConfigMaps) Create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	return k.cms.Create(ctx, cm, metav1.CreateOptions{})
}

func (k kubeConfigMaps) Update(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	return k.cms.Update(ctx, cm, metav1.UpdateOptions{})
}

func (k kubeConfigMaps) Delete(ctx context.Context, name string, pre *metav1.Preconditions) error {
	return k.cms.Delete(ctx, name, metav1.DeleteOptions{Preconditions: pre})
}
