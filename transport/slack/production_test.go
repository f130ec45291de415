package slack_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/config"
	"tekbot/test/kube"
)

// TestProductionRerunsThroughSlackAreDenyByDefault: "/tekton rerun", signed
// as Slack signs it, by a maintainer who may rerun but not promote. A
// deploy that fetches its pipeline through a resolver and mounts the
// deploy kubeconfig through a projected volume is refused, in its deploy
// namespace and outside it, and so is a run production's config does not
// allow: privately, in words, pointing to promote, with no confirm button
// and nothing created.
func TestProductionRerunsThroughSlackAreDenyByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	deployNS, otherNS := e.prod.Namespace(t), e.prod.Namespace(t)
	e.cfg.Promotion.Environments = []config.Environment{{
		Name: "dogfooding", Cluster: "dogfooding", Strategy: config.StrategyPipelineRun, Namespace: deployNS,
		PipelineRef: "install-tekton-release", SecretWorkspaces: map[string]string{"targetCluster": "dogfooding-kubeconfig"},
	}}
	e.cfg.Clusters[0].Rerunnable = []config.Rerunnable{{Namespace: e.prodNS}}
	e.cfg.Policy.Roles["release-managers"] = []string{"andrea"}
	e.cfg.Policy.Allow = map[string][]string{"rerun": {"maintainers"}, "promote": {"release-managers"}}
	deploy := pipelinev1.PipelineRunSpec{
		PipelineRef: &pipelinev1.PipelineRef{ResolverRef: pipelinev1.ResolverRef{Resolver: "bundles", Params: pipelinev1.Params{
			{Name: "bundle", Value: *pipelinev1.NewStructuredValues("ghcr.io/tektoncd/plumbing/cd:latest")},
			{Name: "name", Value: *pipelinev1.NewStructuredValues("cd")},
		}}},
		Workspaces: []pipelinev1.WorkspaceBinding{{Name: "cluster", Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "dogfooding-kubeconfig"}}},
		}}}},
	}
	tests := []struct{ name, namespace, run, says string }{
		{"the deploy, in its namespace", deployNS, "cd-dogfooding-1", "is a deploy (it is in dogfooding's deploy namespace)"},
		{"the deploy, where reruns are allowed", e.prodNS, "cd-dogfooding-2", "is a deploy (it binds dogfooding's deploy secret)"},
		{"a run config does not allow", otherNS, "cleanup-1", "reruns only PR runs and the runs its config allows"},
	}
	ctx := context.Background()
	for _, tt := range tests {
		spec := deploy
		if tt.namespace == otherNS {
			spec = pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "cleanup"}}
		}
		pr := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: tt.run}, Spec: spec}
		if _, err := e.prod.Tekton.TektonV1().PipelineRuns(tt.namespace).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := kube.SetState(ctx, e.prod, tt.namespace, tt.run, kube.Failed); err != nil {
			t.Fatal(err)
		}
	}
	r := e.replica()
	for _, tt := range tests {
		trigger := "trigger-" + tt.run
		if code, msg := r.PostSlack(t, "/slack/commands", e.slashCommand(vincent, "rerun "+tt.namespace+"/"+tt.run, trigger), time.Now()); code != http.StatusOK {
			t.Fatalf("%s: %d %q", tt.name, code, msg)
		}
	}
	r.Drain(t)
	answers := map[string]delivery{}
	for _, d := range e.slack.messages("response_url") {
		answers[d.ResponseID] = d
	}
	for _, tt := range tests {
		d := answers["trigger-"+tt.run]
		if d.ResponseType != "ephemeral" || !strings.Contains(d.Text, tt.says) || !strings.Contains(d.Text, "/tekton promote") ||
			strings.Contains(string(d.Blocks), "tekbot-confirm") {
			t.Errorf("%s: want a private refusal saying %q and pointing to /tekton promote, no confirm button; got %+v", tt.name, tt.says, d)
		}
		if n := len(reruns(t, e.prod, tt.namespace, tt.run)); n != 0 {
			t.Errorf("%s: %d reruns created", tt.name, n)
		}
	}
}
