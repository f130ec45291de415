package tekton

import (
	"slices"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestReachFindsSecretsWhereverTheRunNamesThem: each place a PipelineRun's
// own object can bind a Secret is read, and a CSI volume is flagged even
// when it names no Secret.
func TestReachFindsSecretsWhereverTheRunNamesThem(t *testing.T) {
	t.Parallel()
	ref := func(name string) corev1.LocalObjectReference { return corev1.LocalObjectReference{Name: name} }
	secretVolume := func(name string) []corev1.Volume {
		return []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}}}
	}
	embedded := func(ts pipelinev1.TaskSpec) *pipelinev1.PipelineSpec {
		return &pipelinev1.PipelineSpec{Finally: []pipelinev1.PipelineTask{{Name: "t", TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: ts}}}}
	}
	envFrom := func(name string) []corev1.EnvVar {
		return []corev1.EnvVar{{Name: "E", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: ref(name), Key: "k"}}}}
	}
	tests := []struct {
		name    string
		spec    pipelinev1.PipelineRunSpec
		secrets []string
		csi     bool
	}{
		{"nothing", pipelinev1.PipelineRunSpec{Workspaces: []pipelinev1.WorkspaceBinding{{Name: "w", EmptyDir: &corev1.EmptyDirVolumeSource{}}}}, nil, false},
		{"secret workspace", pipelinev1.PipelineRunSpec{Workspaces: []pipelinev1.WorkspaceBinding{{Name: "w", Secret: &corev1.SecretVolumeSource{SecretName: "a"}}}}, []string{"a"}, false},
		{"projected workspace", pipelinev1.PipelineRunSpec{Workspaces: []pipelinev1.WorkspaceBinding{{Name: "w", Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: ref("cm")}}, {Secret: &corev1.SecretProjection{LocalObjectReference: ref("b")}},
		}}}}}, []string{"b"}, false},
		{"CSI workspace with a publish Secret", pipelinev1.PipelineRunSpec{Workspaces: []pipelinev1.WorkspaceBinding{{Name: "w", CSI: &corev1.CSIVolumeSource{Driver: "d", NodePublishSecretRef: &corev1.LocalObjectReference{Name: "c"}}}}}, []string{"c"}, true},
		{"pod template", pipelinev1.PipelineRunSpec{TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{PodTemplate: &pod.PodTemplate{Volumes: secretVolume("d")}}}, []string{"d"}, false},
		{"a task's pod template", pipelinev1.PipelineRunSpec{TaskRunSpecs: []pipelinev1.PipelineTaskRunSpec{{PipelineTaskName: "x"}, {PipelineTaskName: "y", PodTemplate: &pod.PodTemplate{Volumes: []corev1.Volume{
			{Name: "v", VolumeSource: corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io"}}},
		}}}}}, nil, true},
		{"an embedded finally task's volume", pipelinev1.PipelineRunSpec{PipelineSpec: embedded(pipelinev1.TaskSpec{Volumes: secretVolume("e")})}, []string{"e"}, false},
		{"step template, step and sidecar env", pipelinev1.PipelineRunSpec{PipelineSpec: embedded(pipelinev1.TaskSpec{
			StepTemplate: &pipelinev1.StepTemplate{Env: envFrom("f")},
			Steps:        []pipelinev1.Step{{Name: "s", EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: ref("g")}}}}},
			Sidecars:     []pipelinev1.Sidecar{{Name: "c", Env: envFrom("h")}},
		})}, []string{"f", "g", "h"}, false},
		{"pod template env", pipelinev1.PipelineRunSpec{TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{PodTemplate: &pod.PodTemplate{Env: envFrom("i")}}}, []string{"i"}, false},
		{"a task's pod template env", pipelinev1.PipelineRunSpec{TaskRunSpecs: []pipelinev1.PipelineTaskRunSpec{{PipelineTaskName: "y", PodTemplate: &pod.PodTemplate{Env: envFrom("j")}}}}, []string{"j"}, false},
		{"a task of a pipeline embedded in a pipeline task", pipelinev1.PipelineRunSpec{PipelineSpec: &pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{
			{Name: "p", PipelineSpec: embedded(pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: "s", Env: envFrom("k")}}})},
		}}}, []string{"k"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := ReachOf(&pipelinev1.PipelineRun{Spec: tt.spec})
			if !slices.Equal(r.Secrets, tt.secrets) || r.CSI != tt.csi {
				t.Errorf("reach = %+v, want secrets %v, CSI %v", r, tt.secrets, tt.csi)
			}
			for _, s := range tt.secrets {
				if r.Binds([]string{"other", s}) != s {
					t.Errorf("Binds does not find %q in %v", s, r.Secrets)
				}
			}
			if r.Binds([]string{"other"}) != "" {
				t.Errorf("Binds finds a Secret the run does not bind: %v", r.Secrets)
			}
		})
	}
}
