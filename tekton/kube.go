package tekton

import (
	"fmt"

	"k8s.io/client-go/discovery"
	coordinationv1client "k8s.io/client-go/kubernetes/typed/coordination/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Kube is what tekbot uses of Kubernetes' own API: ConfigMaps, Namespaces
// and Events (core/v1), the leader's Lease (coordination.k8s.io/v1) and the
// apiserver's /readyz (discovery's REST client). It is not client-go's
// kubernetes.Interface because that clientset links the typed clients of
// every API group, megabytes of binary and of idle memory for nothing
// tekbot calls. The full clientset satisfies Kube, so tests may pass one.
type Kube interface {
	CoreV1() corev1client.CoreV1Interface
	CoordinationV1() coordinationv1client.CoordinationV1Interface
	Discovery() discovery.DiscoveryInterface
}

// kubeClients are client-go's typed clients behind Kube.
type kubeClients struct {
	core         *corev1client.CoreV1Client
	coordination *coordinationv1client.CoordinationV1Client
	discovery    *discovery.DiscoveryClient
}

// newKube makes the clients of Kube for one cluster as client-go's
// kubernetes.NewForConfig makes its clientset's: one HTTP client and, unless
// rc has one, one rate limiter of rc.QPS and rc.Burst, shared by all of them.
func newKube(rc *rest.Config) (Kube, error) {
	cfg := *rc
	if cfg.UserAgent == "" {
		cfg.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	httpClient, err := rest.HTTPClientFor(&cfg)
	if err != nil {
		return nil, err
	}
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		if cfg.Burst <= 0 {
			return nil, fmt.Errorf("burst is required to be greater than 0 when RateLimiter is not set and QPS is set to greater than 0")
		}
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	var k kubeClients
	if k.core, err = corev1client.NewForConfigAndClient(&cfg, httpClient); err != nil {
		return nil, err
	}
	if k.coordination, err = coordinationv1client.NewForConfigAndClient(&cfg, httpClient); err != nil {
		return nil, err
	}
	if k.discovery, err = discovery.NewDiscoveryClientForConfigAndClient(&cfg, httpClient); err != nil {
		return nil, err
	}
	return k, nil
}

func (k kubeClients) CoreV1() corev1client.CoreV1Interface { return k.core }

func (k kubeClients) CoordinationV1() coordinationv1client.CoordinationV1Interface {
	return k.coordination
}

func (k kubeClients) Discovery() discovery.DiscoveryInterface { return k.discovery }
