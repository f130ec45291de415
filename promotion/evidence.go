package promotion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/config"
	"tekbot/tekton"
)

// PipelineLabel is the label Tekton puts on a PipelineRun naming its
// Pipeline; the apiserver selects release and canary runs by it.
const PipelineLabel = "tekton.dev/pipeline"

// release is one release PipelineRun on a nightly cluster.
type release struct {
	cluster *tekton.Cluster
	run     *pipelinev1.PipelineRun
	tag     string
}

func (r release) link() string { return runLink(r.cluster, r.run) }

// runLink renders a run as a Markdown link to the dashboard, or its name.
func runLink(c *tekton.Cluster, pr *pipelinev1.PipelineRun) string {
	if u := c.URL(pr.Namespace, pr.Name); u != "" {
		return fmt.Sprintf("[%s](%s)", pr.Name, u)
	}
	return "`" + pr.Name + "`"
}

// finishedAt is when a run ended (when it was created, for one that has
// no completion time).
func finishedAt(pr *pipelinev1.PipelineRun) time.Time {
	if t := pr.Status.CompletionTime; t != nil {
		return t.Time
	}
	return pr.CreationTimestamp.Time
}

// newer orders nightly releases by the build date in their tag, then by
// creation: a rerun of yesterday's release is still yesterday's build.
func (r release) newer(o release) bool {
	if a, b := nightlyDate(r.tag), nightlyDate(o.tag); a != b {
		return a > b
	}
	return tekton.Newer(r.run, o.run)
}

