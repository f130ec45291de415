package alerts_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"

	"tekbot/captain/alerts"
	"tekbot/config"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/kube"
	"tekbot/test/poll"
	"tekbot/test/slackfake"
	"tekbot/transport/slack"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

const (
	channel = "C0CAPTAIN"
	watched = "tekbot.dev/alerts=nightly"
)

// clock is the fake clock the replicas share.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

// chat is the Slack transport's poster seen as alerts.Chat.
type chat struct{ p *slack.Poster }

func (c chat) PostThread(ctx context.Context, ch, thread, text string) (string, error) {
	return c.p.PostMessageTS(ctx, ch, thread, slack.Message{Text: text, Public: true})
}

func (c chat) Update(ctx context.Context, ch, ts, text string) error {
	return c.p.UpdateMessage(ctx, ch, ts, slack.Message{Text: text, Public: true})
}

func (c chat) Post(ctx context.Context, ch, text string) error {
	_, err := c.PostThread(ctx, ch, "", text)
	return err
}

type fixture struct {
	kube    *kube.Cluster
	ns      string
	cluster *tekton.Cluster
	slack   *slackfake.Server
	clock   *clock
	rot     schedule.Rotation
}

func rome() *time.Location {
	loc, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		panic(err)
	}
	return loc
}

// at is a time on a day of November 2026 in Rome.
func at(day, hour, minute int) time.Time { return time.Date(2026, 11, day, hour, minute, 0, 0, rome()) }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{kube: kube.Shared(t, "alerts"), slack: slackfake.New(), clock: &clock{now: at(24, 10, 0)}}
	t.Cleanup(f.slack.Stop)
	f.ns = f.kube.Namespace(t)
	var err error
	f.cluster, err = tekton.NewCluster(config.Cluster{Name: "nightly", Role: config.RoleNightly, Namespace: f.ns},
		&config.Dashboard{PipelineRunURL: "https://dash.example/{{.Namespace}}/{{.Name}}"}, f.kube.REST)
	if err != nil {
		t.Fatal(err)
	}
	f.rot = schedule.Rotation{
		Roster: []string{"andrea", "vincent", "jerop"}, Location: rome(),
		Handoff: schedule.TimeOfDay{Hour: 9}, Start: schedule.NewDate(2026, 11, 2), StartPerson: "andrea",
	}
	return f
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (f *fixture) poster() *slack.Poster {
	p := slack.NewPoster(slackapi.New("xoxb-test", slackapi.OptionAPIURL(f.slack.APIURL())), quiet())
	p.Interval = time.Millisecond
	return p
}

