package handoff_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	slackapi "github.com/slack-go/slack"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/captain/handoff"
	"tekbot/config"
	"tekbot/schedule"
	"tekbot/state"
	"tekbot/tekton"
	"tekbot/test/fake"
	"tekbot/test/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// slackAPI speaks chat.postMessage as Slack does and records each message.
type slackAPI struct {
	mu       sync.Mutex
	messages []string
	failNext int
}

func (s *slackAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/chat.postMessage" || r.ParseForm() != nil {
		http.Error(w, "unexpected "+r.URL.Path, http.StatusNotFound)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if s.failNext > 0 {
		s.failNext--
		json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "channel_not_found"})
		return
	}
	s.messages = append(s.messages, r.PostForm.Get("text"))
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": r.PostForm.Get("channel"), "ts": fmt.Sprintf("1700000000.%06d", len(s.messages))})
}

func (s *slackAPI) sent() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.messages...)
}

type slackPoster struct{ client *slackapi.Client }

func (p slackPoster) Post(ctx context.Context, channel, text string) error {
	_, _, err := p.client.PostMessageContext(ctx, channel, slackapi.MsgOptionText(text, false))
	return err
}

// fixture is the handoff's world. Its state (claims, rotation changes) is
// the in-memory ConfigMaps, which state's contract suite holds to the
// apiserver's behaviour; nothing failed unless withCluster adds a real
// apiserver whose PipelineRuns fail.
type fixture struct {
	api      *slackAPI
	state    *fake.ConfigMaps
	failures handoff.Failures
	rot      schedule.Rotation
}

// noFailures is a world where nothing failed.
type noFailures struct{}

func (noFailures) FailedSince(context.Context, time.Time) ([]tekton.Failure, error) { return nil, nil }

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{api: &slackAPI{}, state: fake.NewConfigMaps("tekbot"), failures: noFailures{}}
	rome, _ := time.LoadLocation("Europe/Rome")
	f.rot = schedule.Rotation{
		Roster: []string{"andrea", "vincent", "jerop"}, Location: rome,
		Handoff: schedule.TimeOfDay{Hour: 9}, Start: schedule.NewDate(2026, 11, 2), StartPerson: "andrea",
		Holidays: map[schedule.Date]string{schedule.NewDate(2026, 11, 25): "team offsite"},
	}
	return f
}

// withCluster makes the failures those of a real apiserver's PipelineRuns
// (cluster "nightly", namespace ns), for the tests whose point is reading
// them.
func (f *fixture) withCluster(t *testing.T) (c *kube.Cluster, ns string, clusters *tekton.Clusters) {
	t.Helper()
	c = kube.Shared(t, "nightly")
	ns = c.Namespace(t)
	cl, err := tekton.NewCluster(config.Cluster{Name: "nightly", Role: config.RoleNightly, Namespace: ns},
		&config.Dashboard{PipelineRunURL: "https://dash.example/{{.Namespace}}/{{.Name}}"}, c.REST)
	if err != nil {
		t.Fatal(err)
	}
	clusters = tekton.NewClusters(cl)
	f.failures = clusters
	return c, ns, clusters
}

