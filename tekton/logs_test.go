package tekton

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
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