// replica starts one tekbot's alerter, changed by opts; stop ends it as
// a restart would.
func (f *fixture) replica(t *testing.T, opts ...func(*alerts.Alerter)) (stop func()) {
	t.Helper()
	a := &alerts.Alerter{
		Clusters: tekton.NewClusters(f.cluster),
		Watch:    []config.AlertWatch{{Cluster: "nightly", Namespace: f.ns, Selector: watched, Pipelines: []string{"release", "canary"}}},
		Rotation: func(context.Context) (schedule.Rotation, error) { return f.rot, nil },
		Mention:  func(p string) string { return "<@" + strings.ToUpper(p) + ">" },
		Chat:     chat{f.poster()}, Channel: channel,
		Days:   &alerts.Days{ConfigMaps: state.ConfigMapsIn(f.kube.Kube, f.ns)},
		Claims: &state.Claims{ConfigMaps: state.ConfigMapsIn(f.kube.Kube, f.ns)},
		Log:    quiet(), Now: f.clock.Now,
	}
	for _, o := range opts {
		o(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("alerter: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	return stop
}

// finish creates a run of pipeline that ended in state at the given time,
// as the Tekton controller reports it; a failed run has a failed TaskRun.
func (f *fixture) finish(t *testing.T, name, pipeline string, succeeded bool, end time.Time) {
	t.Helper()
	if succeeded {
		f.end(t, name, pipeline, end, corev1.ConditionTrue, "Tasks Completed: 1 (Failed: 0, Cancelled 0), Skipped: 0", "")
		return
	}
	f.end(t, name, pipeline, end, corev1.ConditionFalse, "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0", `"step-build" exited with code 1`)
}

// end creates a run of pipeline that ended at the given time with the
// status and message the controller (or whoever writes its status) gives
// it; a failed TaskRun with taskMessage is its child unless that is empty.
func (f *fixture) end(t *testing.T, name, pipeline string, end time.Time, status corev1.ConditionStatus, message, taskMessage string) {
	t.Helper()
	ctx := context.Background()
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"tekbot.dev/alerts": "nightly"}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: pipeline}},
	}
	pr, err := f.kube.Tekton.TektonV1().PipelineRuns(f.ns).Create(ctx, pr, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cond := apis.Condition{Type: apis.ConditionSucceeded, Status: status, Reason: "Succeeded", Message: message}
	if status == corev1.ConditionFalse {
		cond.Reason = "Failed"
	}
	if taskMessage != "" {
		task := name + "-build"
		tr := &pipelinev1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Name: task, Labels: map[string]string{"tekton.dev/pipelineRun": name, "tekton.dev/pipelineTask": "build"}},
			Spec:       pipelinev1.TaskRunSpec{TaskRef: &pipelinev1.TaskRef{Name: "build"}},
		}
		tr, err := f.kube.Tekton.TektonV1().TaskRuns(f.ns).Create(ctx, tr, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tr.Status.SetCondition(&apis.Condition{Type: apis.ConditionSucceeded, Status: corev1.ConditionFalse, Reason: "Failed", Message: taskMessage})
		if _, err := f.kube.Tekton.TektonV1().TaskRuns(f.ns).UpdateStatus(ctx, tr, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		pr.Status.ChildReferences = []pipelinev1.ChildStatusReference{{Name: task, PipelineTaskName: "build"}}
		pr.Status.ChildReferences[0].Kind = "TaskRun"
	}
	start, stop := metav1.NewTime(end.Add(-10*time.Minute)), metav1.NewTime(end)
	pr.Status.StartTime, pr.Status.CompletionTime = &start, &stop
	pr.Status.SetCondition(&cond)
	if _, err := f.kube.Tekton.TektonV1().PipelineRuns(f.ns).UpdateStatus(ctx, pr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds or 30 seconds pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, what, 30*time.Second, cond)
}

func dump(ms []slackfake.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "[%s thread=%s edits=%d] %s\n", m.TS, m.ThreadTS, m.Edits, m.Text)
	}
	return b.String()
}