// replica is one tekbot instance's handoff job; all share the state.
func (f *fixture) replica(t *testing.T) *handoff.Job {
	t.Helper()
	srv := httptest.NewServer(f.api)
	t.Cleanup(srv.Close)
	return &handoff.Job{
		Rotation: f.rot, Channel: "C01CAPTAIN", RunbookURL: "https://runbook.example", LogURL: "https://log.example",
		Mention:  func(p string) string { return "@" + p },
		Poster:   slackPoster{slackapi.New("xoxb-test", slackapi.OptionAPIURL(srv.URL+"/"))},
		Failures: f.failures,
		Claims:   &state.Claims{ConfigMaps: f.state},
		Changes:  &state.RotationState{ConfigMaps: f.state},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func at(day, hour, minute int) time.Time {
	rome, _ := time.LoadLocation("Europe/Rome")
	return time.Date(2026, 11, day, hour, minute, 0, 0, rome)
}

func tick(t *testing.T, j *handoff.Job, now time.Time) {
	t.Helper()
	if err := j.Tick(context.Background(), now); err != nil {
		t.Fatalf("tick at %s: %v", now, err)
	}
}

// TestOneHandoffPerDayAcrossReplicas simulates Mon 23 to Thu 26 November
// 2026 with a fake clock: two replicas tick every 30 minutes; the first is
// killed after Monday; a third starts on Thursday after the handoff time.
func TestOneHandoffPerDayAcrossReplicas(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a, b := f.replica(t), f.replica(t)
	for now := at(23, 0, 0); now.Before(at(26, 0, 0)); now = now.Add(30 * time.Minute) {
		var wg sync.WaitGroup
		for _, r := range []*handoff.Job{a, b} {
			if r == a && now.After(at(23, 23, 59)) {
				continue // the first replica died after Monday
			}
			wg.Go(func() { tick(t, r, now) })
		}
		wg.Wait()
		if want := map[bool]int{true: 0, false: 1}[now.Before(at(23, 9, 0))]; now.Day() == 23 && len(f.api.sent()) != want {
			t.Fatalf("at %s: %d messages, want %d", now.Format(time.Kitchen), len(f.api.sent()), want)
		}
	}
	// Mon, Tue, and Wed (a holiday: the message says nobody is on duty).
	if got := f.api.sent(); len(got) != 3 {
		t.Fatalf("got %d handoffs over three days, want 3:\n%s", len(got), strings.Join(got, "\n---\n"))
	}
	late := f.replica(t)
	tick(t, late, at(26, 11, 30)) // down at 09:00, catches up on start
	tick(t, late, at(26, 12, 0))
	tick(t, b, at(26, 12, 0))
	got := f.api.sent()
	if len(got) != 4 || !strings.Contains(got[3], "Thursday 2026-11-26") {
		t.Fatalf("catch-up: got %d messages, last %q", len(got), got[len(got)-1])
	}
	if !strings.Contains(got[2], "Nobody is on duty today (holiday: team offsite)") {
		t.Errorf("holiday message: %s", got[2])
	}
}

func TestHandoffMessage(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	c, ns, _ := f.withCluster(t)
	ctx := context.Background()
	runs := c.Tekton.TektonV1().PipelineRuns(ns)
	for _, name := range []string{"triggers-release-nightly-20261123", "pipeline-release-nightly-20261123"} {
		pr := &pipelinev1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: strings.Split(name, "-nightly")[0]}}}
		if _, err := runs.Create(ctx, pr, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := kube.SetState(ctx, c, ns, "triggers-release-nightly-20261123", kube.Failed); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.SetState(ctx, c, ns, "pipeline-release-nightly-20261123", kube.Succeeded); err != nil {
		t.Fatal(err)
	}
	j := f.replica(t)
	// The failure happened "now" in real time, so render as of now; the
	// rotation part only depends on the date.
	msg, err := j.Message(ctx, schedule.NewDate(2026, 11, 24), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		// From andrea on Mon 2 Nov, Tue 24 Nov is duty day 17 (index 16):
		// vincent; the 25th is a holiday, so jerop is next on the 26th.
		"Tuesday 2026-11-24", "Today's build captain: @vincent", "Previous: @andrea (2026-11-23)",
		"Next: @jerop (Thu 2026-11-26)", "<https://runbook.example|runbook>",
		"1 failed in the last 24 hours", "nightly: `triggers-release` <https://dash.example/" + ns + "/triggers-release-nightly-20261123|triggers-release-nightly-20261123> (failed)",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "pipeline-release-nightly") {
		t.Errorf("a succeeded run is listed:\n%s", msg)
	}
}

func TestFailedPostIsRetriedNotLost(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.api.failNext = 1
	j := f.replica(t)
	if err := j.Tick(context.Background(), at(24, 9, 1)); err == nil {
		t.Fatal("a failed post must be reported")
	}
	tick(t, j, at(24, 9, 6))
	tick(t, j, at(24, 9, 11))
	if got := f.api.sent(); len(got) != 1 {
		t.Fatalf("want exactly one handoff after the retry, got %d", len(got))
	}
}

func TestExpiryWarning(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.rot.Until = schedule.NewDate(2026, 12, 4)
	j := f.replica(t)
	tick(t, j, at(19, 10, 0)) // 15 days before the end: no warning
	tick(t, j, at(20, 10, 0)) // 14 days
	tick(t, j, at(20, 11, 0))
	var warnings int
	for _, m := range f.api.sent() {
		if strings.Contains(m, "runs out on 2026-12-04") {
			warnings++
		}
	}
	if warnings != 1 {
		t.Fatalf("want one warning (on the 20th), got %d in %q", warnings, f.api.sent())
	}
}

// TestHandoffSeesChatChanges: a cover made from chat shows in the handoff.
func TestHandoffSeesChatChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	changes := &state.RotationState{ConfigMaps: f.state}
	err := changes.Change(context.Background(), func(c *state.RotationChanges) error {
		c.Overrides[schedule.NewDate(2026, 11, 24)] = schedule.Override{Person: "jerop", Comment: "covers for vincent"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tick(t, f.replica(t), at(24, 9, 30))
	if got := f.api.sent(); len(got) != 1 || !strings.Contains(got[0], "Today's build captain: @jerop") {
		t.Fatalf("handoff ignores the cover: %q", got)
	}
}
