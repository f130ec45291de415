package fake_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"knative.dev/pkg/apis"

	"tekbot/config"
	"tekbot/handlers"
	"tekbot/localcluster"
	"tekbot/tekton"
	"tekbot/test/fake"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// backend is a cluster of PipelineRuns as the middle layer's ports see it
// (handlers.Runs), with the controller's side the tests play.
type backend interface {
	handlers.Runs
	Update(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, error)
	UpdateStatus(ctx context.Context, cluster string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, error)
	SetState(ctx context.Context, cluster, namespace, name string, state localcluster.RunState) (*pipelinev1.PipelineRun, error)
	Watch(ctx context.Context, cluster, namespace string, opts metav1.ListOptions) (watch.Interface, error)
	// PutTaskRun stores a TaskRun with its status, as the controller would.
	PutTaskRun(ctx context.Context, cluster string, tr *pipelinev1.TaskRun) error
}

// fakeBackend is fake.Clusters as a backend.
type fakeBackend struct{ *fake.Clusters }

func (f fakeBackend) PutTaskRun(_ context.Context, cluster string, tr *pipelinev1.TaskRun) error {
	return f.Clusters.PutTaskRun(cluster, tr)
}

// The one cluster each backend has.
const clusterName = "ci"

// A contract test gets a backend and two empty namespaces on its cluster.
type contract func(t *testing.T, b backend, ns, other string)

var contracts = []struct {
	name string
	test contract
}{
	{"create once", createOnce},
	{"generated names", generatedNames},
	{"not found and unknown clusters", notFound},
	{"label selectors", labelSelectors},
	{"stale updates conflict", staleUpdates},
	{"status is its own subresource", statusSubresource},
	{"cancel and start", cancelAndStart},
	{"rerun", rerun},
	{"watch order", watchOrder},
	{"watch filters", watchFilters},
	{"failed tasks", failedTasks},
}

// TestContractFake runs the contract on the in-memory fake (short tier).
func TestContractFake(t *testing.T) {
	t.Parallel()
	for _, c := range contracts {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t, fakeBackend{fake.NewClusters(clusterName)}, "ns-a", "ns-b")
		})
	}
}

// TestContractApiserver runs the same contract on tekton.Clusters over a
// real apiserver with Tekton's CRDs (the apiserver tier).
func TestContractApiserver(t *testing.T) {
	t.Parallel()
	kc := kube.Shared(t, "contract")
	for _, c := range contracts {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tc, err := tekton.NewCluster(config.Cluster{Name: clusterName, Role: config.RoleNightly}, nil, kc.REST)
			if err != nil {
				t.Fatal(err)
			}
			c.test(t, &apiserver{Clusters: tekton.NewClusters(tc), kc: kc, tc: tc}, kc.Namespace(t), kc.Namespace(t))
		})
	}
}

var _ handlers.Runs = (*fake.Clusters)(nil)

// apiserver is the real adapter, with the controller's side written
// through the clientset as a test plays it.
type apiserver struct {
	*tekton.Clusters
	kc *kube.Cluster
	tc *tekton.Cluster
}

func (a *apiserver) Update(ctx context.Context, _ string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, error) {
	return a.tc.Tekton.TektonV1().PipelineRuns(pr.Namespace).Update(ctx, pr, metav1.UpdateOptions{})
}

func (a *apiserver) UpdateStatus(ctx context.Context, _ string, pr *pipelinev1.PipelineRun) (*pipelinev1.PipelineRun, error) {
	return a.tc.Tekton.TektonV1().PipelineRuns(pr.Namespace).UpdateStatus(ctx, pr, metav1.UpdateOptions{})
}

func (a *apiserver) SetState(ctx context.Context, _, namespace, name string, state localcluster.RunState) (*pipelinev1.PipelineRun, error) {
	return kube.SetState(ctx, a.kc, namespace, name, state)
}

