package flakes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func attempts(t *testing.T, docs map[string][]byte) int {
	t.Helper()
	n := 0
	for name, doc := range docs {
		d, err := DecodeDay(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n += d.Len()
	}
	return n
}

// A watch reports a run on every update and resync, and again after a
// restart: the record holds it once.
func TestRecorderRecordsARunOnce(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	o := outcomes([]run{{commit: "aaa", failed: true}})[0]
	for range 2 { // two replicas, or a restart
		rec := &Recorder{Store: store, Now: func() time.Time { return now }, Log: quiet()}
		rec.Observe(o)
		rec.Observe(o)
		if err := rec.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		rec.Observe(o)
		if err := rec.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n := attempts(t, store.docs); n != 1 {
		t.Errorf("%d attempts recorded, want 1", n)
	}
}

func TestRecorderPrunesDaysOutOfTheWindow(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	clock := now.Add(-10 * day)
	rec := &Recorder{Store: store, Now: func() time.Time { return clock }, Log: quiet()}
	rec.Observe(Outcome{Repo: "r", Pipeline: "p", Commit: "a", Run: "old", At: clock})
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock = now
	rec.Observe(Outcome{Repo: "r", Pipeline: "p", Commit: "a", Run: "new", At: clock})
	rec.Observe(Outcome{Repo: "r", Pipeline: "p", Commit: "a", Run: "too old to record", At: clock.Add(-15 * day)})
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(store.docs)), []string{dayName(now.Add(-10 * day)), dayName(now)}; !slices.Equal(got, want) {
		t.Fatalf("days %v, want %v", got, want)
	}
	clock = now.Add(5 * day)
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := slices.Sorted(maps.Keys(store.docs)), []string{dayName(now)}; !slices.Equal(got, want) {
		t.Errorf("after 5 days: days %v, want %v", got, want)
	}
}

func TestDayIsBounded(t *testing.T) {
	t.Parallel()
	d, _ := DecodeDay(nil)
	for i := range 5 {
		added, full := d.Add(Outcome{Repo: "r", Pipeline: "p", Commit: "a", Run: fmt.Sprint(i), At: now}, 3)
		if want := i < 3; added != want || full == want {
			t.Errorf("run %d: added %v full %v, want added %v", i, added, full, want)
		}
	}
}

// A document someone broke by hand costs its own day, not the others'.
func TestUnreadableDayIsSkipped(t *testing.T) {
	t.Parallel()
	good, _ := DecodeDay(nil)
	good.Add(Outcome{Repo: "r", Pipeline: "p", Commit: "a", Run: "1", Failed: true, At: now.Add(-time.Hour)}, MaxPerDay)
	good.Add(Outcome{Repo: "r", Pipeline: "p", Commit: "a", Run: "2", At: now}, MaxPerDay)
	doc, _ := good.Encode()
	tests := []struct {
		name string
		bad  string
	}{
		{"not JSON", "{"},
		{"a bad attempt", `{"p":{"r p":{"a":["zz"]}}}`},
		{"a task out of range", `{"p":{"r p":{"a":["1 a 1 F 4"]}}}`},
		{"an unknown outcome", `{"p":{"r p":{"a":["1 a 1 X"]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h, err := NewHistory(map[string][]byte{"day-a": []byte(tt.bad), "day-b": doc})
			if err == nil {
				t.Error("no error for an unreadable document")
			}
			if got := h.Judge("r", "p", "", now).Kind; got != Flaky {
				t.Errorf("verdict %v on the good day, want flaky", got)
			}
		})
	}
}

func failedRun(name string, children ...string) *pipelinev1.PipelineRun {
	pr := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{
		Name: name, Namespace: "ci", UID: "u-" + "1",
		Labels: map[string]string{LabelRepository: "pipeline", LabelSHA: strings.Repeat("ab", 20), LabelEvent: "pull_request",
			"pipelinesascode.tekton.dev/original-prname": "unit-tests"},
	}}
	pr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed"})
	pr.Status.CompletionTime = &metav1.Time{Time: now}
	for _, c := range children {
		pr.Status.ChildReferences = append(pr.Status.ChildReferences, pipelinev1.ChildStatusReference{Name: name + "-" + c, PipelineTaskName: c})
	}
	return pr
}

func TestOutcomeOf(t *testing.T) {
	t.Parallel()
	running := failedRun("r")
	running.Status.Conditions = duckv1.Conditions{{Type: apis.ConditionSucceeded, Status: corev1.ConditionUnknown, Reason: "Running"}}
	cancelled := failedRun("r")
	cancelled.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Cancelled"})
	push := failedRun("r")
	push.Labels[LabelEvent] = "push"
	bare := failedRun("r")
	bare.Labels = nil
	bare.Spec.PipelineRef = &pipelinev1.PipelineRef{Name: "build"}
	tests := []struct {
		name           string
		pr             *pipelinev1.PipelineRun
		ok             bool
		repo, pipeline string
		base, failed   bool
	}{
		{"failed PR run", failedRun("r"), true, "pipeline", "unit-tests", false, true},
		{"running", running, false, "", "", false, false},
		{"cancelled", cancelled, false, "", "", false, false},
		{"push", push, true, "pipeline", "unit-tests", true, true},
		{"no labels", bare, true, "dogfood/ci", "build", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, ok := OutcomeOf("dogfood", tt.pr, "pipelinesascode.tekton.dev/original-prname")
			if ok != tt.ok || o.Repo != tt.repo || o.Pipeline != tt.pipeline || o.Base != tt.base || o.Failed != tt.failed {
				t.Errorf("got %+v ok %v, want repo %q pipeline %q base %v failed %v ok %v", o, ok, tt.repo, tt.pipeline, tt.base, tt.failed, tt.ok)
			}
		})
	}
}

// A failed run's tasks are looked up when it is recorded, a few runs per
// write; the rest wait for the next.
func TestRecorderFindsFailedTasks(t *testing.T) {
	t.Parallel()
	store := &memStore{}
	lookups := 0
	rec := &Recorder{Store: store, Now: func() time.Time { return now }, Log: quiet(),
		Tasks: func(_ context.Context, cluster, ns string, children []pipelinev1.ChildStatusReference) ([]string, error) {
			lookups++
			if cluster != "dogfood" || ns != "ci" {
				t.Errorf("looked up in %s/%s", cluster, ns)
			}
			return []string{children[1].PipelineTaskName}, nil
		}}
	for i := range maxLookups + 1 {
		o, _ := OutcomeOf("dogfood", failedRun(fmt.Sprint("run-", i), "lint", "e2e"), "pipelinesascode.tekton.dev/original-prname")
		rec.Observe(o)
	}
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := attempts(t, store.docs); n != maxLookups || lookups != maxLookups {
		t.Fatalf("first write: %d attempts, %d lookups; want %d of each", n, lookups, maxLookups)
	}
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, _ := NewHistory(store.docs)
	if n := attempts(t, store.docs); n != maxLookups+1 {
		t.Errorf("second write: %d attempts, want %d", n, maxLookups+1)
	}
	if got := h.Flakiest(now, Window, 10); len(got) != 0 {
		t.Errorf("flakes %v with no pass", got)
	}
	if got := h.Judge("pipeline", "unit-tests", "e2e", now).Kind; got != New {
		t.Errorf("e2e verdict %v, want new", got)
	}
}

func TestFlakiest(t *testing.T) {
	t.Parallel()
	h := record(t, []run{
		{commit: "aaa", failed: true, tasks: []string{"e2e"}, ago: 3 * day}, {commit: "aaa", ago: 3 * day},
		{commit: "bbb", failed: true, tasks: []string{"e2e"}, ago: 2 * day},
		{commit: "bbb", failed: true, tasks: []string{"lint"}, ago: 2 * day}, {commit: "bbb", ago: 2 * day},
		{commit: "ccc", failed: true, tasks: []string{"e2e"}, ago: 9 * day}, {commit: "ccc", ago: 9 * day},
	})
	got := h.Flakiest(now, 7*day, 10)
	want := []Flake{
		{Repo: "pipeline", Pipeline: "unit-tests", Count: 3},
		{Repo: "pipeline", Pipeline: "unit-tests", Task: "e2e", Count: 2},
		{Repo: "pipeline", Pipeline: "unit-tests", Task: "lint", Count: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("flakiest of the week\n got %v\nwant %v", got, want)
	}
	if got := h.Flakiest(now, 7*day, 1); len(got) != 1 {
		t.Errorf("limit 1 gave %d", len(got))
	}
}

// The history of 100,000 runs in 14 days (a busy namespace): how many
// bytes the documents take, how many documents, and how much memory the
// merged history holds for verdicts. Figures are reported with -v.
func TestSizeAt100000Runs(t *testing.T) {
	if testing.Short() {
		t.Skip("measures 100,000 runs; not in the short tier")
	}
	store := &memStore{}
	rec := &Recorder{Store: store, Now: func() time.Time { return now }, Log: quiet()}
	const runs = 100000
	for i := range runs {
		o := Outcome{
			Repo: fmt.Sprint("repo-", i%20), Pipeline: fmt.Sprint("pipeline-", i%7),
			Commit: fmt.Sprintf("%040x", i/3), Run: fmt.Sprintf("dogfood/ci/pr-%d-run-%d/%036d", i/3, i, i),
			Base: i%10 == 0, Failed: i%4 == 0, At: now.Add(-time.Duration(i) * ((Window - time.Hour) / runs)),
		}
		if o.Failed {
			o.FailedTasks = []string{fmt.Sprint("task-", i%5)}
		}
		rec.Observe(o)
		if i%10000 == 9999 { // a watch's burst after a restart is written as it comes
			if err := rec.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
	}
	total, biggest := 0, 0
	for _, doc := range store.docs {
		total += len(doc)
		biggest = max(biggest, len(doc))
	}
	if n := attempts(t, store.docs); n != runs {
		t.Fatalf("%d attempts recorded, want %d", n, runs)
	}
	if biggest > 1<<20-4096 {
		t.Errorf("a day's document is %d bytes: over a ConfigMap's 1 MiB", biggest)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h, err := NewHistory(store.docs)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	start := time.Now()
	v := h.Judge("repo-0", "pipeline-0", "", now)
	t.Logf("100,000 runs in 14 days: %d documents, %d KiB in all, the biggest %d KiB; merged history %d MiB in memory; a verdict (%s) in %v",
		len(store.docs), total>>10, biggest>>10, (after.HeapAlloc-before.HeapAlloc)>>20, v, time.Since(start))
	runtime.KeepAlive(h)
}
