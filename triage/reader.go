package triage

import (
	"context"
	"fmt"
	"log/slog"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"tekbot/tekton"
)

// LogSource is what the Reader reads of a cluster: the run, its TaskRuns
// and their pods (to know which step failed and which Secrets it could
// read), and a container's log.
type LogSource interface {
	PipelineRun(ctx context.Context, namespace, name string) (*pipelinev1.PipelineRun, error)
	TaskRun(ctx context.Context, namespace, name string) (*pipelinev1.TaskRun, error)
	Pod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	// Log returns the end of a container's log, bounded by the source;
	// cut is true when earlier lines were not read.
	Log(ctx context.Context, namespace, pod, container string) (log string, cut bool, err error)
}

// SecretSource reads a Secret's data: nil data and no error when there is
// no such Secret (nothing of it can be in a log).
type SecretSource interface {
	SecretData(ctx context.Context, namespace, name string) (map[string][]byte, error)
}

// Reader builds Excerpts.
type Reader struct {
	logs    LogSource
	secrets SecretSource
}

// NewReader reads logs from logs and the values to redact from secrets.
// With secrets nil (an operator who grants tekbot no right on Secrets)
// only credential shapes are redacted: the README says what that risks.
func NewReader(logs LogSource, secrets SecretSource) *Reader {
	return &Reader{logs: logs, secrets: secrets}
}

// maxTaskRuns bounds the TaskRuns of one run that Read reads (two
// requests each). Beyond it, logs are withheld: the pods of the TaskRuns
// not read could read Secrets the redaction would not know.
const maxTaskRuns = 200

// failed is a failed TaskRun of the run.
type failed struct {
	task string
	tr   *pipelinev1.TaskRun
	pod  *corev1.Pod
}

// Read says why a PipelineRun failed. A run that has not failed gives an
// Excerpt with no Tasks. An error means the run itself could not be read.
// A TaskRun or pod of the run that cannot be read withholds every log
// (conditions only, the Excerpt Truncated): its Secrets are unknown. A
// log that cannot be read leaves its task with its condition only.
func (r *Reader) Read(ctx context.Context, namespace, pipelineRun string) (Excerpt, error) {
	pr, err := r.logs.PipelineRun(ctx, namespace, pipelineRun)
	if err != nil {
		return Excerpt{}, fmt.Errorf("reading PipelineRun %s/%s: %w", namespace, pipelineRun, err)
	}
	ex := Excerpt{Run: pr.Name}
	if !isFalse(pr.Status.GetCondition(apis.ConditionSucceeded)) {
		return ex, nil
	}
	reach := tekton.ReachOf(pr)
	var fails []failed
	read := 0
	complete := true
	for _, ch := range pr.Status.ChildReferences {
		if ch.Kind != "TaskRun" {
			continue
		}
		if read++; read > maxTaskRuns {
			complete = false
			break
		}
		tr, err := r.logs.TaskRun(ctx, namespace, ch.Name)
		// Only a TaskRun the run controls is its: a name in a status
		// is not proof enough. Every TaskRun and pod of the run counts,
		// failed or not: a Secret one task reads can reach another's log
		// through a shared workspace. So one whose Secrets cannot be
		// known (gone, refused, not the run's) withholds every log; the
		// TaskRun's status.taskSpec is no fallback, as it shows neither
		// the pod template's Secrets nor the service account's, which
		// Tekton's credential init mounts.
		if err != nil || !metav1.IsControlledBy(tr, pr) {
			slog.WarnContext(ctx, "triage: TaskRun not read: logs withheld", "namespace", namespace, "taskrun", ch.Name, "err", err)
			complete = false
			continue
		}
		pod, ok := r.pod(ctx, tr)
		if !ok {
			complete = false
		}
		if pod != nil {
			reach.Add(tekton.ReachOfPod(pod))
		}
		if isFalse(tr.Status.GetCondition(apis.ConditionSucceeded)) {
			fails = append(fails, failed{task: ch.PipelineTaskName, tr: tr, pod: pod})
		}
	}
	red, showLogs := r.redactor(ctx, namespace, reach)
	// Unread TaskRuns and pods may read Secrets that are then not known.
	showLogs = showLogs && complete
	if !showLogs {
		ex.Truncated = true
	}
	for _, f := range fails {
		t, cut := r.task(ctx, f, red, showLogs)
		ex.Tasks = append(ex.Tasks, t)
		ex.Truncated = ex.Truncated || cut
	}
	if len(ex.Tasks) == 0 {
		ex.Tasks = []TaskExcerpt{{Condition: red.Redact(message(pr.Status.GetCondition(apis.ConditionSucceeded)))}}
	}
	return ex, nil
}