func (a *apiserver) PutTaskRun(ctx context.Context, _ string, tr *pipelinev1.TaskRun) error {
	trs := a.tc.Tekton.TektonV1().TaskRuns(tr.Namespace)
	made, err := trs.Create(ctx, tr, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	made.Status = tr.Status
	_, err = trs.UpdateStatus(ctx, made, metav1.UpdateOptions{})
	return err
}

func (a *apiserver) Watch(ctx context.Context, _, namespace string, opts metav1.ListOptions) (watch.Interface, error) {
	return a.tc.Tekton.TektonV1().PipelineRuns(namespace).Watch(ctx, opts)
}

func run(ns, name string, labels map[string]string) *pipelinev1.PipelineRun {
	return &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "unit"}},
	}
}

func mustCreate(t *testing.T, b backend, pr *pipelinev1.PipelineRun) *pipelinev1.PipelineRun {
	t.Helper()
	made, created, err := b.CreateOnce(t.Context(), clusterName, pr)
	if err != nil || !created {
		t.Fatalf("CreateOnce(%s) = created %v, %v", pr.Name, created, err)
	}
	return made
}

func createOnce(t *testing.T, b backend, ns, _ string) {
	first := run(ns, "unit-1", map[string]string{"pr": "7"})
	first.Status.CompletionTime = &metav1.Time{Time: time.Now()}
	made := mustCreate(t, b, first)
	if made.ResourceVersion == "" || made.UID == "" || made.CreationTimestamp.IsZero() || made.Generation != 1 {
		t.Errorf("created run lacks what the apiserver sets: rv %q uid %q created %v generation %d", made.ResourceVersion, made.UID, made.CreationTimestamp, made.Generation)
	}
	if made.Status.CompletionTime != nil {
		t.Error("create kept the status; the status subresource drops it")
	}
	second := run(ns, "unit-1", map[string]string{"pr": "8"})
	got, created, err := b.CreateOnce(t.Context(), clusterName, second)
	switch {
	case err != nil:
		t.Fatalf("second CreateOnce: %v", err)
	case created:
		t.Error("second CreateOnce of one name created it again")
	case got.UID != made.UID || got.Labels["pr"] != "7" || got.ResourceVersion != made.ResourceVersion:
		t.Errorf("second CreateOnce returned %s pr=%s rv %s, want the first run (uid %s, pr=7, rv %s)", got.UID, got.Labels["pr"], got.ResourceVersion, made.UID, made.ResourceVersion)
	}
	stale := made.DeepCopy()
	if _, _, err := b.CreateOnce(t.Context(), clusterName, stale); err == nil {
		t.Error("CreateOnce of an object with a resourceVersion succeeded; the apiserver refuses it")
	}
}

func generatedNames(t *testing.T, b backend, ns, _ string) {
	pr := run(ns, "", nil)
	pr.GenerateName = "nightly-"
	made := mustCreate(t, b, pr)
	if !strings.HasPrefix(made.Name, "nightly-") || len(made.Name) <= len("nightly-") {
		t.Errorf("generated name %q, want nightly- and a suffix", made.Name)
	}
	got, err := b.Run(t.Context(), clusterName, ns, made.Name)
	if err != nil || got.UID != made.UID {
		t.Errorf("Run(%s) = %v, %v", made.Name, got, err)
	}
}

func notFound(t *testing.T, b backend, ns, _ string) {
	ctx := t.Context()
	if _, err := b.Run(ctx, clusterName, ns, "missing"); !apierrors.IsNotFound(err) {
		t.Errorf("Run of a missing run: %v, want NotFound", err)
	}
	missing := run(ns, "missing", nil)
	for name, err := range map[string]error{
		"Cancel": b.Cancel(ctx, clusterName, missing),
		"Start":  b.Start(ctx, clusterName, missing),
	} {
		if !apierrors.IsNotFound(err) {
			t.Errorf("%s of a missing run: %v, want NotFound", name, err)
		}
	}
	if _, err := b.Run(ctx, "elsewhere", ns, "x"); err == nil || apierrors.IsNotFound(err) {
		t.Errorf("Run on an unknown cluster: %v, want an error that is not NotFound", err)
	}
	if _, _, err := b.CreateOnce(ctx, "elsewhere", run(ns, "x", nil)); err == nil {
		t.Error("CreateOnce on an unknown cluster succeeded")
	}
	if u := b.URL("elsewhere", ns, "x"); u != "" {
		t.Errorf("URL on an unknown cluster = %q", u)
	}
}

