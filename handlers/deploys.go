package handlers

import (
	"cmp"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/config"
	"tekbot/promotion"
	"tekbot/tekton"
)

// deployOf says why run is a deploy, or "" when it is not. Deploys go
// through promote alone, with its gates, confirmation and record: a rerun
// would repeat a deploy (target-cluster credentials included) for anyone
// allowed to rerun, outside the in-flight gate, and a PR's /test could
// start one. On an environment's cluster a run is a deploy when a
// promotion created it, when it is in the environment's namespace (where
// the deploy Secrets are, whatever the run says of itself), when it runs
// the deploy pipeline, by name or through a resolver, or when it can reach
// a deploy Secret or mounts a CSI volume, whose contents no run shows.
func (h *commands) deployOf(c *config.Cluster, run *pipelinev1.PipelineRun) string {
	if env := run.Labels[promotion.LabelEnvironment]; env != "" {
		return fmt.Sprintf("it deployed to %s", env)
	}
	reach := tekton.ReachOf(run)
	for i := range h.Config.Promotion.Environments {
		env := &h.Config.Promotion.Environments[i]
		if env.Cluster != c.Name || env.Strategy == config.StrategyGitOps {
			continue
		}
		switch {
		case run.Namespace == cmp.Or(env.Namespace, c.Namespace):
			return fmt.Sprintf("it is in %s's deploy namespace", env.Name)
		case runsPipeline(run.Spec.PipelineRef, env.PipelineRef):
			return fmt.Sprintf("it runs %s's deploy pipeline", env.Name)
		case reach.Binds(slices.Collect(maps.Values(env.SecretWorkspaces))) != "":
			return fmt.Sprintf("it binds %s's deploy secret", env.Name)
		case reach.CSI:
			return fmt.Sprintf("it mounts a CSI volume on %s's cluster, and tekbot cannot tell what that holds", env.Name)
		}
	}
	return ""
}

// runsPipeline reports whether ref runs pipeline: by name, or through a
// resolver whose params name it, as the cluster, bundles and hub
// resolvers' name does, or the file git's pathInRepo and http's url fetch.
func runsPipeline(ref *pipelinev1.PipelineRef, pipeline string) bool {
	switch {
	case ref == nil || pipeline == "":
		return false
	case ref.Name == pipeline:
		return true
	}
	for _, p := range ref.Params {
		v := p.Value.StringVal
		file := path.Base(v)
		if v == pipeline || strings.TrimSuffix(file, path.Ext(file)) == pipeline {
			return true
		}
	}
	return false
}

// promoteInstead is the reply to an attempt to rerun a deploy.
func promoteInstead(run, why string) string {
	return sprintf("`%s` is a deploy (%s), so tekbot does not rerun it: deploys go through `/tekton promote <project> <version> to <environment>`, and a failed one offers Roll back in its promotion thread.", run, why)
}

// mayRerunOnProduction reports whether run, on the production cluster c,
// is one tekbot may rerun: a PR run (in a repository's namespace on c, and
// found by its selector) or one c's config allows by namespace. Production
// is deny-by-default: a run tekbot cannot place may hold credentials, and
// the right to rerun CI was not given to repeat what those can do. The
// namespace is what proves where a run is; labels only narrow it.
func (h *commands) mayRerunOnProduction(c *config.Cluster, run *pipelinev1.PipelineRun) bool {
	for i := range h.Config.GitHub.Repositories {
		repo := &h.Config.GitHub.Repositories[i]
		if repo.Cluster == c.Name && cmp.Or(repo.Namespace, c.Namespace) == run.Namespace && selectorFinds(repo, run) {
			return true
		}
	}
	var pipeline string
	if ref := run.Spec.PipelineRef; ref != nil {
		pipeline = ref.Name
	}
	return c.AllowsRerun(run.Namespace, pipeline)
}

// notRerunnable is the reply to a rerun production's deny-by-default refuses.
func notRerunnable(c *config.Cluster, run *pipelinev1.PipelineRun) string {
	return sprintf("`%s/%s` is on the production cluster *%s*, where tekbot reruns only PR runs and the runs its config allows; this is neither, so tekbot does not rerun it. If it is a deploy, deploys go through `/tekton promote <project> <version> to <environment>`; to rerun other runs there, an operator lists them under `clusters[].rerunnable`.", run.Namespace, run.Name, c.Name)
}
