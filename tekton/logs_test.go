package tekton

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/config"
	"tekbot/test/kube"
	"tekbot/test/kubelet"
)

// TestReachOfPod: each place a pod can read a Secret from is read, init
// containers and image pull Secrets included, and Names lists each once.
func TestReachOfPod(t *testing.T) {
	t.Parallel()
	ref := func(name string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: name} }
	for _, tc := range []struct {
		name    string
		spec    corev1.PodSpec
		secrets []string
		csi     bool
	}{
		{name: "nothing", spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "step-a"}}}},
		{name: "secret volume", spec: corev1.PodSpec{Volumes: []corev1.Volume{{VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "vol"}}}}}, secrets: []string{"vol"}},
		{name: "projected volume", spec: corev1.PodSpec{Volumes: []corev1.Volume{{VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
			Sources: []corev1.VolumeProjection{{Secret: &corev1.SecretProjection{LocalObjectReference: ref("proj")}}, {ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "t"}}}}}}}},
			secrets: []string{"proj"}},
		{name: "CSI volume", spec: corev1.PodSpec{Volumes: []corev1.Volume{{VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}}}}, csi: true},
		{name: "env and envFrom of steps and init containers", spec: corev1.PodSpec{
			InitContainers: []corev1.Container{{Name: "prepare", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref("init")}}}}},
			Containers: []corev1.Container{{Name: "step-a", Env: []corev1.EnvVar{{Name: "T", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref("env"), Key: "k"}}}}},
				{Name: "step-b", Env: []corev1.EnvVar{{Name: "T", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref("env"), Key: "k2"}}}}}}},
			secrets: []string{"env", "init"}},
		{name: "image pull Secrets", spec: corev1.PodSpec{ImagePullSecrets: []corev1.LocalObjectReference{ref("registry")}}, secrets: []string{"registry"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := ReachOfPod(&corev1.Pod{Spec: tc.spec})
			if got := r.Names(); !slices.Equal(got, tc.secrets) || r.CSI != tc.csi {
				t.Errorf("ReachOfPod: %q, CSI %v; want %q, CSI %v", got, r.CSI, tc.secrets, tc.csi)
			}
		})
	}
}

// TestReachAdd: what two reaches read together.
func TestReachAdd(t *testing.T) {
	t.Parallel()
	r := Reach{Secrets: []string{"b", "a"}}
	r.Add(Reach{Secrets: []string{"a", "c"}, CSI: true})
	if got, want := r.Names(), []string{"a", "b", "c"}; !slices.Equal(got, want) || !r.CSI {
		t.Errorf("Add: %q, CSI %v; want %q, CSI true", got, r.CSI, want)
	}
}

// TestLogKeepsTheEnd reads logs through pods/log from a stand-in kubelet
// that applies tailLines and limitBytes as a kubelet does: a log over the
// byte bound keeps its end (where it failed) and loses its cut first line
// whole, so no line, and no Secret in one, is shown in part.
func TestLogKeepsTheEnd(t *testing.T) {
	t.Parallel()
	c := kube.Shared(t, "nightly")
	ns := c.Namespace(t)
	ctx := context.Background()
	k := kubelet.ForTest(t, c.Kube.CoreV1(), "node-"+ns)
	cl, err := NewCluster(config.Cluster{Name: "nightly", Namespace: ns}, nil, c.REST)
	if err != nil {
		t.Fatal(err)
	}
	// lines numbers n lines of width bytes each, the last one given.
	lines := func(n, width int, last string) string {
		var b strings.Builder
		for i := range n - 1 {
			l := fmt.Sprintf("line %d secret-", i)
			b.WriteString(l + strings.Repeat("x", max(0, width-len(l)-1)) + "\n")
		}
		return b.String() + last
	}
	const end = "--- FAIL: TestTheEnd\n"
	for _, tc := range []struct {
		name  string
		log   string
		cut   bool
		lines int // of the result
	}{
		{name: "short", log: lines(10, 80, end), lines: 10},
		{name: "more lines than the tail", log: lines(LogTailLines+500, 80, end), cut: true, lines: LogTailLines},
		{name: "more bytes than the bound", log: lines(LogTailLines, LogMaxBytes/1000, end), cut: true, lines: -1},
		{name: "no newline at the end", log: lines(10, 80, "--- FAIL: no newline"), lines: 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			name := "log-" + strings.ReplaceAll(tc.name, " ", "-")
			if _, err := c.Kube.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: corev1.PodSpec{NodeName: k.Node, Containers: []corev1.Container{{Name: "step-run", Image: "busybox"}}}},
				metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			k.SetLog(ns, name, "step-run", tc.log)
			got, cut, err := LogsOf(cl).Log(ctx, ns, name, "step-run")
			if err != nil {
				t.Fatal(err)
			}
			want := tc.log[strings.LastIndex(strings.TrimSuffix(tc.log, "\n"), "\n")+1:]
			if !strings.HasSuffix(got, want) {
				t.Errorf("Log ends %q, want the log's last line %q", got[max(0, len(got)-80):], want)
			}
			if cut != tc.cut {
				t.Errorf("cut = %v, want %v", cut, tc.cut)
			}
			if len(got) > LogMaxBytes {
				t.Errorf("Log is %d bytes, more than %d", len(got), LogMaxBytes)
			}
			if !strings.HasPrefix(got, "line ") {
				t.Errorf("Log starts %q: a line cut in part", got[:min(len(got), 80)])
			}
			n := strings.Count(got, "\n")
			if tc.lines >= 0 && n != tc.lines {
				t.Errorf("Log has %d lines, want %d", n, tc.lines)
			}
			if tc.lines < 0 && (n < 10 || n >= LogTailLines) {
				t.Errorf("Log has %d lines, want the whole lines of the last %d bytes", n, LogMaxBytes)
			}
		})
	}
}

// TestLastBytes: the end of a stream, bounded, read in pieces.
func TestLastBytes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		n       int
		want    string
		dropped bool
	}{
		{in: "", n: 4, want: ""},
		{in: "abc", n: 4, want: "abc"},
		{in: "abcd", n: 4, want: "abcd"},
		{in: "abcde", n: 4, want: "bcde", dropped: true},
		{in: "abcdefghijklmnopqrstuvwxyz", n: 4, want: "wxyz", dropped: true},
		{in: "abcdefghi", n: 3, want: "ghi", dropped: true},
	} {
		// Byte by byte, and all at once.
		for _, r := range []io.Reader{iotest.OneByteReader(strings.NewReader(tc.in)), strings.NewReader(tc.in)} {
			got, dropped, err := lastBytes(r, tc.n)
			if err != nil || string(got) != tc.want || dropped != tc.dropped {
				t.Errorf("lastBytes(%q, %d) = %q, %v, %v; want %q, %v", tc.in, tc.n, got, dropped, err, tc.want, tc.dropped)
			}
		}
	}
	if _, _, err := lastBytes(iotest.ErrReader(io.ErrUnexpectedEOF), 4); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("lastBytes of a failing stream: %v", err)
	}
}
