package handlers_test

import (
	"strings"
	"testing"

	"github.com/tektoncd/pipeline/pkg/apis/pipeline/pod"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/test/kube"
)

// Specs of runs that reach production's deploy credentials without naming
// the deploy pipeline or binding its Secret as a secret workspace.
var (
	// gitResolver fetches a pipeline file that is not named after the
	// deploy pipeline: only where it runs and what it mounts tell.
	gitResolver = &pipelinev1.PipelineRef{ResolverRef: pipelinev1.ResolverRef{Resolver: "git", Params: pipelinev1.Params{
		{Name: "url", Value: *pipelinev1.NewStructuredValues("https://github.com/tektoncd/plumbing")},
		{Name: "pathInRepo", Value: *pipelinev1.NewStructuredValues("tekton/cd/deploy.yaml")},
	}}}
	projectedKubeconfig = pipelinev1.WorkspaceBinding{Name: "kubeconfig", Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
		{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "dogfooding-kubeconfig"}}},
	}}}
	resolverProjected = pipelinev1.PipelineRunSpec{PipelineRef: gitResolver, Workspaces: []pipelinev1.WorkspaceBinding{projectedKubeconfig}}
)

// TestProductionIsDenyByDefault: on a production cluster, someone allowed
// to rerun but not to promote reruns PR runs (a repository's selector
// finds them, in its namespace) and the runs the config allows, nothing
// else; every run in the deploy namespace is a deploy, and resolver refs,
// projected, CSI, pod-template volumes and embedded tasks' env count in
// judging what a run reaches. Refusals say why in words and point to
// promote.
func TestProductionIsDenyByDefault(t *testing.T) {
	t.Parallel()
	w := newWorld(t, monday)
	deployNS, opsNS, otherNS := "deploy", "ops", "other"
	w.cfg.Promotion.Environments = []config.Environment{{
		Name: "production", Cluster: "dogfooding", Strategy: config.StrategyPipelineRun, Namespace: deployNS,
		PipelineRef: "install-tekton-release", SecretWorkspaces: map[string]string{"targetCluster": "dogfooding-kubeconfig"},
	}}
	w.cfg.GitHub.Repositories = []config.Repository{{
		Name: "tektoncd/pipeline", Cluster: "dogfooding", Namespace: w.pNS,
		Selector: config.DefaultSelector, PipelineLabel: config.DefaultPipelineLabel,
	}}
	// opsNS is allowed whole, so there only what a run reaches refuses it;
	// in the PR namespace, one pipeline besides the PR runs.
	w.cfg.Clusters[1].Rerunnable = []config.Rerunnable{{Namespace: opsNS}, {Namespace: w.pNS, Pipelines: []string{"nightly-canary"}}}
	w.cfg.Policy.Allow = map[string][]string{"rerun": {"maintainers"}, "promote": {"release-managers"}}

	prLabels := map[string]string{
		"pipelinesascode.tekton.dev/repository": "pipeline", "pipelinesascode.tekton.dev/pull-request": "42",
		"pipelinesascode.tekton.dev/sha": "0123456789abcdef0123456789abcdef01234567", config.DefaultPipelineLabel: "unit-tests",
	}
	named := func(pipeline string) pipelinev1.PipelineRunSpec {
		return pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: pipeline}}
	}
	secretVolume := []corev1.Volume{{Name: "kc", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "dogfooding-kubeconfig"}}}}
	const (
		deploy = "is a deploy ("
		denied = "reruns only PR runs and the runs its config allows"
	)
	tests := []struct {
		name, namespace string
		labels          map[string]string
		spec            pipelinev1.PipelineRunSpec
		outcome         bot.Outcome
		says            string
	}{
		{"resolver ref and projected Secret, in the deploy namespace", deployNS, nil, resolverProjected, bot.Refused, "it is in production's deploy namespace"},
		{"resolver ref and projected Secret, in an allowed namespace", opsNS, nil, resolverProjected, bot.Refused, "it binds production's deploy secret"},
		{"a resolver naming the deploy pipeline", opsNS, nil, pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{ResolverRef: pipelinev1.ResolverRef{
			Resolver: "cluster", Params: pipelinev1.Params{{Name: "kind", Value: *pipelinev1.NewStructuredValues("pipeline")}, {Name: "name", Value: *pipelinev1.NewStructuredValues("install-tekton-release")}},
		}}}, bot.Refused, "it runs production's deploy pipeline"},
		{"the Secret as a pod-template volume", opsNS, nil, pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "smoke"},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{PodTemplate: &pod.PodTemplate{Volumes: secretVolume}}}, bot.Refused, "it binds production's deploy secret"},
		{"the Secret as one task's pod-template volume", opsNS, nil, pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "smoke"},
			TaskRunSpecs: []pipelinev1.PipelineTaskRunSpec{{PipelineTaskName: "apply", PodTemplate: &pod.PodTemplate{Volumes: secretVolume}}}}, bot.Refused, "it binds production's deploy secret"},
		{"a CSI workspace", opsNS, nil, pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "smoke"}, Workspaces: []pipelinev1.WorkspaceBinding{
			{Name: "creds", CSI: &corev1.CSIVolumeSource{Driver: "secrets-store.csi.k8s.io", VolumeAttributes: map[string]string{"secretProviderClass": "deploy"}}},
		}}, bot.Refused, "it mounts a CSI volume"},
		{"an embedded task reading the Secret into its env", opsNS, nil, pipelinev1.PipelineRunSpec{PipelineSpec: &pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{{
			Name: "apply", TaskSpec: &pipelinev1.EmbeddedTask{TaskSpec: pipelinev1.TaskSpec{Steps: []pipelinev1.Step{{Name: "kubectl", Image: "kubectl",
				EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "dogfooding-kubeconfig"}}}}}}}},
		}}}}, bot.Refused, "it binds production's deploy secret"},
		{"a run no selector finds and config does not allow", w.pNS, nil, named("release"), bot.Refused, denied},
		{"a namespace config does not name", otherNS, nil, named("nightly-canary"), bot.Refused, denied},
		{"PR labels outside the repository's namespace", otherNS, prLabels, named("unit-tests"), bot.Refused, denied},
		{"a PR run", w.pNS, prLabels, named("unit-tests"), bot.Done, "vincent reran dogfooding/"},
		{"a pipeline config allows", w.pNS, nil, named("nightly-canary"), bot.Done, "vincent reran dogfooding/"},
		{"an ordinary run in an allowed namespace", opsNS, nil, named("smoke"), bot.Done, "vincent reran dogfooding/"},
	}
	for i, tt := range tests {
		name := "run-" + string(rune('a'+i))
		w.create("dogfooding", &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: tt.namespace, Name: name, Labels: tt.labels}, Spec: tt.spec}, kube.Failed)
		// vincent may rerun, not promote, and has confirmed.
		before := w.count("dogfooding", tt.namespace)
		reply := w.slack("vincent", "rerun "+tt.namespace+"/"+name+" on dogfooding", true, "prod-"+name)
		created := w.count("dogfooding", tt.namespace) - before
		if reply.Outcome != tt.outcome || !strings.Contains(reply.Text, tt.says) {
			t.Errorf("%s: %s %q, want %s saying %q", tt.name, reply.Outcome, reply.Text, tt.outcome, tt.says)
		}
		if want := map[bot.Outcome]int{bot.Done: 1}[tt.outcome]; created != want {
			t.Errorf("%s: %d runs created, want %d", tt.name, created, want)
		}
		if tt.outcome == bot.Refused && (!strings.Contains(reply.Text, "/tekton promote") || strings.Contains(reply.Text, "pipelinesascode")) {
			t.Errorf("%s: a refusal should point to /tekton promote and show no selector: %q", tt.name, reply.Text)
		}
		if tt.says == denied && strings.Contains(reply.Text, deploy) {
			t.Errorf("%s: not known to be a deploy, but called one: %q", tt.name, reply.Text)
		}
	}
}
