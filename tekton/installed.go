package tekton

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ErrNotInstalled means the component's info ConfigMap does not exist on the
// cluster: the component is not installed there (or not where we looked).
var ErrNotInstalled = errors.New("component not installed")

// InfoConfigMap names the ConfigMap in which a Tekton component records its
// installed version: pipelines-info, triggers-info, dashboard-info,
// chains-info. Component is the project name tekbot promotes ("pipeline",
// "triggers", …); Tekton Pipelines spells its ConfigMap in the plural.
func InfoConfigMap(component string) string {
	if component == "pipeline" {
		component = "pipelines"
	}
	return component + "-info"
}

// InstalledVersion reads what the cluster reports it runs: key "version" of
// the component's info ConfigMap in namespace. A missing ConfigMap (or key)
// is ErrNotInstalled, wrapped; other errors are the apiserver's.
func (c *Cluster) InstalledVersion(ctx context.Context, namespace, component string) (string, error) {
	name := InfoConfigMap(component)
	cm, err := c.Kube.CoreV1().ConfigMaps(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Errorf("%s/%s/%s: %w", c.Name, namespace, name, ErrNotInstalled)
	case err != nil:
		return "", fmt.Errorf("reading %s/%s/%s: %w", c.Name, namespace, name, err)
	}
	v := cm.Data["version"]
	if v == "" {
		return "", fmt.Errorf("%s/%s/%s has no version: %w", c.Name, namespace, name, ErrNotInstalled)
	}
	return v, nil
}
