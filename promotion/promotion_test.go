package promotion

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
	"tekbot/test/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

func TestCheckVersion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v    string
		kind Kind
		err  string
	}{
		{"v20261124-abc1234", Nightly, ""},
		{"v20261124-abcdef0123", Nightly, ""},
		{"v0.60.1", Release, ""},
		{"v1.0.0-rc.1", Release, ""},
		{"v20261301-abc1234", "", "20261301 is not a date"},
		{"v20260230-abc1234", "", "20260230 is not a date"},
		{"v20261124-xyz", "", "after the date comes the commit"},
		{"v20261124-ABC1234", "", "after the date comes the commit"},
		{"v20261124-abc123", "", "after the date comes the commit"},
		{"v20261124-abcdef01234", "", "after the date comes the commit"},
		{"v1.0.0;rm", "", `"v1.0.0;rm" is not a version`},
		{"$(id)", "", `"$(id)" is not a version`},
		{"`id`", "", "is not a version"},
		{"v1.0.0\n", "", `"v1.0.0\n" is not a version`},
		{"v01.0.0", "", "is not a version"},
		{"v1.0", "", "is not a version"},
		{"1.0.0", "", "is not a version"},
		{"v1.0.0+build", "", "is not a version"},
		{"v1.0.0-", "", "is not a version"},
		{"\u04751.0.0", "", `"\u04751.0.0" is not a version`},
		{"v1.0.0-" + strings.Repeat("a", 60), "", "is not a version"},
		{"", "", `"" is not a version`},
	}
	for _, tt := range tests {
		kind, err := CheckVersion(tt.v)
		var r *Refusal
		switch {
		case tt.err == "" && (err != nil || kind != tt.kind):
			t.Errorf("CheckVersion(%q) = %s, %v; want %s", tt.v, kind, err, tt.kind)
		case tt.err != "" && (!errors.As(err, &r) || !strings.Contains(r.Msg, tt.err)):
			t.Errorf("CheckVersion(%q) = %v; want a refusal containing %q", tt.v, err, tt.err)
		}
	}
}

func TestPinVersion(t *testing.T) {
	t.Parallel()
	const file = "a: https://x/previous/v1.0.0/release.yaml\nb: https://x/previous/v1.0.0/interceptors.yaml\nc: v1.0.0\n"
	tests := []struct {
		name, pattern, want, err string
	}{
		{"the group, at every match", `previous/(v[^/]+)/`, strings.ReplaceAll(file, "previous/v1.0.0", "previous/v2.0.0"), ""},
		{"the whole match without a group", `c: \S+`, strings.Replace(file, "c: v1.0.0", "v2.0.0", 1), ""},
		{"no match", `nothing-here`, "", "matches nothing"},
	}
	for _, tt := range tests {
		got, err := pinVersion([]byte(file), regexp.MustCompile(tt.pattern), "v2.0.0")
		if string(got) != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s: %q, %v; want %q (error %q)", tt.name, got, err, tt.want, tt.err)
		}
	}
}

// posts counts what the Engine posts.
type posts struct {
	mu    sync.Mutex
	texts []string
}

func (p *posts) Post(_ context.Context, th Thread, r bot.Reply, _ *bot.Request) (Thread, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.texts = append(p.texts, r.Text)
	th.TS = "1.0"
	return th, nil
}

// engine is an Engine over one real apiserver, whose test namespace holds
// the record and the deploys.
func engine(t *testing.T) (*Engine, *kube.Cluster, string) {
	t.Helper()
	kc := kube.Shared(t, "production")
	ns := kc.Namespace(t)
	cc := config.Cluster{Name: "prod", Role: config.RoleProduction, Namespace: ns}
	c, err := tekton.NewCluster(cc, nil, kc.REST)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Clusters: []config.Cluster{cc}, State: config.State{Cluster: "prod", Namespace: ns}}
	return &Engine{Config: cfg, Clusters: tekton.NewClusters(c), Notifier: &posts{}}, kc, ns
}

