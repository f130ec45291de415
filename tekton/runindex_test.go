package tekton

import (
	"context"
	"maps"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	"tekbot/config"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

func TestSlimKeepsWhatDecisionsNeed(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	pending := run("pending-x", "", "", t0)
	pending.Spec.Status = pipelinev1.PipelineRunSpecStatusPending
	cancelling := run("cancelling-x", corev1.ConditionUnknown, "Running", t0)
	cancelling.Spec.Status = pipelinev1.PipelineRunSpecStatusCancelled
	rerun := run("unit-x-retry-2", corev1.ConditionFalse, "PipelineRunTimeout", t0)
	rerun.Labels = map[string]string{LabelRerunOf: "unit-x", LabelAttempt: "2", "p": "unit"}
	rerun.Annotations = map[string]string{AnnotationRequester: "andrea", AnnotationRequestID: "d-1", "tekbot.dev/request-key": "c-9", "big": "dropped"}
	deploy := run("deploy-x", corev1.ConditionTrue, "Succeeded", t0)
	deploy.Spec.PipelineRef = &pipelinev1.PipelineRef{Name: "deploy"}
	deploy.Spec.Params = pipelinev1.Params{{Name: "version", Value: *pipelinev1.NewStructuredValues("v1")}}
	deploy.Spec.Workspaces = []pipelinev1.WorkspaceBinding{
		{Name: "source", EmptyDir: &corev1.EmptyDirVolumeSource{}},
		{Name: "target", Secret: &corev1.SecretVolumeSource{SecretName: "prod-kubeconfig"}},
	}
	generated := run("e2e-abcde", corev1.ConditionFalse, "Cancelled", t0)
	generated.GenerateName = "e2e-"
	for _, orig := range []pipelinev1.PipelineRun{pending, cancelling, rerun, deploy, generated} {
		orig.Namespace, orig.ResourceVersion = "ci", "42"
		var pool labelPool
		s, err := pool.slim(&orig)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := pool.slim(s) // the transform must be idempotent
		got := again.(*slimRun).run()
		if StateOf(&got) != StateOf(&orig) || got.IsCancelled() != orig.IsCancelled() ||
			Pipeline(&got, "p") != Pipeline(&orig, "p") || Attempt(&got) != Attempt(&orig) ||
			got.Name != orig.Name || got.Namespace != "ci" || !got.CreationTimestamp.Equal(&orig.CreationTimestamp) {
			t.Errorf("%s: slim copy reads as %s/%s/%d, want %s/%s/%d", orig.Name, StateOf(&got), Pipeline(&got, "p"), Attempt(&got), StateOf(&orig), Pipeline(&orig, "p"), Attempt(&orig))
		}
		if got.ResourceVersion != "" || len(got.Spec.Params) != 0 || got.Annotations["big"] != "" {
			t.Errorf("%s: the slim copy keeps more than decisions need: %+v", orig.Name, got)
		}
		wantAnnotations := maps.Clone(orig.Annotations)
		delete(wantAnnotations, "big")
		if !maps.Equal(got.Annotations, wantAnnotations) {
			t.Errorf("%s: annotations %v, want tekbot's %v", orig.Name, got.Annotations, wantAnnotations)
		}
		if !maps.Equal(got.Labels, orig.Labels) || got.GenerateName != orig.GenerateName {
			t.Errorf("%s: labels %v and generateName %q, want %v and %q", orig.Name, got.Labels, got.GenerateName, orig.Labels, orig.GenerateName)
		}
	}
	var pool labelPool
	s, _ := pool.slim(&deploy)
	if ws := s.(*slimRun).run().Spec.Workspaces; len(ws) != 1 || ws[0].Secret.SecretName != "prod-kubeconfig" {
		t.Errorf("the secret workspace that marks a deploy is lost: %+v", ws)
	}
}

// The index matches a run's compact labels as the apiserver matches its
// label map.
func TestRunLabelsMatchAsTheirSet(t *testing.T) {
	t.Parallel()
	set := labels.Set{"pr": "1", "sha": "aaa", "p": "unit", "empty": ""}
	var pool labelPool
	s, _ := pool.slim(&pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "r", Labels: set}})
	compact := s.(*slimRun).labels
	for _, selector := range []string{
		"pr=1,sha=aaa", "pr=2", "pr in (1,2),p=unit", "p!=unit", "!pr", "pr", "empty", "empty=", "!missing", "missing", "missing!=x", "pr>0", "",
	} {
		sel, err := labels.Parse(selector)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := sel.Matches(compact), sel.Matches(set); got != want {
			t.Errorf("%q matches the compact labels: %v, the set: %v", selector, got, want)
		}
	}
}

