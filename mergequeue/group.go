package mergequeue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

// Group is a merge group GitHub asks checks for, from its signed
// merge_group payload.
type Group struct {
	Repo    string
	HeadSHA string
	HeadRef string
	BaseRef string
}

// GroupRuns are the PipelineRuns of the clusters tekbot reaches, each
// call naming its cluster (tekton.Clusters).
type GroupRuns interface {
	// CreateOnce creates a run; created is false when one of its name
	// exists already, which is then returned.
	CreateOnce(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) (run *pipelinev1.PipelineRun, created bool, err error)
	// Run reads a run; its error satisfies apierrors.IsNotFound when
	// there is none.
	Run(ctx context.Context, cluster, namespace, name string) (*pipelinev1.PipelineRun, error)
	Cancel(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) error
	URL(cluster, namespace, name string) string
}

// GroupChecks report a group's runs on its head commit (transport/github's
// API).
type GroupChecks interface {
	// StartCheck posts an in_progress check run named name on sha.
	StartCheck(ctx context.Context, repo, sha, name, detailsURL string) error
	// PostCheck posts a completed check run on sha.
	PostCheck(ctx context.Context, repo, sha string, c bot.Check) error
	// Comment comments on a PR.
	Comment(ctx context.Context, repo string, number int, body string) error
}

// Groups runs the declared merge-group pipelines (config.MergeQueue's
// Pipelines) for GitHub's merge groups, and cancels them when a group is
// destroyed.
type Groups struct {
	Config *config.Config
	Runs   GroupRuns
	Checks GroupChecks
	Audit  bot.Auditor
	Log    *slog.Logger
}

// Requested starts the repository's merge-group pipelines on the group's
// head commit, each once: the run's name is derived from the repository,
// the head SHA and the check, so a redelivery or another replica finds the
// run there and starts nothing more. Each new run is reported as an
// in_progress check run under its PR check's name.
func (g *Groups) Requested(ctx context.Context, requestID string, grp Group) error {
	repo := g.repository(grp)
	if repo == nil {
		return nil
	}
	var errs []error
	for i := range repo.MergeQueue.Pipelines {
		p := &repo.MergeQueue.Pipelines[i]
		run, err := groupRun(p, grp, repo.Namespace)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		run.Annotations = map[string]string{tekton.AnnotationRequester: groupRequester, tekton.AnnotationRequestID: requestID, AnnotationGroupRef: grp.HeadRef}
		made, created, err := g.Runs.CreateOnce(ctx, repo.Cluster, run)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !created {
			g.Log.Info("merge group run exists already", "run", made.Name, "check", p.Check)
			continue
		}
		g.audit(ctx, "start", requestID, repo.Cluster+"/"+made.Namespace+"/"+made.Name)
		if err := g.Checks.StartCheck(ctx, grp.Repo, grp.HeadSHA, p.Check, g.Runs.URL(repo.Cluster, made.Namespace, made.Name)); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Destroyed cancels the group's runs that are still going: the group
// merged, or was invalidated or dequeued, so their results no longer
// matter. Only runs of the names tekbot derives for the group are
// touched, never one found by a label.
func (g *Groups) Destroyed(ctx context.Context, requestID string, grp Group) error {
	repo := g.repository(grp)
	if repo == nil {
		return nil
	}
	var errs []error
	for i := range repo.MergeQueue.Pipelines {
		name := GroupRunName(grp.Repo, grp.HeadSHA, repo.MergeQueue.Pipelines[i].Check)
		run, err := g.Runs.Run(ctx, repo.Cluster, repo.Namespace, name)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		case tekton.StateOf(run).Done() || run.Spec.Status == pipelinev1.PipelineRunSpecStatusCancelled:
			continue
		}
		if err := g.Runs.Cancel(ctx, repo.Cluster, run); err != nil {
			errs = append(errs, err)
			continue
		}
		g.audit(ctx, "cancel", requestID, repo.Cluster+"/"+run.Namespace+"/"+run.Name)
	}
	return errors.Join(errs...)
}

// repository is the group's repository, when it has a merge queue.
func (g *Groups) repository(grp Group) *config.Repository {
	if repo := g.Config.Repository(grp.Repo); repo != nil && repo.MergeQueue != nil {
		return repo
	}
	return nil
}

func (g *Groups) audit(ctx context.Context, what, requestID, target string) {
	if g.Audit == nil {
		return
	}
	g.Audit.Record(ctx, bot.Record{
		Time: time.Now().UTC(), RequestID: requestID, Transport: bot.Itself, CallerID: "tekbot",
		Verb: "merge-group", Args: []string{what}, Targets: []string{target}, Outcome: bot.Done,
	})
}

// groupRequester is who requested a merge-group run, in its
// tekton.AnnotationRequester.
const groupRequester = "merge queue"

// AnnotationGroupRef keeps the group's head ref
// (refs/heads/gh-readonly-queue/<base>/pr-<n>-<sha>), which names the PR
// whose entry made the group, for the failure comment.
const AnnotationGroupRef = "tekbot.dev/merge-group-ref"

// LabelGroup holds the head SHA of the merge group a run was started for,
// for people and dashboards; tekbot finds its runs by name, not by it.
const LabelGroup = "tekbot.dev/merge-group"

// GroupRunName is the name of the run of check for a group's head: the
// same for every delivery of the group, so creating it is idempotent.
func GroupRunName(repo, headSHA, check string) string {
	h := fnv.New32a()
	h.Write([]byte(repo + "\x00" + check))
	return fmt.Sprintf("merge-group-%.12s-%08x", headSHA, h.Sum32())
}

// groupRun fills in p's PipelineRun for grp.
func groupRun(p *config.GroupPipeline, grp Group, namespace string) (*pipelinev1.PipelineRun, error) {
	f := config.GroupFields{Repository: grp.Repo, HeadSHA: grp.HeadSHA, HeadRef: grp.HeadRef, BaseRef: grp.BaseRef}
	ref, err := p.Render(p.PipelineRef, f)
	if err != nil {
		return nil, fmt.Errorf("merge group pipeline %s: pipelineRef: %w", p.Check, err)
	}
	run := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: GroupRunName(grp.Repo, grp.HeadSHA, p.Check), Namespace: namespace,
			Labels: map[string]string{LabelGroup: grp.HeadSHA},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef:     &pipelinev1.PipelineRef{Name: ref},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: p.ServiceAccount},
		},
	}
	for _, k := range slices.Sorted(maps.Keys(p.Params)) {
		v, err := p.Render(p.Params[k], f)
		if err != nil {
			return nil, fmt.Errorf("merge group pipeline %s: params.%s: %w", p.Check, k, err)
		}
		run.Spec.Params = append(run.Spec.Params, pipelinev1.Param{Name: k, Value: *pipelinev1.NewStructuredValues(v)})
	}
	return run, nil
}