// names lists runs' names.
func names(runs []pipelinev1.PipelineRun) []string {
	out := []string{}
	for _, r := range runs {
		out = append(out, r.Name)
	}
	return out
}

func labelSelectors(t *testing.T, b backend, ns, other string) {
	mustCreate(t, b, run(ns, "c-unit", map[string]string{"pr": "7", "sha": "abc", "p": "unit"}))
	mustCreate(t, b, run(ns, "a-lint", map[string]string{"pr": "7", "sha": "abc", "p": "lint"}))
	mustCreate(t, b, run(ns, "b-old", map[string]string{"pr": "7", "sha": "old", "p": "unit"}))
	mustCreate(t, b, run(ns, "d-nolabels", nil))
	mustCreate(t, b, run(other, "e-elsewhere", map[string]string{"pr": "7", "sha": "abc"}))
	tests := []struct {
		selector string
		want     []string // by name, as the apiserver lists
	}{
		{"", []string{"a-lint", "b-old", "c-unit", "d-nolabels"}},
		{"pr=7,sha=abc", []string{"a-lint", "c-unit"}},
		{"pr==7,p!=unit", []string{"a-lint"}},
		{"sha in (abc,old),p=unit", []string{"b-old", "c-unit"}},
		{"sha notin (abc)", []string{"b-old", "d-nolabels"}},
		{"!pr", []string{"d-nolabels"}},
		{"p", []string{"a-lint", "b-old", "c-unit"}},
		{"pr=8", []string{}},
	}
	for _, tt := range tests {
		var got []string
		// The list may be served a moment stale (the watch cache).
		poll.Until(t, "selector "+tt.selector+" matches "+strings.Join(tt.want, ","), 10*time.Second, func() bool {
			runs, err := b.Matching(t.Context(), clusterName, ns, tt.selector)
			if err != nil {
				t.Fatalf("Matching(%q): %v", tt.selector, err)
			}
			got = names(runs)
			return slices.Equal(got, tt.want)
		})
	}
	if _, err := b.Matching(t.Context(), clusterName, ns, "pr=(("); err == nil {
		t.Error("Matching with a broken selector succeeded")
	}
	var each []string
	poll.Until(t, "EachRun visits every run of the namespace", 10*time.Second, func() bool {
		each = nil
		if err := b.EachRun(t.Context(), clusterName, ns, func(pr *pipelinev1.PipelineRun) { each = append(each, pr.Name) }); err != nil {
			t.Fatal(err)
		}
		return slices.Equal(each, []string{"a-lint", "b-old", "c-unit", "d-nolabels"})
	})
}

func staleUpdates(t *testing.T, b backend, ns, _ string) {
	ctx := t.Context()
	made := mustCreate(t, b, run(ns, "unit-1", map[string]string{"pr": "7"}))
	fresh := made.DeepCopy()
	fresh.Labels["seen"] = "yes"
	updated, err := b.Update(ctx, clusterName, fresh)
	if err != nil {
		t.Fatalf("Update from a fresh read: %v", err)
	}
	if updated.ResourceVersion == made.ResourceVersion || updated.Labels["seen"] != "yes" {
		t.Errorf("Update kept rv %s (was %s), labels %v", updated.ResourceVersion, made.ResourceVersion, updated.Labels)
	}
	stale := made.DeepCopy()
	stale.Labels["seen"] = "no"
	if _, err := b.Update(ctx, clusterName, stale); !apierrors.IsConflict(err) {
		t.Errorf("Update from a stale read: %v, want Conflict", err)
	}
	if _, err := b.UpdateStatus(ctx, clusterName, stale); !apierrors.IsConflict(err) {
		t.Errorf("UpdateStatus from a stale read: %v, want Conflict", err)
	}
	blind := updated.DeepCopy()
	blind.ResourceVersion = ""
	if _, err := b.Update(ctx, clusterName, blind); err == nil {
		t.Error("Update without a resourceVersion succeeded; custom resources need one")
	}
	got, err := b.Run(ctx, clusterName, ns, "unit-1")
	if err != nil || got.Labels["seen"] != "yes" || got.ResourceVersion != updated.ResourceVersion {
		t.Errorf("after the refused writes: %v, %v; want the fresh update kept", got, err)
	}
}

