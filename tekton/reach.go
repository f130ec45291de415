package tekton

import (
	"slices"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
)

// Reach is what a PipelineRun's own object lets it mount or read, wherever
// in the object it says so: a workspace is only one of the ways. What a
// referenced Pipeline does inside is not here: that is the Pipeline's, and
// a deploy pipeline is recognised by its name.
type Reach struct {
	// Secrets are the names of the Secrets it binds: workspaces (secret,
	// projected, a CSI volume's nodePublishSecretRef), pod-template
	// volumes and env, and the volumes, env and envFrom of tasks
	// embedded in it or in pipelines embedded in it.
	Secrets []string
	// CSI is true when it mounts a CSI volume: a secrets-store driver
	// mounts whatever its SecretProviderClass names, which tekbot cannot
	// see from the run.
	CSI bool
}

// ReachOf reads a run's Reach.
func ReachOf(run *pipelinev1.PipelineRun) Reach {
	var r Reach
	spec := &run.Spec
	for _, ws := range spec.Workspaces {
		r.volume(corev1.VolumeSource{Secret: ws.Secret, Projected: ws.Projected, CSI: ws.CSI})
	}
	pods := []*pod.PodTemplate{spec.TaskRunTemplate.PodTemplate}
	for _, s := range spec.TaskRunSpecs {
		pods = append(pods, s.PodTemplate)
	}
	for _, p := range pods {
		if p != nil {
			for _, v := range p.Volumes {
				r.volume(v.VolumeSource)
			}
			r.env(p.Env, nil)
		}
	}
	r.pipeline(spec.PipelineSpec)
	return r
}

// pipeline reads an embedded pipeline's tasks, and the pipelines
// embedded in those, however deep.
func (r *Reach) pipeline(ps *pipelinev1.PipelineSpec) {
	if ps == nil {
		return
	}
	for _, pt := range slices.Concat(ps.Tasks, ps.Finally) {
		if pt.TaskSpec != nil {
			r.task(&pt.TaskSpec.TaskSpec)
		}
		r.pipeline(pt.PipelineSpec)
	}
}

// Binds names the first of secrets the run binds, or "".
func (r Reach) Binds(secrets []string) string {
	for _, s := range r.Secrets {
		if slices.Contains(secrets, s) {
			return s
		}
	}
	return ""
}

func (r *Reach) volume(v corev1.VolumeSource) {
	if v.Secret != nil {
		r.Secrets = append(r.Secrets, v.Secret.SecretName)
	}
	if v.Projected != nil {
		for _, src := range v.Projected.Sources {
			if src.Secret != nil {
				r.Secrets = append(r.Secrets, src.Secret.Name)
			}
		}
	}
	if v.CSI != nil {
		r.CSI = true
		if ref := v.CSI.NodePublishSecretRef; ref != nil {
			r.Secrets = append(r.Secrets, ref.Name)
		}
	}
}

func (r *Reach) task(ts *pipelinev1.TaskSpec) {
	for _, v := range ts.Volumes {
		r.volume(v.VolumeSource)
	}
	if st := ts.StepTemplate; st != nil {
		r.env(st.Env, st.EnvFrom)
	}
	for _, s := range ts.Steps {
		r.env(s.Env, s.EnvFrom)
	}
	for _, s := range ts.Sidecars {
		r.env(s.Env, s.EnvFrom)
	}
}

func (r *Reach) env(env []corev1.EnvVar, from []corev1.EnvFromSource) {
	for _, e := range env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			r.Secrets = append(r.Secrets, e.ValueFrom.SecretKeyRef.Name)
		}
	}
	for _, f := range from {
		if f.SecretRef != nil {
			r.Secrets = append(r.Secrets, f.SecretRef.Name)
		}
	}
}
