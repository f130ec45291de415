package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/localcluster"
	"tekbot/localregistry"
	"tekbot/tekton"
)

// sandboxGitHub stands in for GitHub in `tekbot dev`: one open PR, #42 on
// tektoncd/pipeline, by an outside contributor, and the maintainers as
// the people with write access.
type sandboxGitHub struct {
	mu      sync.Mutex
	pr      bot.PullRequest
	writers []string
	// checks and comments are what tekbot posted on the PR by itself
	// (sandboxhold.go).
	checks   map[string]sandboxCheck
	comments []string
}

const (
	sandboxRepo   = "tektoncd/pipeline"
	sandboxPR     = 42
	sandboxSHA    = "4f2b9c1e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c"
	sandboxAuthor = "sam-contributor"
)

func newSandboxGitHub(writers []string) *sandboxGitHub {
	return &sandboxGitHub{
		pr: bot.PullRequest{
			Repository: sandboxRepo, Number: sandboxPR, HeadSHA: sandboxSHA, Author: sandboxAuthor,
			URL: "https://github.com/tektoncd/pipeline/pull/42", Open: true,
		},
		writers: writers,
		checks:  map[string]sandboxCheck{},
	}
}

func (g *sandboxGitHub) Get(_ context.Context, repo string, number int) (*bot.PullRequest, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if repo != sandboxRepo || number != sandboxPR {
		return nil, fmt.Errorf("the sandbox has only %s#%d", sandboxRepo, sandboxPR)
	}
	pr := g.pr
	pr.Labels = slices.Clone(g.pr.Labels)
	return &pr, nil
}

func (g *sandboxGitHub) AddLabel(_ context.Context, _ string, _ int, label string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !slices.Contains(g.pr.Labels, label) {
		g.pr.Labels = append(g.pr.Labels, label)
	}
	return nil
}

func (g *sandboxGitHub) CanWrite(_ context.Context, _, login string) (bool, error) {
	return slices.Contains(g.writers, login), nil
}

func (g *sandboxGitHub) InTeam(context.Context, string, string) (bool, error) { return false, nil }

// seedRun is one PipelineRun the sandbox starts with.
type seedRun struct {
	name     string
	pipeline string
	labels   map[string]string
	params   map[string]string
	state    localcluster.RunState
	pending  bool
}

// sandboxNightly is one nightly release of the sample data.
type sandboxNightly struct {
	project, sha, tag, day string
	// daysAgo the release finished; failed: the newest triggers nightly is
	// broken.
	daysAgo int
	failed  bool
}

func sandboxNightlies() []sandboxNightly {
	var out []sandboxNightly
	for i, day := range []string{"20261122", "20261123"} {
		for _, p := range []struct{ project, sha string }{{"pipeline", "a1b2c3d"}, {"triggers", "e4f5a6b"}, {"dashboard", "c7d8e9f"}, {"chains", "0a1b2c3"}} {
			out = append(out, sandboxNightly{project: p.project, sha: p.sha, day: day, tag: fmt.Sprintf("v%s-%s", day, p.sha),
				daysAgo: 2 - i, failed: p.project == "triggers" && i == 1})
		}
	}
	return out
}

func nightlySeeds() []seedRun {
	var runs []seedRun
	for _, n := range sandboxNightlies() {
		state := localcluster.Succeeded
		if n.failed {
			state = localcluster.Failed
		}
		runs = append(runs, seedRun{
			name:     fmt.Sprintf("%s-release-nightly-%s", n.project, n.day),
			pipeline: n.project + "-release",
			labels:   map[string]string{"tekton.dev/pipeline": n.project + "-release", "release.tekton.dev/project": n.project},
			params: map[string]string{"versionTag": n.tag, "gitRevision": n.sha, "releaseMode": "nightly",
				"releaseAsLatest": "false", "imageRegistryPath": "ghcr.io/tektoncd/" + n.project},
			state: state,
		})
	}
	return runs
}

// sandboxImages is a registry in the sandbox holding the nightlies as
// images, as Tekton's release pipeline pushes them, each with the SLSA
// provenance Tekton Chains signs (but the broken triggers nightly, which
// Chains never signed): the "images" environment promotes them by digest.
type sandboxImages struct {
	registry  *localregistry.Registry
	publicKey string
}

