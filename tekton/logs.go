package tekton

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// What Logs.Log reads of one container: its last lines, and never more
// than a few MiB however long they are, so one runaway step cannot make
// tekbot hold its whole log.
const (
	LogTailLines = 2000
	LogMaxBytes  = 4 << 20
)

// Logs reads what failure triage needs of a cluster through its
// apiserver: the run, its TaskRuns and pods, and containers' logs
// (pods/log, which the apiserver proxies from the node's kubelet).
type Logs struct{ c *Cluster }

// LogsOf reads c.
func LogsOf(c *Cluster) Logs { return Logs{c: c} }

// PipelineRun reads one run.
func (l Logs) PipelineRun(ctx context.Context, namespace, name string) (*pipelinev1.PipelineRun, error) {
	return l.c.Get(ctx, namespace, name)
}

// TaskRun reads one TaskRun.
func (l Logs) TaskRun(ctx context.Context, namespace, name string) (*pipelinev1.TaskRun, error) {
	return l.c.Tekton.TektonV1().TaskRuns(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Pod reads one pod.
func (l Logs) Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error) {
	return l.c.Kube.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
}

// Log reads the last LogTailLines lines of a container's log, and of
// those the last LogMaxBytes; cut is true when a bound may have left lines
// out. The byte bound is not the API's limitBytes: the kubelet applies it
// from the start of the tail, which would drop the log's end (what
// failed) and cut its last line mid-way, a Secret in it printed only in
// part, which redaction cannot recognise. Here the end is kept and a line
// cut at the start is dropped whole.
func (l Logs) Log(ctx context.Context, namespace, pod, container string) (string, bool, error) {
	rc, err := l.c.Kube.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: container,
		TailLines: ptr.To[int64](LogTailLines),
	}).Stream(ctx)
	if err != nil {
		return "", false, fmt.Errorf("log of %s/%s container %s: %w", namespace, pod, container, err)
	}
	defer rc.Close()
	b, dropped, err := lastBytes(rc, LogMaxBytes)
	if err != nil {
		return "", false, fmt.Errorf("log of %s/%s container %s: %w", namespace, pod, container, err)
	}
	if dropped {
		_, b, _ = bytes.Cut(b, []byte("\n"))
	}
	cut := dropped || bytes.Count(b, []byte("\n")) >= LogTailLines
	return string(b), cut, nil
}

// lastBytes reads r to its end and returns its last n bytes, holding at
// most 2n at once; dropped is true when bytes before them were left out.
func lastBytes(r io.Reader, n int) (b []byte, dropped bool, err error) {
	buf := make([]byte, 0, 2*n)
	for {
		if len(buf) == cap(buf) {
			buf = buf[:copy(buf, buf[len(buf)-n:])]
			dropped = true
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, false, err
		}
	}
	if len(buf) > n {
		buf, dropped = buf[len(buf)-n:], true
	}
	return buf, dropped, nil
}

// Secrets reads Secrets' data, for redaction: the only use tekbot makes of
// the right to get a Secret (config/deploy/rbac-triage.yaml).
type Secrets struct{ c *Cluster }

// SecretsOf reads c's Secrets.
func SecretsOf(c *Cluster) Secrets { return Secrets{c: c} }

// SecretData is a Secret's data; nil and no error when there is none.
func (s Secrets) SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error) {
	sec, err := s.c.Kube.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", namespace, name, err)
	}
	return sec.Data, nil
}

// ReachOfPod is what a pod can read: the Secrets of its volumes, of its
// containers' env and envFrom (init containers included: Tekton's
// credential and entrypoint setup run there) and its image pull Secrets.
// A TaskRun's pod holds everything its Task and the run's templates
// resolved to, which the PipelineRun's object alone does not show.
func ReachOfPod(pod *corev1.Pod) Reach {
	var r Reach
	for _, v := range pod.Spec.Volumes {
		r.volume(v.VolumeSource)
	}
	for _, c := range slices.Concat(pod.Spec.InitContainers, pod.Spec.Containers) {
		r.env(c.Env, c.EnvFrom)
	}
	for _, ref := range pod.Spec.ImagePullSecrets {
		r.Secrets = append(r.Secrets, ref.Name)
	}
	return r
}

// Add adds what o reaches to r.
func (r *Reach) Add(o Reach) {
	r.Secrets = append(r.Secrets, o.Secrets...)
	r.CSI = r.CSI || o.CSI
}

// Names are r's Secrets, each once, sorted.
func (r Reach) Names() []string {
	names := slices.Clone(r.Secrets)
	slices.Sort(names)
	return slices.Compact(names)
}