// TestFailureAlertsLifecycle follows a duty day (Tue 24 November 2026) on
// a real apiserver, with a fake
// clock and two replicas watching: the first failure starts the day's
// thread and posts one line mentioning the captain; three more failures
// of the same pipeline edit that line; a success posts green again; a
// restart re-lists every run and posts nothing again; the next duty day
// starts a new thread.
func TestFailureAlertsLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	captain := "<@" + strings.ToUpper(f.rot.Day(schedule.NewDate(2026, 11, 24)).Person) + ">"
	stopA, stopB := f.replica(t), f.replica(t)

	f.finish(t, "release-1", "release", false, at(24, 10, 5))
	f.finish(t, "unwatched-1", "docs", false, at(24, 10, 6)) // not in pipelines
	eventually(t, "the thread and the first alert", func() bool { return len(f.slack.Messages()) >= 2 })
	msgs := f.slack.Messages()
	root, line := msgs[0], msgs[1]
	switch {
	case root.ThreadTS != "" || !strings.Contains(root.Text, captain) || !strings.Contains(root.Text, "2026-11-24"):
		t.Fatalf("the thread's first message should name the day and the captain %s:\n%s", captain, dump(msgs))
	case line.ThreadTS != root.TS:
		t.Fatalf("the alert is not in the day's thread:\n%s", dump(msgs))
	}
	for _, want := range []string{captain, "`release`", "failed once", "`build` (`release-1-build`) `Failed: ", "exited with code 1", "https://dash.example/" + f.ns + "/release-1"} {
		if !strings.Contains(line.Text, want) {
			t.Errorf("alert lacks %q:\n%s", want, line.Text)
		}
	}

	for i := 2; i <= 4; i++ {
		f.finish(t, fmt.Sprintf("release-%d", i), "release", false, at(24, 10, 10*i))
	}
	eventually(t, "the line to count four failures", func() bool {
		ms := f.slack.Messages()
		return len(ms) >= 2 && strings.Contains(ms[1].Text, "failed 4 times")
	})
	if msgs := f.slack.Messages(); len(msgs) != 2 || msgs[1].Edits != 3 || !strings.Contains(msgs[1].Text, "last `release-4`") {
		t.Fatalf("three more failures should edit the one line three times:\n%s", dump(msgs))
	}

	f.finish(t, "release-5", "release", true, at(24, 11, 0))
	eventually(t, "green again", func() bool { return len(f.slack.Messages()) >= 3 })
	msgs = f.slack.Messages()
	if g := msgs[2]; g.ThreadTS != root.TS || !strings.Contains(g.Text, "green again") || !strings.Contains(g.Text, "after 4 failed today") {
		t.Fatalf("the success should post green again in the thread:\n%s", dump(msgs))
	}
	eventually(t, "the line to say green", func() bool { return strings.Contains(f.slack.Messages()[1].Text, "green again since 11:00") })

	// A restart: both replicas stop, a new one lists every run again.
	stopA()
	stopB()
	f.replica(t)
	// The new replica handles runs in key order, listed or watched, so
	// once it alerts for this run (named to sort last) it has seen every
	// earlier one.
	f.finish(t, "z-canary-1", "canary", false, at(24, 11, 30))
	eventually(t, "the canary's alert", func() bool { return len(f.slack.Messages()) >= 4 })
	msgs = f.slack.Messages()
	if len(msgs) != 4 || !strings.Contains(msgs[3].Text, "`canary`") || msgs[3].ThreadTS != root.TS || msgs[1].Edits != 4 {
		t.Fatalf("after a restart only the new failure should be posted:\n%s", dump(msgs))
	}

	// The next duty day starts at Wednesday's handoff, with a thread of
	// its own; Tuesday's runs are not alerted again.
	f.clock.Set(at(25, 9, 30))
	f.finish(t, "release-6", "release", false, at(25, 9, 20))
	eventually(t, "Wednesday's thread", func() bool { return len(f.slack.Messages()) >= 6 })
	msgs = f.slack.Messages()
	if len(msgs) != 6 || msgs[4].ThreadTS != "" || !strings.Contains(msgs[4].Text, "2026-11-25") || msgs[5].ThreadTS != msgs[4].TS || !strings.Contains(msgs[5].Text, "failed once") {
		t.Fatalf("a new day should start a new thread with its own count:\n%s", dump(msgs))
	}
	t.Logf("what Slack saw:\n%s", dump(msgs))
	day, err := (&alerts.Days{ConfigMaps: state.ConfigMapsIn(f.kube.Kube, f.ns)}).Get(context.Background(), schedule.NewDate(2026, 11, 24))
	if err != nil {
		t.Fatal(err)
	}
	if l := day.Lines["nightly/release"]; l == nil || l.Failures != 4 || !l.Green || day.Lines["nightly/canary"] == nil {
		t.Fatalf("Tuesday's record should hold release (4 failures, green) and canary: %+v", day)
	}
}

// versions is a promotion record with fixed contents.
type versions map[string]string

func (v versions) Promoted(context.Context) (map[string]string, error) { return v, nil }

