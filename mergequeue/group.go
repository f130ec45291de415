package mergequeue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
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

// GroupCluster is where a repository's merge-group runs go
// (tekton.Cluster).
type GroupCluster interface {
	// CreateOnce creates a run; created is false when one of its name
	// exists already, which is then returned.
	CreateOnce(ctx context.Context, pr *pipelinev1.PipelineRun) (run *pipelinev1.PipelineRun, created bool, err error)
	// Get returns a run; its error satisfies apierrors.IsNotFound when
	// there is none.
	Get(ctx context.Context, namespace, name string) (*pipelinev1.PipelineRun, error)
	Cancel(ctx context.Context, pr *pipelinev1.PipelineRun) error
	URL(namespace, name string) string
}

// GroupChecks report a group's runs on its head commit (transport/github's
// API).
type GroupChecks interface {
	// StartCheck posts an in_progress check run named name on sha.
	StartCheck(ctx context.Context, repo, sha, name, detailsURL string) error
}

// Groups runs the declared merge-group pipelines (config.MergeQueue's
// Pipelines) for GitHub's merge groups, and cancels them when a group is
// destroyed.
type Groups struct {
	Config *config.Config
	// Clusters by name; a repository whose cluster is missing gets
	// nothing run and an error logged.
	Clusters map[string]GroupCluster
	Checks   GroupChecks
	Audit    bot.Auditor
	Log      *slog.Logger
}

// ErrNoCluster: the repository's cluster is not one tekbot is connected
// to.
var ErrNoCluster = errors.New("the repository's cluster is not connected")

// Requested starts the repository's merge-group pipelines on the group's
// head commit, each once: the run's name is derived from the repository,
// the head SHA and the check, so a redelivery or another replica finds the
// run there and starts nothing more. Each new run is reported as an
// in_progress check run under its PR check's name.
func (g *Groups) Requested(ctx context.Context, requestID string, grp Group) error {
	repo := g.Config.Repository(grp.Repo)
	if repo == nil || repo.MergeQueue == nil {
		return nil
	}
	cluster := g.Clusters[repo.Cluster]
	if cluster == nil {
		return fmt.Errorf("merge group %s@%s: %w", grp.Repo, grp.HeadSHA, ErrNoCluster)
	}
	var errs []error
	for i := range repo.MergeQueue.Pipelines {
		p := &repo.MergeQueue.Pipelines[i]
		run, err := groupRun(p, grp, repo.Namespace)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		run.Annotations = map[string]string{tekton.AnnotationRequester: "merge queue", tekton.AnnotationRequestID: requestID}
		made, created, err := cluster.CreateOnce(ctx, run)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !created {
			g.Log.Info("merge group run exists already", "run", made.Name, "check", p.Check)
			continue
		}
		g.audit(ctx, "start", requestID, repo.Cluster+"/"+made.Namespace+"/"+made.Name)
		if err := g.Checks.StartCheck(ctx, grp.Repo, grp.HeadSHA, p.Check, cluster.URL(made.Namespace, made.Name)); err != nil {
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
	repo := g.Config.Repository(grp.Repo)
	if repo == nil || repo.MergeQueue == nil {
		return nil
	}
	cluster := g.Clusters[repo.Cluster]
	if cluster == nil {
		return fmt.Errorf("merge group %s@%s: %w", grp.Repo, grp.HeadSHA, ErrNoCluster)
	}
	var errs []error
	for i := range repo.MergeQueue.Pipelines {
		name := GroupRunName(grp.Repo, grp.HeadSHA, repo.MergeQueue.Pipelines[i].Check)
		run, err := cluster.Get(ctx, repo.Namespace, name)
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		case tekton.StateOf(run).Done() || run.Spec.Status == pipelinev1.PipelineRunSpecStatusCancelled:
			continue
		}
		if err := cluster.Cancel(ctx, run); err != nil {
			errs = append(errs, err)
			continue
		}
		g.audit(ctx, "cancel", requestID, repo.Cluster+"/"+run.Namespace+"/"+run.Name)
	}
	return errors.Join(errs...)
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

// GroupClustersOf indexes tekbot's clusters by name for Groups.
func GroupClustersOf(clusters []*tekton.Cluster) map[string]GroupCluster {
	out := make(map[string]GroupCluster, len(clusters))
	for _, c := range clusters {
		out[c.Name] = c
	}
	return out
}
