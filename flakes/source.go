package flakes

import (
	"context"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/tekton"
)

// Labels Pipelines-as-Code puts on the runs it starts: what repository and
// commit a run built, and whether for a push (the base branch) or a PR.
const (
	LabelRepository = "pipelinesascode.tekton.dev/repository"
	LabelSHA        = "pipelinesascode.tekton.dev/sha"
	LabelEvent      = "pipelinesascode.tekton.dev/event-type"
)

// Key is how the history names a run's repository and pipeline: the
// repository label (what the default PR selector matches, the
// repository's name), else the cluster and namespace the run is in.
func Key(cluster string, pr *pipelinev1.PipelineRun, pipelineLabel string) (repo, pipeline string) {
	repo = pr.Labels[LabelRepository]
	if repo == "" {
		repo = cluster + "/" + pr.Namespace
	}
	return repo, tekton.Pipeline(pr, pipelineLabel)
}

// OutcomeOf is the outcome of a finished run as the watch sees it; ok is
// false for a run not finished, or cancelled (a person stopped it: it
// says nothing of the code). A failed run's failed tasks are found when
// it is recorded (Recorder.Tasks).
func OutcomeOf(cluster string, pr *pipelinev1.PipelineRun, pipelineLabel string) (o Outcome, ok bool) {
	st := tekton.StateOf(pr)
	switch st {
	case tekton.StateSucceeded, tekton.StateFailed, tekton.StateTimedOut:
	default:
		return Outcome{}, false
	}
	o.Repo, o.Pipeline = Key(cluster, pr, pipelineLabel)
	o.Commit = pr.Labels[LabelSHA]
	o.Run = strings.Join([]string{cluster, pr.Namespace, pr.Name, string(pr.UID)}, "/")
	o.Base = pr.Labels[LabelEvent] == "push"
	o.Failed = st != tekton.StateSucceeded
	o.At = pr.CreationTimestamp.Time
	if pr.Status.CompletionTime != nil {
		o.At = pr.Status.CompletionTime.Time
	}
	if o.Failed {
		o.cluster, o.namespace = cluster, pr.Namespace
		o.taskRuns = pr.Status.ChildReferences
	}
	return o, true
}

// TaskReader finds which of a run's TaskRuns failed
// (tekton.Cluster.FailedTasks on the named cluster).
type TaskReader func(ctx context.Context, cluster, namespace string, children []pipelinev1.ChildStatusReference) ([]string, error)

// JudgeRun judges a failure of pr (of task, when not "") on cluster.
func (r *Reader) JudgeRun(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun, pipelineLabel, task string) (Verdict, error) {
	repo, pipeline := Key(cluster, pr, pipelineLabel)
	return r.Judge(ctx, repo, pipeline, task)
}
