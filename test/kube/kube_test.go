package kube

import (
	"context"
	"os"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/pkg/apis"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

func TestPipelineRunLifecycle(t *testing.T) {
	t.Parallel()
	c := Shared(t, "nightly")
	ns := c.Namespace(t)
	ctx := context.Background()
	runs := c.Tekton.TektonV1().PipelineRuns(ns)

	for i, sha := range []string{"abc1234", "abc1234", "def5678"} {
		pr := &pipelinev1.PipelineRun{
			ObjectMeta: metav1.ObjectMeta{
				GenerateName: "pipeline-unit-tests-",
				Labels:       map[string]string{"pipelinesascode.tekton.dev/sha": sha, "index": string(rune('a' + i))},
			},
			Spec: pipelinev1.PipelineRunSpec{
				PipelineRef: &pipelinev1.PipelineRef{Name: "unit-tests"},
				Params:      pipelinev1.Params{{Name: "revision", Value: *pipelinev1.NewStructuredValues(sha)}},
			},
		}
		if _, err := runs.Create(ctx, pr, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create: %v", err)
		}
	}
	list, err := runs.List(ctx, metav1.ListOptions{LabelSelector: "pipelinesascode.tekton.dev/sha=abc1234"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 {
		t.Fatalf("label selector found %d runs, want 2", len(list.Items))
	}
	name := list.Items[0].Name
	if _, err := SetState(ctx, c, ns, name, Failed); err != nil {
		t.Fatalf("SetState: %v", err)
	}
	got, err := runs.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cond := got.Status.GetCondition(apis.ConditionSucceeded)
	if cond == nil || cond.Status != corev1.ConditionFalse || cond.Reason != string(Failed) || got.Status.CompletionTime == nil {
		t.Fatalf("status not written: %+v", got.Status)
	}
	if got.Spec.Params[0].Value.StringVal != "abc1234" {
		t.Errorf("spec round trip lost params: %+v", got.Spec.Params)
	}
	// The same name twice is refused by the apiserver: the basis of
	// tekbot's exactly-once reruns.
	dup := got.DeepCopy()
	dup.ResourceVersion = ""
	if _, err := runs.Create(ctx, dup, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
		t.Fatalf("second create with the same name: %v, want AlreadyExists", err)
	}
}

func TestTwoClustersAreSeparate(t *testing.T) {
	t.Parallel()
	nightly, prod := Shared(t, "nightly"), Shared(t, "production")
	if nightly.REST.Host == prod.REST.Host {
		t.Fatal("both clusters share an endpoint")
	}
	ctx := context.Background()
	ns := prod.Namespace(t)
	if _, err := nightly.Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("namespace %s from production visible on nightly: %v", ns, err)
	}
	// The written kubeconfig works on its own.
	cfg, err := clientcmd.BuildConfigFromFlags("", prod.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != prod.REST.Host {
		t.Errorf("kubeconfig points at %s, want %s", cfg.Host, prod.REST.Host)
	}
}
