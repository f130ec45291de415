package handlers

import (
	"fmt"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/config"
	"tekbot/handlers/promotion"
	"tekbot/tekton"
)

// deployOf says why run is a deploy, or "" when it is not. Deploys go
// through promote alone, with its gates, confirmation and record: a rerun
// would repeat a deploy (target-cluster credentials included) for anyone
// allowed to rerun, outside the in-flight gate, and a PR's /test could
// start one. A run is a deploy when a promotion created it, or when it runs
// an environment's deploy pipeline or binds one of its secrets on that
// environment's cluster.
func (h *commands) deployOf(c *tekton.Cluster, run *pipelinev1.PipelineRun) string {
	if env := run.Labels[promotion.LabelEnvironment]; env != "" {
		return fmt.Sprintf("it deployed to %s", env)
	}
	for i := range h.Config.Promotion.Environments {
		env := &h.Config.Promotion.Environments[i]
		if env.Cluster != c.Name || env.Strategy == config.StrategyGitOps {
			continue
		}
		if ref := run.Spec.PipelineRef; ref != nil && ref.Name != "" && ref.Name == env.PipelineRef {
			return fmt.Sprintf("it runs %s's deploy pipeline", env.Name)
		}
		for _, ws := range run.Spec.Workspaces {
			if ws.Secret == nil {
				continue
			}
			for _, secret := range env.SecretWorkspaces {
				if ws.Secret.SecretName == secret {
					return fmt.Sprintf("it binds %s's deploy secret", env.Name)
				}
			}
		}
	}
	return ""
}

// promoteInstead is the reply to an attempt to rerun a deploy.
func promoteInstead(run, why string) string {
	return sprintf("`%s` is a deploy (%s), so tekbot does not rerun it: deploys go through `/tekton promote <project> <version> to <environment>`, and a failed one offers Roll back in its promotion thread.", run, why)
}