// Runs share their label pairs, and a sweep drops the pairs of runs gone
// once there are enough of them, keeping those of runs still indexed.
func TestLabelPoolSharesAndSweeps(t *testing.T) {
	t.Parallel()
	var pool labelPool
	slimmed := func(name string, labels map[string]string) *slimRun {
		t.Helper()
		s, err := pool.slim(&pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ci", Labels: labels}})
		if err != nil {
			t.Fatal(err)
		}
		return s.(*slimRun)
	}
	pair := func(s *slimRun, key string) *label {
		t.Helper()
		for _, l := range s.labels {
			if l.key == key {
				return l
			}
		}
		t.Fatalf("%s has no label %s", s.name, key)
		return nil
	}
	kept := slimmed("run-0", map[string]string{"team": "ci", "n": "0"})
	if other := slimmed("other", map[string]string{"team": "ci", "n": "x"}); pair(other, "team") != pair(kept, "team") {
		t.Error("two runs with team=ci do not share the pair")
	}
	for i := 1; i < 1100; i++ {
		slimmed("run-"+strconv.Itoa(i), map[string]string{"team": "ci", "n": strconv.Itoa(i)})
	}
	store := cache.NewStore(cache.MetaNamespaceKeyFunc)
	if err := store.Add(kept); err != nil {
		t.Fatal(err)
	}
	pool.sweep(store)
	if len(pool.pairs) != 2 {
		t.Errorf("after a sweep the pool has %d pairs, want the 2 of the run indexed", len(pool.pairs))
	}
	if again := slimmed("run-0-again", map[string]string{"team": "ci", "n": "0"}); pair(again, "n") != pair(kept, "n") {
		t.Error("a pair of an indexed run is no longer shared after a sweep")
	}
	if gone := slimmed("run-5-again", map[string]string{"n": "5"}); pair(gone, "n").value != "5" {
		t.Errorf("a swept pair comes back as n=%s", pair(gone, "n").value)
	}
	pool.sweep(store) // a pool that has not doubled is left as it is
	if len(pool.pairs) != 3 {
		t.Errorf("a sweep of a small pool left %d pairs, want 3", len(pool.pairs))
	}
}

// replica is tekbot's view of a cluster in one replica: its own clients.
func replica(t *testing.T, kc *kube.Cluster, ns string) *Cluster {
	t.Helper()
	c, err := NewCluster(config.Cluster{Name: "nightly", Role: config.RoleNightly, Namespace: ns}, nil, kc.REST)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seedRun(t *testing.T, kc *kube.Cluster, ns, name string, labels map[string]string, state kube.RunState) {
	t.Helper()
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef: &pipelinev1.PipelineRef{Name: labels["p"]},
			Params:      pipelinev1.Params{{Name: "revision", Value: *pipelinev1.NewStructuredValues("abc")}},
		},
	}
	if _, err := kc.Tekton.TektonV1().PipelineRuns(ns).Create(context.Background(), pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if state != "" {
		if _, err := kube.SetState(context.Background(), kc, ns, name, state); err != nil {
			t.Fatal(err)
		}
	}
}

// eventually polls cond until it holds or ten seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, what, 10*time.Second, cond)
}

func names(t *testing.T, c *Cluster, ns, selector string) []string {
	t.Helper()
	runs, err := c.Runs(context.Background(), ns, selector)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range runs {
		out = append(out, r.Name+"="+string(StateOf(&r)))
	}
	slices.Sort(out)
	return out
}