func statusSubresource(t *testing.T, b backend, ns, _ string) {
	ctx := t.Context()
	mustCreate(t, b, run(ns, "unit-1", nil))
	failed, err := b.SetState(ctx, clusterName, ns, "unit-1", kube.Failed)
	if err != nil {
		t.Fatal(err)
	}
	if tekton.StateOf(failed) != tekton.StateFailed || failed.Status.CompletionTime == nil {
		t.Errorf("after SetState(Failed): %s, completed %v", tekton.StateOf(failed), failed.Status.CompletionTime)
	}
	// A main-resource update does not touch status; a status update does
	// not touch spec or labels.
	edit := failed.DeepCopy()
	edit.Status = pipelinev1.PipelineRunStatus{}
	edit.Labels = map[string]string{"l": "1"}
	edited, err := b.Update(ctx, clusterName, edit)
	if err != nil {
		t.Fatal(err)
	}
	if tekton.StateOf(edited) != tekton.StateFailed || edited.Labels["l"] != "1" {
		t.Errorf("Update: state %s labels %v, want failed with l=1", tekton.StateOf(edited), edited.Labels)
	}
	st := edited.DeepCopy()
	st.Labels["l"] = "2"
	st.Spec.PipelineRef.Name = "other"
	if err := localcluster.MarkState(st, kube.Succeeded, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := b.UpdateStatus(ctx, clusterName, st)
	if err != nil {
		t.Fatal(err)
	}
	if tekton.StateOf(got) != tekton.StateSucceeded || got.Labels["l"] != "1" || got.Spec.PipelineRef.Name != "unit" {
		t.Errorf("UpdateStatus: state %s, label l=%s, pipeline %s; want succeeded, l=1, unit", tekton.StateOf(got), got.Labels["l"], got.Spec.PipelineRef.Name)
	}
	if got.ResourceVersion == edited.ResourceVersion {
		t.Error("UpdateStatus kept the resourceVersion")
	}
}

func cancelAndStart(t *testing.T, b backend, ns, _ string) {
	ctx := t.Context()
	pending := run(ns, "pending-1", nil)
	pending.Spec.Status = pipelinev1.PipelineRunSpecStatusPending
	made := mustCreate(t, b, pending)
	if tekton.StateOf(made) != tekton.StatePending {
		t.Fatalf("created pending run is %s", tekton.StateOf(made))
	}
	if err := b.Start(ctx, clusterName, made); err != nil {
		t.Fatal(err)
	}
	started, err := b.Run(ctx, clusterName, ns, made.Name)
	if err != nil {
		t.Fatal(err)
	}
	if started.Spec.Status != "" || started.ResourceVersion == made.ResourceVersion {
		t.Errorf("after Start: spec.status %q rv %s (was %s)", started.Spec.Status, started.ResourceVersion, made.ResourceVersion)
	}
	// Cancel is a patch: a stale copy is no obstacle.
	if err := b.Cancel(ctx, clusterName, made); err != nil {
		t.Fatal(err)
	}
	cancelled, err := b.Run(ctx, clusterName, ns, made.Name)
	if err != nil {
		t.Fatal(err)
	}
	if !cancelled.IsCancelled() || cancelled.ResourceVersion == started.ResourceVersion {
		t.Errorf("after Cancel: spec.status %q, rv %s (was %s)", cancelled.Spec.Status, cancelled.ResourceVersion, started.ResourceVersion)
	}
}

func rerun(t *testing.T, b backend, ns, _ string) {
	ctx := t.Context()
	orig := run(ns, "unit-x", map[string]string{"pr": "7", "tekton.dev/pipeline": "unit"})
	orig.Spec.Params = pipelinev1.Params{{Name: "goVersion", Value: *pipelinev1.NewStructuredValues("1.25")}}
	mustCreate(t, b, orig)
	failed, err := b.SetState(ctx, clusterName, ns, "unit-x", kube.Failed)
	if err != nil {
		t.Fatal(err)
	}
	// A slim copy, as the run index gives: no spec, no resourceVersion.
	slim := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "unit-x", Labels: failed.Labels}}
	by := tekton.Requester{Name: "andrea", RequestID: "d-1"}
	made, created, err := b.Rerun(ctx, clusterName, slim, by, map[string]string{"goVersion": "1.26"})
	if err != nil || !created {
		t.Fatalf("Rerun = created %v, %v", created, err)
	}
	if made.Name != "unit-x-retry-1" || made.Labels[tekton.LabelRerunOf] != "unit-x" || made.Labels["tekton.dev/pipeline"] != "" ||
		made.Spec.PipelineRef.Name != "unit" || made.Spec.Params[0].Value.StringVal != "1.26" || tekton.StateOf(made) != tekton.StateRunning {
		t.Errorf("rerun %s of %s: labels %v, params %v, state %s", made.Name, made.Labels[tekton.LabelRerunOf], made.Labels, made.Spec.Params, tekton.StateOf(made))
	}
	again, created, err := b.Rerun(ctx, clusterName, failed, tekton.Requester{Name: "vincent", RequestID: "d-2"}, nil)
	if err != nil || created || again.UID != made.UID || again.Annotations[tekton.AnnotationRequester] != "andrea" {
		t.Errorf("second Rerun of the same run: created %v, %v, by %s; want andrea's rerun back", created, err, again.Annotations[tekton.AnnotationRequester])
	}
	// A name held by a run that is not the attempt is an error, not a rerun.
	mustCreate(t, b, run(ns, "lint-retry-1", nil))
	mustCreate(t, b, run(ns, "lint", nil))
	if _, _, err := b.Rerun(ctx, clusterName, run(ns, "lint", nil), by, nil); err == nil {
		t.Error("Rerun onto a name taken by another run succeeded")
	}
}