// nightlyClusters are where release PipelineRuns run.
func (e *Engine) nightlyClusters() ([]*tekton.Cluster, error) {
	var out []*tekton.Cluster
	for _, c := range e.Clusters.All() {
		if c.Role == config.RoleNightly {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, refuse("No nightly cluster is configured, so there is no release run to vouch for a version.")
	}
	return out, nil
}

// pullRequestLabels is the prefix of the labels Pipelines-as-Code puts on
// every run it starts for a pull request.
const pullRequestLabels = "pipelinesascode.tekton.dev/"

// fromPullRequest: a run Pipelines-as-Code started is a PR author's, even
// when its labels and params say "release".
func fromPullRequest(pr *pipelinev1.PipelineRun) bool { return pullRequestLabelled(pr.Labels) }

// pullRequestLabelled: labels has one of Pipelines-as-Code's.
func pullRequestLabelled(labels map[string]string) bool {
	for k := range labels {
		if strings.HasPrefix(k, pullRequestLabels) {
			return true
		}
	}
	return false
}

// releases lists the runs of <project>-release where env's releases run
// (config validation keeps that apart from PR namespaces), with the tag
// each released.
func (e *Engine) releases(ctx context.Context, env *config.Environment, project string) ([]release, error) {
	sites := e.Config.ReleaseSites(env)
	if len(sites) == 0 {
		return nil, refuse("No nightly cluster is configured, so there is no release run to vouch for a version.")
	}
	selector := PipelineLabel + "=" + project + "-release"
	if env.Releases != nil && env.Releases.Selector != "" {
		selector += "," + env.Releases.Selector
	}
	param := cmp.Or(env.NightlyParam, config.DefaultNightlyParam)
	var out []release
	var errs []error
	for _, s := range sites {
		c := e.Clusters.Get(s.Cluster)
		if c == nil {
			errs = append(errs, fmt.Errorf("releases: unknown cluster %q", s.Cluster))
			continue
		}
		runs, err := c.List(ctx, s.Namespace, selector)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for i := range runs {
			if fromPullRequest(&runs[i]) {
				continue
			}
			for _, p := range runs[i].Spec.Params {
				if p.Name == param {
					out = append(out, release{cluster: c, run: &runs[i], tag: p.Value.StringVal})
				}
			}
		}
	}
	return out, errors.Join(errs...)
}

// ResolveNightly is the tag of the newest nightly release of project that
// succeeded; newer ones that failed or still run are passed over. A tag
// read from a cluster is checked like one typed by a user. When the
// environment takes nightlies from an image repository, it is the newest
// nightly tag that passes the gates, and skipped says why newer ones did
// not.
func (e *Engine) ResolveNightly(ctx context.Context, env *config.Environment, project string) (tag string, skipped []string, err error) {
	if env.NightlyImage != "" {
		return e.resolveImage(ctx, env, project)
	}
	rels, err := e.releases(ctx, env, project)
	if err != nil {
		return "", nil, err
	}
	var best *release
	for i, r := range rels {
		if kind, err := CheckVersion(r.tag); err != nil || kind != Nightly || tekton.StateOf(r.run) != tekton.StateSucceeded {
			continue
		}
		if best == nil || r.newer(*best) {
			best = &rels[i]
		}
	}
	if best == nil {
		return "", nil, refuse("No nightly release of %s has succeeded (pipeline `%s-release` on the nightly clusters, tag in param `%s`).",
			project, project, cmp.Or(env.NightlyParam, config.DefaultNightlyParam))
	}
	return best.tag, nil, nil
}

// evidence is gate 3: the release run of this exact version succeeded,
// has soaked for the environment's soak period, and no canary pipeline
// failed since. A version that ran in the environment before needs none
// of it: that is what makes a rollback quick. For nightly images it also
// returns the image, by the digest its tag points to now.
func (e *Engine) evidence(ctx context.Context, env *config.Environment, book *Book, project, version string) ([]string, *Image, error) {
	if book.wasLive(project, env.Name, version) {
		rollback := []string{fmt.Sprintf("`%s` ran on %s before, so the release checks are skipped (rollback).", version, env.Name)}
		if env.NightlyImage == "" {
			return rollback, nil, nil
		}
		if img := book.deployedImage(project, env.Name, version); img != nil {
			return append(rollback, fmt.Sprintf("image `%s` as deployed then", img.Digest)), img, nil
		}
		// The tag as it is now is no proof of what ran then, and a
		// rollback checks nothing else.
		return nil, nil, noDigestRefusal(project, env.Name, version)
	}
	if env.NightlyImage != "" {
		return e.imageEvidence(ctx, env, project, version)
	}
	more, err := e.releaseEvidence(ctx, env, project, version)
	return more, nil, err
}

// noDigestRefusal: version ran on env, but the record no longer says as
// which image, so it cannot be rolled back to.
func noDigestRefusal(project, env, version string) error {
	return refuse("No digest is recorded for %s `%s` as it ran on %s before, so tekbot cannot roll back to that very image (a rollback skips the release checks, and the tag may point elsewhere now). Promote a new version instead, which goes through them.", project, version, env)
}

// releaseEvidence is gate 3 from release runs.
func (e *Engine) releaseEvidence(ctx context.Context, env *config.Environment, project, version string) ([]string, error) {
	rels, err := e.releases(ctx, env, project)
	if err != nil {
		return nil, err
	}
	var ok, other *release
	for i, r := range rels {
		switch {
		case r.tag != version:
		case tekton.StateOf(r.run) == tekton.StateSucceeded:
			if ok == nil || tekton.Newer(r.run, ok.run) {
				ok = &rels[i]
			}
		case other == nil || tekton.Newer(r.run, other.run):
			other = &rels[i]
		}
	}
	switch {
	case ok == nil && other != nil:
		return nil, refuse("The release of %s `%s` did not succeed: %s %s. Only a release that succeeded may be promoted.",
			project, version, other.link(), tekton.StateOf(other.run))
	case ok == nil:
		return nil, refuse("No release run of %s `%s` where releases run (pipeline `%s-release`), so nothing vouches for it.", project, version, project)
	}
	done := finishedAt(ok.run)
	out := []string{fmt.Sprintf("release run %s succeeded on %s at %s", ok.link(), ok.cluster.Name, done.UTC().Format("2006-01-02 15:04 MST"))}
	sites, err := e.canarySites(env)
	if err != nil {
		return nil, err
	}
	more, err := e.soakAndCanaries(ctx, env, version, done, sites)
	return append(out, more...), err
}

// site is a namespace of a cluster where canary pipelines run.
type site struct {
	cluster   *tekton.Cluster
	namespace string
}

// canarySites are where env's canary pipelines run: the nightly
// clusters' namespaces, wherever its releases run (releases.namespace
// moves only those).
func (e *Engine) canarySites(env *config.Environment) ([]site, error) {
	if len(env.CanaryPipelines) == 0 {
		return nil, nil
	}
	clusters, err := e.nightlyClusters()
	if err != nil {
		return nil, err
	}
	var sites []site
	for _, c := range clusters {
		sites = append(sites, site{c, c.Namespace})
	}
	return sites, nil
}

// soakAndCanaries is the rest of gate 3 for a version released at done:
// it has soaked for the environment's soak period, and no canary
// pipeline has failed since, at any of sites.
func (e *Engine) soakAndCanaries(ctx context.Context, env *config.Environment, version string, done time.Time, sites []site) ([]string, error) {
	var out []string
	if soak := env.SoakPeriod.Duration; soak > 0 {
		if until := done.Add(soak); e.now().Before(until) {
			return nil, refuse("`%s` is still soaking: %s needs %s since its release, until %s.", version, env.Name, soak, until.UTC().Format("2006-01-02 15:04 MST"))
		}
		out = append(out, fmt.Sprintf("soaked %s (at least %s)", e.now().Sub(done).Round(time.Minute), soak))
	}
	for _, canary := range env.CanaryPipelines {
		for _, s := range sites {
			runs, err := s.cluster.List(ctx, s.namespace, PipelineLabel+"="+canary)
			if err != nil {
				return nil, err
			}
			for i := range runs {
				if r := &runs[i]; tekton.StateOf(r).Retryable() && finishedAt(r).After(done) {
					return nil, refuse("Canary `%s` failed since `%s` was released: %s.", canary, version, runLink(s.cluster, r))
				}
			}
		}
	}
	if len(env.CanaryPipelines) > 0 {
		out = append(out, fmt.Sprintf("no failure of %s since", strings.Join(env.CanaryPipelines, ", ")))
	}
	return out, nil
}

// inFlight is gate 4: no other promotion of the project to the
// environment runs, by the record or by a deploy PipelineRun on the
// cluster (started by another replica a moment ago, or by hand).
func (e *Engine) inFlight(ctx context.Context, env *config.Environment, book *Book, self *Promotion) error {
	for _, o := range book.running(self.Project, env.Name) {
		if o.ID != self.ID {
			return inFlightRefusal(o)
		}
	}
	if env.Strategy != config.StrategyPipelineRun {
		return nil
	}
	c := e.Clusters.Get(env.Cluster)
	if c == nil {
		return fmt.Errorf("environment %s: unknown cluster %q", env.Name, env.Cluster)
	}
	runs, err := c.List(ctx, env.Namespace, LabelProject+"="+self.Project+","+LabelEnvironment+"="+env.Name)
	if err != nil {
		return err
	}
	// self's own run is the one its record names (none before the nonce
	// its name derives from is drawn).
	for i := range runs {
		if r := &runs[i]; !tekton.StateOf(r).Done() && (self.PipelineRun == "" || r.Name != self.PipelineRun) {
			return refuse("A deploy of %s to %s is still running on %s: %s (`%s`). Wait for it to finish.",
				self.Project, env.Name, c.Name, runLink(c, r), r.Labels[LabelVersion])
		}
	}
	return nil
}