// The index answers as the apiserver does, and follows changes.
func TestRunsFromTheIndex(t *testing.T) {
	t.Parallel()
	kc := kube.Shared(t, "nightly")
	ns := kc.Namespace(t)
	pr := func(n, sha, p string) map[string]string { return map[string]string{"pr": n, "sha": sha, "p": p} }
	seedRun(t, kc, ns, "unit-1", pr("1", "aaa", "unit"), kube.Failed)
	seedRun(t, kc, ns, "e2e-1", pr("1", "aaa", "e2e"), kube.Succeeded)
	seedRun(t, kc, ns, "unit-1-old", pr("1", "000", "unit"), kube.Failed)
	seedRun(t, kc, ns, "unit-2", pr("2", "bbb", "unit"), kube.Failed)
	seedRun(t, kc, ns, "release", map[string]string{"p": "release"}, kube.Succeeded)

	listed := replica(t, kc, ns) // never watches: lists from the watch cache
	indexed := replica(t, kc, ns)
	paged := replica(t, kc, ns) // as against an apiserver without watch-lists
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Go(func() { indexed.WatchRuns(ctx, ns) })
	wg.Go(func() { paged.watchRuns(ctx, ns, noWatchList{paged.listWatch(ns)}) })
	eventually(t, "the indexes sync", func() bool { return indexed.Indexed(ns) && paged.Indexed(ns) })

	selectors := []string{"pr=1,sha=aaa", "pr=1", "pr in (1,2),p=unit", "p=unit,sha!=000", "!pr", "pr=3", ""}
	for _, sel := range selectors {
		want := names(t, listed, ns, sel)
		for _, c := range []struct {
			name string
			c    *Cluster
		}{{"streamed", indexed}, {"paged", paged}} {
			if got := names(t, c.c, ns, sel); !slices.Equal(got, want) {
				t.Errorf("selector %q: %s index %v, apiserver %v", sel, c.name, got, want)
			}
		}
	}
	if got := names(t, indexed, ns, "pr=1,sha=aaa"); !slices.Equal(got, []string{"e2e-1=succeeded", "unit-1=failed"}) {
		t.Errorf("PR 1 at aaa: %v", got)
	}

	seedRun(t, kc, ns, "lint-1", pr("1", "aaa", "lint"), "")
	eventually(t, "a new run shows", func() bool { return slices.Contains(names(t, indexed, ns, "pr=1,sha=aaa"), "lint-1=running") })
	if _, err := kube.SetState(context.Background(), kc, ns, "lint-1", kube.Failed); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a new state shows", func() bool { return slices.Contains(names(t, indexed, ns, "pr=1,sha=aaa"), "lint-1=failed") })
	if err := kc.Tekton.TektonV1().PipelineRuns(ns).Delete(context.Background(), "lint-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a deleted run goes", func() bool { return len(names(t, indexed, ns, "pr=1,sha=aaa")) == 2 })
	if _, err := indexed.Runs(context.Background(), ns, "pr=(("); err == nil {
		t.Error("a bad selector was accepted")
	}
}

// noWatchList is a lister-watcher the reflector must list with, as with
// an apiserver that cannot stream.
type noWatchList struct{ *cache.ListWatch }

func (noWatchList) IsWatchListSemanticsUnSupported() bool { return true }

// Without a watch-list, runs are listed a page at a time, each page
// slimmed: all of them, at one resourceVersion.
func TestPagedListSlimsEachPage(t *testing.T) {
	t.Parallel()
	kc := kube.Shared(t, "nightly")
	ns := kc.Namespace(t)
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		seedRun(t, kc, ns, name, map[string]string{"p": "unit"}, kube.Failed)
	}
	c := replica(t, kc, ns)
	var pages int
	lw := c.listWatch(ns)
	list := lw.ListWithContextFunc
	lw.ListWithContextFunc = func(ctx context.Context, o metav1.ListOptions) (kruntime.Object, error) {
		pages++
		if o.Limit != 2 {
			t.Errorf("page %d asks for %d runs, want 2", pages, o.Limit)
		}
		return list(ctx, o)
	}
	var pool labelPool
	got, err := (&pagedSlim{ListerWatcherWithContext: lw, pool: &pool, page: 2}).ListWithContext(context.Background(), metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	l := got.(*slimList)
	var listed []string
	for _, s := range l.Items {
		listed = append(listed, s.name+"="+string(StateOf(new(s.run()))))
	}
	if want := []string{"a=failed", "b=failed", "c=failed", "d=failed", "e=failed"}; !slices.Equal(listed, want) || pages != 3 || l.ResourceVersion == "" {
		t.Errorf("listed %v in %d pages at resourceVersion %q, want %v in 3", listed, pages, l.ResourceVersion, want)
	}
}