// mustWatch starts a watch that stops with the test.
func mustWatch(ctx context.Context, t *testing.T, b backend, ns string, opts metav1.ListOptions) watch.Interface {
	t.Helper()
	w, err := b.Watch(ctx, clusterName, ns, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return w
}

// next reads the next event, or fails at a deadline.
func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case e, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("the watch ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
		return watch.Event{}
	}
}

// seen is an event as the test checks it.
func seen(e watch.Event) string {
	pr, ok := e.Object.(*pipelinev1.PipelineRun)
	if !ok {
		return string(e.Type) + " of a " + e.Object.GetObjectKind().GroupVersionKind().Kind
	}
	out := string(e.Type) + " " + pr.Name + " " + string(tekton.StateOf(pr))
	if pr.Spec.Status != "" {
		out += " (spec " + string(pr.Spec.Status) + ")"
	}
	return out
}

func rv(t *testing.T, e watch.Event) int64 {
	t.Helper()
	pr, _ := e.Object.(*pipelinev1.PipelineRun)
	if pr == nil {
		t.Fatalf("event %s has no run", e.Type)
	}
	n, err := strconv.ParseInt(pr.ResourceVersion, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", pr.ResourceVersion, err)
	}
	return n
}

func watchOrder(t *testing.T, b backend, ns, _ string) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	a := mustCreate(t, b, run(ns, "a", nil))
	w := mustWatch(ctx, t, b, ns, metav1.ListOptions{ResourceVersion: a.ResourceVersion})
	mustCreate(t, b, run(ns, "b", nil))
	if _, err := b.SetState(ctx, clusterName, ns, "a", kube.Running); err != nil {
		t.Fatal(err)
	}
	if err := b.Cancel(ctx, clusterName, a); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetState(ctx, clusterName, ns, "b", kube.Failed); err != nil {
		t.Fatal(err)
	}
	want := []string{"ADDED b running", "MODIFIED a running", "MODIFIED a running (spec Cancelled)", "MODIFIED b failed"}
	var last int64
	for i, wantEvent := range want {
		e := next(t, w)
		if got := seen(e); got != wantEvent {
			t.Errorf("event %d = %q, want %q", i, got, wantEvent)
		}
		if n := rv(t, e); n <= last {
			t.Errorf("event %d at resourceVersion %d, after %d", i, n, last)
		} else {
			last = n
		}
	}
}

