package localcluster

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// tektonCRDs are config/300-crds of the tektoncd/pipeline module tekbot is
// built against, copied so that a built binary needs no module cache; a
// test fails when the copy and the module differ (after a bump, run
// go generate ./localcluster).
//
//go:generate sh -c "rm -f crds/*.yaml && cp \"$(go list -m -f '{{.Dir}}' github.com/tektoncd/pipeline)\"/config/300-crds/*.yaml crds/ && chmod 644 crds/*.yaml"
//go:embed crds/*.yaml
var tektonCRDs embed.FS

func (c *Cluster) applyTektonCRDs(ctx context.Context) error {
	files, err := fs.Glob(tektonCRDs, "crds/*.yaml")
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs embedded: %v", err)
	}
	dyn, err := dynamic.NewForConfig(c.REST)
	if err != nil {
		return err
	}
	crds := dyn.Resource(crdResource)
	var names []string
	for _, f := range files {
		data, err := tektonCRDs.ReadFile(f)
		if err != nil {
			return err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var obj unstructured.Unstructured
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("%s: %w", f, err)
			}
			if obj.GetKind() != "CustomResourceDefinition" {
				continue
			}
			if _, err := crds.Create(ctx, &obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("creating CRD %s: %w", obj.GetName(), err)
			}
			names = append(names, obj.GetName())
		}
	}
	// Established means the apiserver serves the new resources.
	deadline := time.Now().Add(60 * time.Second)
	for _, name := range names {
		for {
			obj, err := crds.Get(ctx, name, metav1.GetOptions{})
			if err == nil && established(obj) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established: %v", name, err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return c.waitForDiscovery(ctx, deadline)
}

func established(obj *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// waitForDiscovery waits until PipelineRuns can be listed: a CRD can be
// Established a moment before its REST handler answers.
func (c *Cluster) waitForDiscovery(ctx context.Context, deadline time.Time) error {
	for {
		_, err := c.Tekton.TektonV1().PipelineRuns("default").List(ctx, metav1.ListOptions{Limit: 1})
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pipelineruns not served: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