// Two replicas asked at once to retry the same failed run (two deliveries,
// or a /retest and a Slack rerun) make one rerun; a retry of that rerun
// once it failed makes the next attempt; a redelivery makes nothing.
func TestRetriesOfOneRunMakeOneRerun(t *testing.T) {
	t.Parallel()
	kc := kube.Shared(t, "nightly")
	ns := kc.Namespace(t)
	labels := map[string]string{"pr": "7", "p": "unit"}
	seedRun(t, kc, ns, "unit-7", labels, kube.Failed)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	a, b := replica(t, kc, ns), replica(t, kc, ns)
	wg.Go(func() { a.WatchRuns(ctx, ns) })
	eventually(t, "the index syncs", func() bool { return a.Indexed(ns) })

	latest := func(c *Cluster) *pipelinev1.PipelineRun {
		t.Helper()
		runs, err := c.Runs(context.Background(), ns, "pr=7")
		if err != nil {
			t.Fatal(err)
		}
		l := Latest(runs, "p")
		if len(l) != 1 {
			t.Fatalf("latest runs: %d", len(l))
		}
		return l[0]
	}
	type result struct {
		run     *pipelinev1.PipelineRun
		created bool
		err     error
	}
	results := make([]result, 2)
	start := make(chan struct{})
	var askers sync.WaitGroup
	for i, asker := range []struct {
		c  *Cluster
		by Requester
	}{{a, Requester{Name: "andrea", RequestID: "delivery-1"}}, {b, Requester{Name: "vincent", RequestID: "slack-1"}}} {
		orig := latest(asker.c) // from a's index, b's watch-cache list
		askers.Go(func() {
			<-start
			r, created, err := asker.c.Rerun(context.Background(), orig, asker.by)
			results[i] = result{r, created, err}
		})
	}
	close(start)
	askers.Wait()

	var made []string
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.created {
			made = append(made, r.run.Annotations[AnnotationRequester])
		}
		if r.run.Name != "unit-7-retry-1" {
			t.Errorf("rerun named %s, want unit-7-retry-1", r.run.Name)
		}
	}
	all, err := kc.Tekton.TektonV1().PipelineRuns(ns).List(context.Background(), metav1.ListOptions{LabelSelector: LabelRerunOf})
	if err != nil {
		t.Fatal(err)
	}
	if len(made) != 1 || len(all.Items) != 1 {
		t.Fatalf("%d created (%v), %d reruns in the cluster; want one", len(made), made, len(all.Items))
	}
	if by := all.Items[0].Annotations[AnnotationRequester]; by != made[0] || len(all.Items[0].Spec.Params) != 1 {
		t.Errorf("the rerun says requested by %q, made by %q; params %v", by, made[0], all.Items[0].Spec.Params)
	}
	for _, r := range results {
		if !r.created && r.run.Annotations[AnnotationRequester] != made[0] {
			t.Errorf("the other request was not told who made it: %v", r.run.Annotations)
		}
	}

	// The rerun fails too: retrying it makes attempt 2 of the same root.
	if _, err := kube.SetState(context.Background(), kc, ns, "unit-7-retry-1", kube.Failed); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the index sees the rerun fail", func() bool {
		l := latest(a)
		return l.Name == "unit-7-retry-1" && StateOf(l) == StateFailed
	})
	second, created, err := a.Rerun(context.Background(), latest(a), Requester{Name: "jerop", RequestID: "delivery-2"})
	if err != nil || !created || second.Name != "unit-7-retry-2" || second.Labels[LabelRerunOf] != "unit-7" || len(second.Spec.Params) != 1 {
		t.Fatalf("retrying the failed rerun: %v %v %+v", err, created, second.ObjectMeta)
	}
	// A redelivery of delivery-2, once its rerun is the latest run, finds it.
	eventually(t, "the index sees attempt 2", func() bool { return latest(a).Name == "unit-7-retry-2" })
	again, created, err := a.Rerun(context.Background(), latest(a), Requester{Name: "jerop", RequestID: "delivery-2"})
	if err != nil || created || again.Name != "unit-7-retry-2" {
		t.Errorf("redelivery: %v %v %s", err, created, again.Name)
	}
}
