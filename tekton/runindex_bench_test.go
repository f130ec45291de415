package tekton

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"knative.dev/pkg/apis"
)

// benchRuns lists n runs shaped like Pipelines-as-Code's (and make bench's
// fill): four per PR, with PaC's labels, a spec and a finished status.
type benchRuns struct{ n int }

func (l benchRuns) List(metav1.ListOptions) (kruntime.Object, error) {
	list := &pipelinev1.PipelineRunList{ListMeta: metav1.ListMeta{ResourceVersion: "1"}}
	for i := range l.n {
		pr := 100000 + i/4
		sha := fmt.Sprintf("%040x", 0xbe4c0000+pr)
		run := pipelinev1.PipelineRun{
			ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("filler-%d", i), Namespace: "bench-large", ResourceVersion: strconv.Itoa(i + 2),
				CreationTimestamp: metav1.Unix(int64(1e9+i), 0),
				Labels: map[string]string{
					"pipelinesascode.tekton.dev/repository":      "triggers",
					"pipelinesascode.tekton.dev/pull-request":    strconv.Itoa(pr),
					"pipelinesascode.tekton.dev/sha":             sha,
					"pipelinesascode.tekton.dev/original-prname": fmt.Sprintf("pipeline-%d", i%4),
					"pipelinesascode.tekton.dev/state":           "completed",
					"team":                                       "ci",
				},
				Annotations: map[string]string{"pipelinesascode.tekton.dev/on-event": "[pull_request]"},
			},
			Spec: pipelinev1.PipelineRunSpec{
				PipelineRef: &pipelinev1.PipelineRef{Name: fmt.Sprintf("pipeline-%d", i%4)},
				Params:      pipelinev1.Params{{Name: "revision", Value: *pipelinev1.NewStructuredValues(sha)}},
				Workspaces:  []pipelinev1.WorkspaceBinding{{Name: "source", EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		}
		run.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionTrue, Reason: "Succeeded"})
		list.Items = append(list.Items, run)
	}
	return list, nil
}

func (benchRuns) Watch(metav1.ListOptions) (watch.Interface, error) {
	return watch.NewFake(), nil
}

// IsWatchListSemanticsUnSupported makes the reflector list: the fake
// cannot stream.
func (benchRuns) IsWatchListSemanticsUnSupported() bool { return true }

// BenchmarkRunIndexMemory reports what the index keeps per run of a
// namespace (live heap after a GC), once synced and indexed on a PR's
// labels: what make bench's figure 4 (tekbot serve under 150 MiB at
// 100,000 runs) depends on. Run it with -benchtime 1x: later rounds reuse
// what the first interned.
func BenchmarkRunIndexMemory(b *testing.B) {
	const n = 20000
	const ns = "bench-large"
	var perRun float64
	for b.Loop() {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c := &Cluster{Name: "bench"}
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() { c.watchRuns(ctx, ns, benchRuns{n}) })
		if !cache.WaitForCacheSync(ctx.Done(), func() bool { return c.Indexed(ns) }) {
			b.Fatal("no sync")
		}
		runs, err := c.Runs(ctx, ns, "pipelinesascode.tekton.dev/repository=triggers,pipelinesascode.tekton.dev/pull-request=100007,pipelinesascode.tekton.dev/sha="+fmt.Sprintf("%040x", 0xbe4c0000+100007))
		if err != nil || len(runs) != 4 {
			b.Fatalf("%d runs of PR 100007: %v", len(runs), err)
		}
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		perRun = float64(after.HeapAlloc-before.HeapAlloc) / n
		cancel()
		wg.Wait()
	}
	b.ReportMetric(perRun, "B/run")
}
