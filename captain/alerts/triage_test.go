package alerts_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"

	"tekbot/captain/alerts"
	"tekbot/flakes"
	"tekbot/tekton"
	"tekbot/test/slackfake"
)

// verdicts judges every pipeline by a fixed table.
type verdicts map[string]flakes.Verdict

func (v verdicts) Judge(_ context.Context, _, pipeline, _ string) (flakes.Verdict, error) {
	if got, ok := v[pipeline]; ok {
		return got, nil
	}
	return flakes.Verdict{}, errors.New("history unreadable: configmaps is forbidden")
}

// excerpts answers for the runs it knows, as a triage reader would.
type excerpts map[string]string

func (e excerpts) Excerpt(_ context.Context, _, _, run string) (string, error) {
	if text, ok := e[run]; ok {
		return text, nil
	}
	return "", errors.New("pods/log is forbidden")
}

// finished collects the runs the watch hands to the outcome history.
type finished struct {
	mu   sync.Mutex
	runs []string
}

func (f *finished) add(_ *tekton.Cluster, pr *pipelinev1.PipelineRun) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.runs, pr.Name) {
		f.runs = append(f.runs, pr.Name)
	}
}

func (f *finished) names() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Sorted(slices.Values(f.runs))
}

// Each failure line carries its pipeline's verdict; the run's log excerpt
// follows in the thread, once, even across a restart; a history that
// cannot be read costs the verdict, not the line; the watch feeds every
// finished run to the outcome history.
func TestFailureLinesCarryTheVerdictAndTheExcerpt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	seen := &finished{}
	triage := func(a *alerts.Alerter) {
		a.Verdicts = verdicts{"release": {Kind: flakes.Flaky, Count: 2}}
		a.Excerpts = excerpts{"release-1": "*build* step `compile`:\n```main.go:12: undefined: foo```"}
		a.Finished = seen.add
	}
	stop := f.replica(t, triage)
	f.finish(t, "release-1", "release", false, at(24, 10, 5))
	f.finish(t, "canary-1", "canary", false, at(24, 10, 6))
	f.finish(t, "canary-2", "canary", true, at(24, 10, 7))
	eventually(t, "the thread, two lines and one excerpt", func() bool { return len(f.slack.Messages()) >= 4 })
	msgs := f.slack.Messages()
	root := msgs[0]
	var release, canary, excerpt string
	for _, m := range msgs[1:] {
		if m.ThreadTS != root.TS {
			t.Errorf("a message outside the day's thread:\n%s", dump(msgs))
		}
		switch {
		case strings.Contains(m.Text, "Why `release-1` failed"):
			excerpt = m.Text
		case strings.Contains(m.Text, "`release`"):
			release = m.Text
		case strings.Contains(m.Text, "`canary`") && strings.Contains(m.Text, "failed"):
			canary = m.Text
		}
	}
	if !strings.Contains(release, "flaky (2 times in 14 days)") {
		t.Errorf("the release line lacks its verdict:\n%s", dump(msgs))
	}
	if canary == "" || strings.Contains(canary, "flaky") || strings.Contains(canary, "forbidden") {
		t.Errorf("the canary line (history unreadable) should be there, without a verdict or the error:\n%s", dump(msgs))
	}
	if !strings.Contains(excerpt, "main.go:12: undefined: foo") {
		t.Errorf("no excerpt of release-1 in the thread:\n%s", dump(msgs))
	}
	eventually(t, "the watch hands every finished run to the history", func() bool {
		return slices.Equal(seen.names(), []string{"canary-1", "canary-2", "release-1"})
	})

	stop()
	f.replica(t, triage) // a restart sees every run again
	f.finish(t, "release-2", "release", false, at(24, 10, 30))
	eventually(t, "the line to count two failures", func() bool {
		return slices.ContainsFunc(f.slack.Messages(), func(m slackfake.Message) bool { return strings.Contains(m.Text, "failed 2 times") })
	})
	n := 0
	for _, m := range f.slack.Messages() {
		if strings.HasPrefix(m.Text, "Why ") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d excerpts posted, want 1 (release-2 has none, release-1's once):\n%s", n, dump(f.slack.Messages()))
	}
}