// groupPRRE finds the PR in a merge group's head ref.
var groupPRRE = regexp.MustCompile(`^refs/heads/gh-readonly-queue/.+/pr-([0-9]+)-[0-9a-f]+$`)

// Finished reports a finished merge-group run of cluster: its check run
// completes with the run's outcome, and a failed (not cancelled) run gets
// one comment on the PR its group's head ref names. A run is taken as
// tekbot's only if its name is the one tekbot derives for a declared
// pipeline of the repository watched in that namespace, from the head SHA
// it carries: anything else is not reported. Callers run it once per
// finished run (a claim), off the watch.
func (g *Groups) Finished(ctx context.Context, cluster string, run *pipelinev1.PipelineRun) error {
	repo, p := g.ownerOf(cluster, run)
	if p == nil || !tekton.StateOf(run).Done() {
		return nil
	}
	sha := run.Labels[LabelGroup]
	url := g.Runs.URL(cluster, run.Namespace, run.Name)
	state := tekton.StateOf(run)
	conclusion := groupConclusions[state]
	if conclusion == "" {
		conclusion = "failure"
	}
	check := bot.Check{
		Name: p.Check, Conclusion: conclusion, DetailsURL: url,
		Title:   fmt.Sprintf("%s: %s", p.Check, state),
		Summary: fmt.Sprintf("Pipeline %s on the merge group's head %.12s: %s.", run.Spec.PipelineRef.Name, sha, state),
	}
	if err := g.Checks.PostCheck(ctx, repo.Name, sha, check); err != nil {
		return err
	}
	g.audit(ctx, "report "+conclusion, run.Annotations[tekton.AnnotationRequestID], cluster+"/"+run.Namespace+"/"+run.Name)
	if conclusion != "failure" && conclusion != "timed_out" {
		return nil
	}
	m := groupPRRE.FindStringSubmatch(run.Annotations[AnnotationGroupRef])
	if m == nil {
		g.Log.Warn("failed merge group names no pull request; not commented", "run", run.Name)
		return nil
	}
	number, err := strconv.Atoi(m[1])
	if err != nil {
		return fmt.Errorf("merge group ref of %s: %w", run.Name, err)
	}
	body := fmt.Sprintf("The merge queue's checks failed for the group with this pull request (head %.12s): **%s** (Pipeline %s) %s. "+
		"GitHub takes the group out of the queue; see %s.", sha, p.Check, run.Spec.PipelineRef.Name, strings.ToLower(string(state)), url)
	return g.Checks.Comment(ctx, repo.Name, number, body)
}

// groupConclusions are the check conclusions of a finished run's states.
var groupConclusions = map[tekton.State]string{
	tekton.StateSucceeded: "success",
	tekton.StateCancelled: "cancelled",
	tekton.StateTimedOut:  "timed_out",
}

// ownerOf finds the repository and declared pipeline a run of cluster
// was started for, by the name tekbot gives such runs; nil when none.
func (g *Groups) ownerOf(cluster string, run *pipelinev1.PipelineRun) (*config.Repository, *config.GroupPipeline) {
	sha := run.Labels[LabelGroup]
	if sha == "" || run.Annotations[tekton.AnnotationRequester] != groupRequester {
		return nil, nil
	}
	for i := range g.Config.GitHub.Repositories {
		r := &g.Config.GitHub.Repositories[i]
		if r.Cluster != cluster || r.Namespace != run.Namespace || r.MergeQueue == nil {
			continue
		}
		for j := range r.MergeQueue.Pipelines {
			if GroupRunName(r.Name, sha, r.MergeQueue.Pipelines[j].Check) == run.Name {
				return r, &r.MergeQueue.Pipelines[j]
			}
		}
	}
	return nil, nil
}