func publishNightlies(ctx context.Context) (*sandboxImages, error) {
	key, err := localregistry.NewKey()
	if err != nil {
		return nil, err
	}
	reg, err := localregistry.Start()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	for _, n := range sandboxNightlies() {
		built := now.Add(-time.Duration(n.daysAgo) * 24 * time.Hour)
		image := localregistry.Nightly{
			Repository: "tektoncd/" + n.project + "/controller", Tag: n.tag, Created: built,
			Key: key, Pipeline: n.project + "-release", Commit: n.sha + strings.Repeat("0", 40-len(n.sha)), Finished: built,
		}
		if n.failed {
			image.Key = nil
		}
		if _, err := reg.Publish(ctx, image); err != nil {
			reg.Close()
			return nil, err
		}
	}
	return &sandboxImages{registry: reg, publicKey: key.PublicPEM()}, nil
}

func prSeeds() []seedRun {
	pac := func(name string) map[string]string {
		return map[string]string{
			"pipelinesascode.tekton.dev/repository":      "pipeline",
			"pipelinesascode.tekton.dev/pull-request":    fmt.Sprint(sandboxPR),
			"pipelinesascode.tekton.dev/sha":             sandboxSHA,
			"pipelinesascode.tekton.dev/original-prname": name,
			"pipelinesascode.tekton.dev/event-type":      "pull_request",
			"pipelinesascode.tekton.dev/sender":          sandboxAuthor,
		}
	}
	return []seedRun{
		{name: "pipeline-pr-42-build-x7k2p", pipeline: "build", labels: pac("build"), state: localcluster.Succeeded},
		{name: "pipeline-pr-42-unit-tests-q9m4d", pipeline: "unit-tests", labels: pac("unit-tests"), state: localcluster.Failed},
		{name: "pipeline-pr-42-e2e-tests-h3v8n", pipeline: "e2e-tests", labels: pac("e2e-tests"), state: localcluster.TimedOut},
		{name: "pipeline-pr-42-integration-z5r1c", pipeline: "integration", labels: pac("integration"), pending: true},
	}
}

// seed creates the sample data once; on later starts it is already there
// (with whatever the user did to it), so starting stays fast.
func seed(ctx context.Context, c *localcluster.Cluster, namespace string, runs []seedRun) error {
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", namespace, err)
	}
	for _, s := range runs {
		pr := &pipelinev1.PipelineRun{
			ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: namespace, Labels: s.labels},
			Spec: pipelinev1.PipelineRunSpec{
				PipelineRef: &pipelinev1.PipelineRef{Name: s.pipeline},
				Timeouts:    &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{Duration: time.Hour}},
			},
		}
		for k, v := range s.params {
			pr.Spec.Params = append(pr.Spec.Params, pipelinev1.Param{Name: k, Value: *pipelinev1.NewStructuredValues(v)})
		}
		slices.SortFunc(pr.Spec.Params, func(a, b pipelinev1.Param) int { return strings.Compare(a.Name, b.Name) })
		if s.pending {
			pr.Spec.Status = pipelinev1.PipelineRunSpecStatusPending
		}
		_, err := c.Tekton.TektonV1().PipelineRuns(namespace).Create(ctx, pr, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("seeding %s: %w", s.name, err)
		}
		if s.state != "" {
			if _, err := localcluster.SetState(ctx, c, namespace, s.name, s.state); err != nil {
				return fmt.Errorf("seeding %s status: %w", s.name, err)
			}
		}
	}
	return nil
}

// seedInstalled records, as Tekton's release does, that dogfooding runs
// Pipelines v1.15.1: what tekbot then promotes differs from what the
// cluster reports until the cluster catches up, which `/tekton promotions`
// and the handoff show as drift.
func seedInstalled(ctx context.Context, c *localcluster.Cluster) error {
	const ns = config.DefaultInfoNamespace
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", ns, err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: tekton.InfoConfigMap("pipeline"), Namespace: ns},
		Data:       map[string]string{"version": "v1.15.1"},
	}
	if _, err := c.Kube.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("seeding %s: %w", cm.Name, err)
	}
	return nil
}
