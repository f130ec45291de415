package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	tektonv1 "github.com/tektoncd/pipeline/pkg/client/clientset/versioned/typed/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"tekbot/test/kube"
)

func createNamespace(ctx context.Context, c *kube.Cluster, name string) error {
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating namespace %s: %w", name, err)
	}
	return nil
}

// headSHA is PR number pr's head commit.
func headSHA(pr int) string { return fmt.Sprintf("%040x", 0xbe4c0000+pr) }

// pacLabels are the labels Pipelines-as-Code puts on a PR's runs, which
// tekbot's default selector finds them by.
func pacLabels(repo string, pr int, pipeline string) map[string]string {
	return map[string]string{
		"pipelinesascode.tekton.dev/repository":      repo,
		"pipelinesascode.tekton.dev/pull-request":    strconv.Itoa(pr),
		"pipelinesascode.tekton.dev/sha":             headSHA(pr),
		"pipelinesascode.tekton.dev/original-prname": pipeline,
		"pipelinesascode.tekton.dev/state":           "completed",
		"team":                                       "ci",
	}
}

// pipelineRun is a run with a spec of the size Pipelines-as-Code makes.
func pipelineRun(name string, labels map[string]string, sha string) *pipelinev1.PipelineRun {
	return &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Labels: labels,
			Annotations: map[string]string{"pipelinesascode.tekton.dev/on-event": "[pull_request]"},
		},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: labels["pipelinesascode.tekton.dev/original-prname"]},
			Params: pipelinev1.Params{
				{Name: "revision", Value: *pipelinev1.NewStructuredValues(sha)},
				{Name: "repo-url", Value: *pipelinev1.NewStructuredValues("https://github.com/tektoncd/pipeline")},
			},
			Workspaces:      []pipelinev1.WorkspaceBinding{{Name: "source", EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: "ci-bot"},
			Timeouts:        &pipelinev1.TimeoutFields{Pipeline: &metav1.Duration{Duration: time.Hour}},
		},
	}
}

// seedRun creates a run in a finished state.
func seedRun(ctx context.Context, c *kube.Cluster, ns, name string, labels map[string]string, state kube.RunState) (*pipelinev1.PipelineRun, error) {
	if labels == nil {
		labels = map[string]string{"team": "ci", "pipelinesascode.tekton.dev/original-prname": "release"}
	}
	if _, err := c.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, pipelineRun(name, labels, headSHA(0)), metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("seeding %s/%s: %w", ns, name, err)
	}
	return kube.SetState(ctx, c, ns, name, state)
}

// seedPR gives PR pr of repo its three runs as Pipelines-as-Code would:
// build and e2e-tests passed, unit-tests failed. It returns the failed
// one, which /retest reruns.
func seedPR(ctx context.Context, c *kube.Cluster, ns, repo string, pr int) (*pipelinev1.PipelineRun, error) {
	var failed *pipelinev1.PipelineRun
	for _, p := range []struct {
		pipeline string
		state    kube.RunState
	}{{"build", kube.Succeeded}, {"unit-tests", kube.Failed}, {"e2e-tests", kube.Succeeded}} {
		name := fmt.Sprintf("%s-pr-%d-%s", repo, pr, p.pipeline)
		run, err := seedRun(ctx, c, ns, name, pacLabels(repo, pr, p.pipeline), p.state)
		if err != nil {
			return nil, err
		}
		if p.state == kube.Failed {
			failed = run
		}
	}
	return failed, nil
}

// seedPRs seeds n PRs of repo, numbered from first, as seedPR does, a few
// at a time; it returns each one's failed run.
func seedPRs(ctx context.Context, c *kube.Cluster, ns, repo string, first, n int) ([]*pipelinev1.PipelineRun, error) {
	failed := make([]*pipelinev1.PipelineRun, n)
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				failed[i], errs[i] = seedPR(ctx, c, ns, repo, first+i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return failed, errors.Join(errs...)
}

// fill creates n runs of other PRs in ns, concurrently, with a client of
// its own that is not rate-limited: it is the bench's set-up, not tekbot.
func fill(ctx context.Context, c *kube.Cluster, ns, repo string, n int) error {
	rc := rest.CopyConfig(c.REST)
	rc.QPS, rc.Burst = -1, 0 // no client-side limit
	tc, err := tektonclient.NewForConfig(rc)
	if err != nil {
		return err
	}
	runs := tc.TektonV1().PipelineRuns(ns)
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for i := range next {
				pr := 100000 + i/4 // four runs per PR, like a busy repository
				run := pipelineRun(fmt.Sprintf("filler-%d", i), pacLabels(repo, pr, fmt.Sprintf("pipeline-%d", i%4)), headSHA(pr))
				if err := createRetrying(ctx, runs, run); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	var err2 error
feed:
	for i := range n {
		select {
		case next <- i:
		case err2 = <-errs:
			break feed
		case <-ctx.Done():
			err2 = ctx.Err()
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err2 == nil {
		select {
		case err2 = <-errs:
		default:
		}
	}
	if err2 != nil {
		return fmt.Errorf("filling %s: %w", ns, err2)
	}
	return nil
}

// createRetrying creates run, trying again a few times when a loaded
// apiserver or etcd times out: the fill is set-up, not a measurement, and
// a run that exists already (a retried create that had landed) is fine.
func createRetrying(ctx context.Context, runs tektonv1.PipelineRunInterface, run *pipelinev1.PipelineRun) error {
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		_, err := runs.Create(ctx, run, metav1.CreateOptions{})
		if err == nil || apierrors.IsAlreadyExists(err) {
			return nil
		}
		if attempt == 6 || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(delay):
			delay *= 2
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