// TestStartIsExclusive: two promotions of one project to one environment
// claim it at the same moment (two replicas, two approvers); the record's
// optimistic concurrency lets exactly one start.
func TestStartIsExclusive(t *testing.T) {
	t.Parallel()
	e, _, _ := engine(t)
	ctx := context.Background()
	ids := []string{"first", "second"}
	for _, id := range ids {
		if err := e.update(ctx, func(b *Book) error {
			b.put(&Promotion{ID: id, Project: "pipeline", Environment: "prod", Version: "v1.0.0", State: Asked, Asked: e.now()})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Go(func() { _, _, errs[i] = e.transition(ctx, id, []State{Asked}, Running, nil) })
	}
	wg.Wait()
	var refusal *Refusal
	started, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			started++
		case errors.As(err, &refusal) && strings.Contains(refusal.Msg, "already being promoted"):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	book, err := e.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if started != 1 || refused != 1 || len(book.running("pipeline", "prod")) != 1 {
		t.Errorf("%d started, %d refused, %d running; want one each", started, refused, len(book.running("pipeline", "prod")))
	}
}

// TestWatchersReportOnce: two watchers of one deploy (replicas resuming
// after a restart) record and post its end once.
func TestWatchersReportOnce(t *testing.T) {
	t.Parallel()
	e, kc, ns := engine(t)
	ctx := context.Background()
	p := &Promotion{ID: "w1", Project: "pipeline", Environment: "prod", Version: "v1.0.1", From: "v1.0.0", State: Running,
		Asked: e.now(), Started: e.now(), Cluster: "prod", Namespace: ns}
	p.PipelineRun = runName(p)
	if err := e.update(ctx, func(b *Book) error { b.put(p); return nil }); err != nil {
		t.Fatal(err)
	}
	run := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: p.PipelineRun},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "install-tekton-release"}},
	}
	if _, err := kc.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, run, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if err := e.Watch(ctx, p.ID); err != nil {
				t.Error(err)
			}
		})
	}
	if _, err := kube.SetState(ctx, kc, ns, p.PipelineRun, kube.Succeeded); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	texts := e.Notifier.(*posts).texts
	book, err := e.read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != 1 || !strings.Contains(texts[0], "`v1.0.1` is on *prod*") || book.find("w1").State != Succeeded {
		t.Errorf("posts %q, state %s", texts, book.find("w1").State)
	}
	if d := book.Deployed("pipeline", "prod"); d == nil || d.Version != "v1.0.1" {
		t.Errorf("deployed = %+v", d)
	}
}

// TestCreateOwnTakesOnlyItsOwnRun: the run under a promotion's name is
// taken as its own only when tekbot made it for that promotion; two
// replicas creating it at once make one run and both take it.
func TestCreateOwnTakesOnlyItsOwnRun(t *testing.T) {
	t.Parallel()
	e, kc, ns := engine(t)
	env := &config.Environment{Name: "prod", Namespace: ns, PipelineRef: "install-tekton-release",
		Params:           map[string]string{"version": "{{.Version}}"},
		SecretWorkspaces: map[string]string{"targetCluster": "prod-kubeconfig"}}
	c := e.Clusters.Get("prod")
	ctx := context.Background()
	tests := []struct {
		name    string
		before  func(pr *pipelinev1.PipelineRun) // what is there first; nil: nothing
		foreign bool
	}{
		{"nothing there", nil, false},
		{"its own, from an earlier attempt", func(*pipelinev1.PipelineRun) {}, false},
		{"made for another request", func(pr *pipelinev1.PipelineRun) { pr.Annotations[tekton.AnnotationRequestID] = "other" }, true},
		{"another version", func(pr *pipelinev1.PipelineRun) { pr.Spec.Params[0].Value.StringVal = "v0.0.1" }, true},
		{"an inline pipeline", func(pr *pipelinev1.PipelineRun) {
			pr.Spec.PipelineRef, pr.Spec.PipelineSpec = nil, &pipelinev1.PipelineSpec{Tasks: []pipelinev1.PipelineTask{{Name: "x", TaskRef: &pipelinev1.TaskRef{Name: "x"}}}}
		}, true},
		{"held pending", func(pr *pipelinev1.PipelineRun) { pr.Spec.Status = pipelinev1.PipelineRunSpecStatusPending }, true},
		{"another service account", func(pr *pipelinev1.PipelineRun) { pr.Spec.TaskRunTemplate.ServiceAccountName = "admin" }, true},
	}
	for i, tt := range tests {
		p := &Promotion{ID: fmt.Sprintf("c%d", i), Project: "pipeline", Environment: "prod", Version: "v1.0.1", RequestedBy: "andrea", Nonce: "n"}
		p.PipelineRun = runName(p)
		run, err := deployRun(env, p)
		if err != nil {
			t.Fatal(err)
		}
		if tt.before != nil {
			first := run.DeepCopy()
			tt.before(first)
			if _, err := kc.Tekton.TektonV1().PipelineRuns(ns).Create(ctx, first, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		created, errs := make([]bool, 2), make([]error, 2)
		for r := range 2 {
			wg.Go(func() { created[r], errs[r] = createOwn(ctx, c, run.DeepCopy()) })
		}
		wg.Wait()
		var foreign *foreignError
		for r := range 2 {
			if got := errors.As(errs[r], &foreign); got != tt.foreign || (!got && errs[r] != nil) {
				t.Errorf("%s: replica %d: %v; want foreign %v", tt.name, r, errs[r], tt.foreign)
			}
		}
		made, want := 0, 1
		if tt.before != nil {
			want = 0
		}
		for _, c := range created {
			if c {
				made++
			}
		}
		if made != want {
			t.Errorf("%s: %d replicas created it, want %d", tt.name, made, want)
		}
	}
}