// pod is the TaskRun's pod, if it still exists and the TaskRun owns it;
// ok is false when it had one that was not read.
func (r *Reader) pod(ctx context.Context, tr *pipelinev1.TaskRun) (pod *corev1.Pod, ok bool) {
	if tr.Status.PodName == "" {
		return nil, true
	}
	pod, err := r.logs.Pod(ctx, tr.Namespace, tr.Status.PodName)
	if err != nil || !metav1.IsControlledBy(pod, tr) {
		slog.WarnContext(ctx, "triage: pod not read: logs withheld", "namespace", tr.Namespace, "pod", tr.Status.PodName, "err", err)
		return nil, false
	}
	return pod, true
}

// redactor reads the values of the Secrets the run could read. Logs are
// shown only when every one of them could be checked: a Secret tekbot was
// refused, or a CSI volume whose Secrets it cannot see, withholds them
// (condition messages are still shown, shape-redacted). Without a
// SecretSource, logs are shown with shapes redacted only.
func (r *Reader) redactor(ctx context.Context, namespace string, reach tekton.Reach) (*redactor, bool) {
	if r.secrets == nil {
		return newRedactor(nil), true
	}
	var values [][]byte
	ok := !reach.CSI
	for _, name := range reach.Names() {
		data, err := r.secrets.SecretData(ctx, namespace, name)
		if err != nil {
			slog.WarnContext(ctx, "triage: Secret not read: logs withheld", "namespace", namespace, "secret", name, "err", err)
			ok = false
			continue
		}
		for _, v := range data {
			values = append(values, v)
		}
	}
	red := newRedactor(values)
	if len(red.needles) > maxNeedles {
		slog.WarnContext(ctx, "triage: too many Secret values to look for: logs withheld", "namespace", namespace, "needles", len(red.needles))
		ok = false
	}
	return red, ok
}

// maxNeedles bounds the strings redaction looks for in a log, each one a
// pass over it (about half a millisecond per MiB of log): a Secret
// holding a large document would make every excerpt of its runs take
// minutes. Beyond it, logs are withheld.
const maxNeedles = 5000

// task is one failed TaskRun's excerpt; cut is true when its log was not
// all read or could not be read.
func (r *Reader) task(ctx context.Context, f failed, red *redactor, showLogs bool) (TaskExcerpt, bool) {
	t := TaskExcerpt{Task: f.task, Condition: red.Redact(message(f.tr.Status.GetCondition(apis.ConditionSucceeded)))}
	step, ok := failedStep(f.tr.Status.Steps)
	if !ok {
		return t, false
	}
	t.Step, t.ExitCode = step.Name, step.Terminated.ExitCode
	if !showLogs || f.pod == nil {
		return t, f.pod == nil
	}
	log, cut, err := r.logs.Log(ctx, f.tr.Namespace, f.pod.Name, step.Container)
	if err != nil {
		slog.WarnContext(ctx, "triage: log not read", "namespace", f.tr.Namespace, "pod", f.pod.Name, "container", step.Container, "err", err)
		return t, true
	}
	if cut {
		t.Lines = pick(red.RedactTail(log))
	} else {
		t.Lines = pick(red.Redact(log))
	}
	return t, cut
}

// failedStep is the step that failed the TaskRun: the first that exited
// non-zero, not counting steps Tekton skipped after it or steps allowed
// to fail (onError: continue).
func failedStep(steps []pipelinev1.StepState) (pipelinev1.StepState, bool) {
	for _, s := range steps {
		if s.Terminated == nil || s.Terminated.ExitCode == 0 {
			continue
		}
		if s.TerminationReason == "Skipped" || s.TerminationReason == "Continued" {
			continue
		}
		return s, true
	}
	return pipelinev1.StepState{}, false
}

func isFalse(c *apis.Condition) bool { return c != nil && c.IsFalse() }

func message(c *apis.Condition) string {
	if c == nil {
		return ""
	}
	if c.Message == "" {
		return c.Reason
	}
	return c.Message
}