// TestDriftPostedOnceAcrossReplicas: a pipelines-info ConfigMap that
// reports another version than the last promotion is posted to the
// releases channel once, by two replicas ticking; a further change is
// news again; an environment running what was promoted is not drift.
func TestDriftPostedOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	cms := f.kube.Kube.CoreV1().ConfigMaps(f.ns)
	info := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pipelines-info"}, Data: map[string]string{"version": "v1.14.0"}}
	if _, err := cms.Create(ctx, info, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	observer := &alerts.Observer{
		Environments: []config.Environment{{Name: "dogfooding", Cluster: "nightly", InfoNamespace: f.ns}},
		Clusters:     tekton.NewClusters(f.cluster),
		Promoted:     versions{"pipeline/dogfooding": "v1.15.0", "triggers/dogfooding": "v0.33.0"},
	}
	replica := func() *alerts.DriftWatch {
		return &alerts.DriftWatch{Observer: observer, Poster: chat{f.poster()}, Channel: "C0RELEASES",
			Claims: &state.Claims{ConfigMaps: state.ConfigMapsIn(f.kube.Kube, f.ns)}, Log: quiet()}
	}
	a, b := replica(), replica()
	tick := func(want int) {
		t.Helper()
		for _, r := range []*alerts.DriftWatch{a, b, a} {
			if err := r.Tick(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.slack.Messages(); len(got) != want {
			t.Fatalf("%d posts, want %d:\n%s", len(got), want, dump(got))
		}
	}
	tick(2)
	msgs := f.slack.Messages()
	for _, want := range []string{"drift: pipeline on dogfooding: cluster reports `v1.14.0`, tekbot last promoted `v1.15.0`", "drift: triggers on dogfooding: cluster reports it not installed"} {
		if !strings.Contains(dump(msgs), want) {
			t.Errorf("posts lack %q:\n%s", want, dump(msgs))
		}
	}
	info.Data["version"] = "v1.15.0" // someone fixed it: no drift, nothing posted
	if _, err := cms.Update(ctx, info, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	tick(2)
	info.Data["version"] = "v1.13.2" // a rollback from elsewhere
	if _, err := cms.Update(ctx, info, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	tick(3)
	if m := f.slack.Messages()[2]; m.Channel != "C0RELEASES" || !strings.Contains(m.Text, "`v1.13.2`") {
		t.Errorf("the rollback's post: %+v", m)
	}
}

// hostile is cluster text written to make tekbot broadcast, link and
// format: whoever creates a run or writes its status or a ConfigMap writes
// what an alert repeats.
const hostile = "<!channel> <https://evil.example|click> *bold* <@U0CAPTAIN>"

// assertShown checks a message as Slack received it: the hostile text is
// there, as code, with nothing of it live.
func assertShown(t *testing.T, text string) {
	t.Helper()
	for _, live := range []string{"<!channel>", "<https://evil.example|click>", "<@U0CAPTAIN>"} {
		if strings.Contains(text, live) {
			t.Errorf("%q reached Slack live:\n%s", live, text)
		}
	}
	if shown := "&lt;!channel&gt; &lt;https://evil.example|click&gt; *bold* &lt;@\u2060U0CAPTAIN&gt;"; !strings.Contains(text, shown) {
		t.Errorf("the cluster's text is not shown as %s:\n%s", shown, text)
	}
	if outside := codeSpans.ReplaceAllString(text, ""); strings.Contains(outside, "bold") || strings.Contains(outside, "evil") {
		t.Errorf("the cluster's text is not all inside code:\n%s", text)
	}
}

var codeSpans = regexp.MustCompile("`[^`]*`")

// TestClusterTextIsShownNotSent: a failed run whose condition message
// (its TaskRun's, or its own when no task ran) says "<!channel>", a
// disguised link and *bold* is alerted with that text shown as code, on
// the wire to Slack.
func TestClusterTextIsShownNotSent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                 string
		message, taskMessage string
	}{
		{"the TaskRun's message", "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0", hostile},
		{"the PipelineRun's message, no task ran", hostile, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.replica(t)
			f.end(t, "release-1", "release", at(24, 10, 5), corev1.ConditionFalse, tt.message, tt.taskMessage)
			eventually(t, "the alert", func() bool { return len(f.slack.Messages()) >= 2 })
			assertShown(t, f.slack.Messages()[1].Text)
		})
	}
}

// TestDriftVersionIsShownNotSent: the version a pipelines-info ConfigMap
// reports is whatever its editor wrote; the drift post shows it as code.
func TestDriftVersionIsShownNotSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	info := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pipelines-info"}, Data: map[string]string{"version": hostile}}
	if _, err := f.kube.Kube.CoreV1().ConfigMaps(f.ns).Create(ctx, info, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := &alerts.DriftWatch{
		Observer: &alerts.Observer{
			Environments: []config.Environment{{Name: "dogfooding", Cluster: "nightly", InfoNamespace: f.ns}},
			Clusters:     tekton.NewClusters(f.cluster),
			Promoted:     versions{"pipeline/dogfooding": "v1.15.0"},
		},
		Poster: chat{f.poster()}, Channel: "C0RELEASES", Claims: &state.Claims{ConfigMaps: state.ConfigMapsIn(f.kube.Kube, f.ns)}, Log: quiet(),
	}
	if err := d.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := f.slack.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d posts, want the drift:\n%s", len(msgs), dump(msgs))
	}
	assertShown(t, msgs[0].Text)
}