func watchFilters(t *testing.T, b backend, ns, other string) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	mustCreate(t, b, run(ns, "old-unit", map[string]string{"p": "unit"}))
	mustCreate(t, b, run(ns, "old-lint", map[string]string{"p": "lint"}))
	// Without a resourceVersion, a watch starts with what is there.
	w := mustWatch(ctx, t, b, ns, metav1.ListOptions{LabelSelector: "p=unit"})
	if got := seen(next(t, w)); got != "ADDED old-unit running" {
		t.Errorf("first event %q, want the existing unit run", got)
	}
	mustCreate(t, b, run(ns, "new-lint", map[string]string{"p": "lint"}))
	mustCreate(t, b, run(other, "new-unit-elsewhere", map[string]string{"p": "unit"}))
	mustCreate(t, b, run(ns, "new-unit", map[string]string{"p": "unit"}))
	if got := seen(next(t, w)); got != "ADDED new-unit running" {
		t.Errorf("next event %q, want only the new unit run of this namespace", got)
	}
	byName := mustWatch(ctx, t, b, ns, metav1.ListOptions{FieldSelector: "metadata.name=old-lint"})
	if got := seen(next(t, byName)); got != "ADDED old-lint running" {
		t.Errorf("field-selected watch began with %q", got)
	}
	if _, err := b.SetState(ctx, clusterName, ns, "new-lint", kube.Failed); err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetState(ctx, clusterName, ns, "old-lint", kube.Succeeded); err != nil {
		t.Fatal(err)
	}
	if got := seen(next(t, byName)); got != "MODIFIED old-lint succeeded" {
		t.Errorf("field-selected watch then saw %q", got)
	}
}

func failedTasks(t *testing.T, b backend, ns, _ string) {
	ctx := t.Context()
	for _, tr := range []struct {
		name   string
		status corev1.ConditionStatus
	}{{"unit-x-build", corev1.ConditionTrue}, {"unit-x-test", corev1.ConditionFalse}, {"unit-x-lint", corev1.ConditionUnknown}} {
		run := &pipelinev1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tr.name},
			Spec:       pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: "t"}},
		}
		run.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: tr.status, Reason: "x"})
		if err := b.PutTaskRun(ctx, clusterName, run); err != nil {
			t.Fatal(err)
		}
	}
	child := func(name, task string) pipelinev1.ChildStatusReference {
		return pipelinev1.ChildStatusReference{TypeMeta: runtime.TypeMeta{Kind: "TaskRun"}, Name: name, PipelineTaskName: task}
	}
	got, err := b.FailedTasks(ctx, clusterName, ns, []pipelinev1.ChildStatusReference{child("unit-x-build", "build"), child("unit-x-test", "test"), child("unit-x-lint", "lint")})
	if err != nil || !slices.Equal(got, []string{"test"}) {
		t.Errorf("FailedTasks = %v, %v; want [test]", got, err)
	}
	if _, err := b.FailedTasks(ctx, clusterName, ns, []pipelinev1.ChildStatusReference{child("missing", "m")}); !apierrors.IsNotFound(err) {
		t.Errorf("FailedTasks of a missing TaskRun: %v, want NotFound", err)
	}
}
