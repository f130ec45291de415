package kubelet_test

import (
	"context"
	"os"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"tekbot/test/kube"
	"tekbot/test/kubelet"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// TestLogsThroughTheAPIServer reads a pod's log as kubectl logs does: the
// real apiserver finds the node, dials the stand-in and relays its answer.
func TestLogsThroughTheAPIServer(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "kubelet")
	ns := c.Namespace(t)
	ctx := context.Background()
	k := kubelet.ForTest(t, c.Kube.CoreV1(), "node-"+ns)
	pod, err := c.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{NodeName: k.Node, Containers: []corev1.Container{{Name: "step-a", Image: "busybox"}, {Name: "step-b", Image: "busybox"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k.SetLog(ns, pod.Name, "step-a", "one\ntwo\nthree\n")
	for _, tc := range []struct {
		name      string
		container string
		opts      corev1.PodLogOptions
		want      string
		notFound  bool
	}{
		{name: "all", container: "step-a", want: "one\ntwo\nthree\n"},
		{name: "tail", container: "step-a", opts: corev1.PodLogOptions{TailLines: ptr.To[int64](2)}, want: "two\nthree\n"},
		{name: "limit", container: "step-a", opts: corev1.PodLogOptions{LimitBytes: ptr.To[int64](5)}, want: "one\nt"},
		{name: "a container with no log", container: "step-b", notFound: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			opts.Container = tc.container
			got, err := c.Kube.CoreV1().Pods(ns).GetLogs(pod.Name, &opts).DoRaw(ctx)
			if tc.notFound {
				if !apierrors.IsNotFound(err) {
					t.Errorf("log of %s: %q, %v; want NotFound", tc.container, got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("log of %s = %q, %v; want %q", tc.container, got, err, tc.want)
			}
		})
	}
}
