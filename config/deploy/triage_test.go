package deploy

import (
	"bytes"
	"context"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"tekbot/config"
	"tekbot/tekton"
)

// TestTriageRBAC applies rbac-triage.yaml, edited as the README says, in
// two namespaces of their own beside the installed base: one bound in full,
// one without tekbot-triage-secrets (shapes only). It asks the authorizer
// what tekbot may then do, and reads a Secret as tekbot to confirm it.
func TestTriageRBAC(t *testing.T) {
	t.Parallel()
	c, _ := install(t)
	ctx := context.Background()
	const full, shapes = "triage-full", "triage-shapes"
	raw, err := os.ReadFile("rbac-triage.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var docs [][]byte
	for _, ns := range []string{full, shapes} {
		if err := createNamespace(ctx, c, ns); err != nil {
			t.Fatal(err)
		}
		for _, doc := range bytes.Split(raw, []byte("\n---\n")) {
			var obj metav1.PartialObjectMetadata
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				t.Fatal(err)
			}
			if obj.Kind == "RoleBinding" {
				if ns == shapes && obj.Name == "tekbot-triage-secrets" {
					continue
				}
				doc = bytes.ReplaceAll(doc, []byte("namespace: tekton-ci"), []byte("namespace: "+ns))
			}
			docs = append(docs, doc)
		}
	}
	if _, err := apply(ctx, c.REST, docs, false); err != nil {
		t.Fatal(err)
	}
	if err := waitAllowed(ctx, c.Kube, access{verb: "get", resource: "secrets", namespace: full},
		access{verb: "get", resource: "pods", subresource: "log", namespace: shapes}); err != nil {
		t.Fatal(err)
	}
	core := func(verb, resource, ns string) access { return access{verb: verb, resource: resource, namespace: ns} }
	for _, tc := range []struct {
		access
		allowed bool
	}{
		// What the excerpt reads, by name.
		{access{verb: "get", group: "tekton.dev", resource: "taskruns", namespace: full}, true},
		{core("get", "pods", full), true},
		{access{verb: "get", resource: "pods", subresource: "log", namespace: full}, true},
		{core("get", "secrets", full), true},
		// Nothing found by listing, nothing written.
		{access{verb: "list", group: "tekton.dev", resource: "taskruns", namespace: full}, false},
		{core("list", "pods", full), false},
		{core("watch", "pods", full), false},
		{core("list", "secrets", full), false},
		{core("watch", "secrets", full), false},
		{core("create", "pods", full), false},
		{access{verb: "create", resource: "pods", subresource: "exec", namespace: full}, false},
		{access{verb: "get", resource: "pods", subresource: "exec", namespace: full}, false},
		{core("update", "secrets", full), false},
		// Shapes only: logs, no Secret.
		{access{verb: "get", resource: "pods", subresource: "log", namespace: shapes}, true},
		{core("get", "secrets", shapes), false},
		// Nowhere else: not the base's run namespace (until bound
		// there), not tekbot's own, not its state's.
		{core("get", "secrets", nsCI), false},
		{core("get", "secrets", nsBot), false},
		{core("get", "secrets", nsState), false},
		{access{verb: "get", resource: "pods", subresource: "log", namespace: nsBot}, false},
		{core("get", "secrets", ""), false},
	} {
		t.Run(tc.String(), func(t *testing.T) {
			t.Parallel()
			got, err := allowed(ctx, c.Kube, tc.access)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.allowed {
				t.Errorf("%s: allowed = %v, want %v", tc.access, got, tc.allowed)
			}
		})
	}

	t.Run("as tekbot", func(t *testing.T) {
		t.Parallel()
		for _, ns := range []string{full, shapes} {
			if _, err := c.Kube.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Name: "creds"}, Data: map[string][]byte{"token": []byte("v")},
			}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
				t.Fatal(err)
			}
		}
		cl, err := tekton.NewCluster(config.Cluster{Name: "nightly", Namespace: full}, nil, serviceAccountConfig(ctx, t, c))
		if err != nil {
			t.Fatal(err)
		}
		if data, err := tekton.SecretsOf(cl).SecretData(ctx, full, "creds"); err != nil || string(data["token"]) != "v" {
			t.Errorf("reading a Secret in %s as tekbot: %q, %v", full, data, err)
		}
		if _, err := tekton.SecretsOf(cl).SecretData(ctx, shapes, "creds"); !apierrors.IsForbidden(err) {
			t.Errorf("reading a Secret in %s as tekbot: %v, want Forbidden", shapes, err)
		}
		if _, err := tekton.LogsOf(cl).TaskRun(ctx, full, "none"); !apierrors.IsNotFound(err) {
			t.Errorf("reading a TaskRun in %s as tekbot: %v, want NotFound (allowed, absent)", full, err)
		}
	})
}
