package flakes

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"
)

// memStore is an in-memory Store.
type memStore struct {
	mu   sync.Mutex
	docs map[string][]byte
}

func (m *memStore) All(context.Context) (map[string][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.docs), nil
}

func (m *memStore) Update(_ context.Context, name string, change func([]byte) ([]byte, error)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	doc, err := change(m.docs[name])
	if err != nil || doc == nil {
		return err
	}
	if m.docs == nil {
		m.docs = map[string][]byte{}
	}
	m.docs[name] = doc
	return nil
}

func (m *memStore) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.docs, name)
	return nil
}

var now = time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)

// run is one attempt in a table: pipeline p of repo "pipeline" on commit c.
type run struct {
	commit string
	failed bool
	base   bool
	tasks  []string
	ago    time.Duration
}

func outcomes(runs []run) []Outcome {
	var out []Outcome
	for i, r := range runs {
		out = append(out, Outcome{
			Repo: "pipeline", Pipeline: "unit-tests", Commit: r.commit, Run: fmt.Sprintf("c/ns/run-%d/uid", i),
			Base: r.base, Failed: r.failed, FailedTasks: r.tasks, At: now.Add(-r.ago),
		})
	}
	return out
}

func record(t *testing.T, runs []run) *History {
	t.Helper()
	store := &memStore{}
	rec := &Recorder{Store: store, Now: func() time.Time { return now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, o := range outcomes(runs) {
		rec.Observe(o)
	}
	if err := rec.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	h, err := NewHistory(store.docs)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

const day = 24 * time.Hour

func TestJudge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		runs []run
		task string
		want string
	}{
		{"nothing recorded", nil, "", "new"},
		{"one failure", []run{{commit: "aaa", failed: true}}, "", "new"},
		{"fail then pass on the same commit", []run{
			{commit: "aaa", failed: true, ago: 2 * time.Hour}, {commit: "aaa", ago: time.Hour},
		}, "", "flaky (once in 14 days)"},
		{"flaked on another commit, fails now", []run{
			{commit: "aaa", failed: true, ago: 3 * day}, {commit: "aaa", ago: 3 * day},
			{commit: "bbb", failed: true, ago: 2 * day}, {commit: "bbb", ago: 2 * day},
			{commit: "ccc", failed: true},
		}, "", "flaky (2 times in 14 days)"},
		{"a flake older than the window", []run{
			{commit: "aaa", failed: true, ago: 15 * day}, {commit: "aaa", ago: 15 * day},
			{commit: "ccc", failed: true},
		}, "", "new"},
		{"fails on two base-branch commits", []run{
			{commit: "aaa", failed: true, base: true, ago: 2 * time.Hour},
			{commit: "bbb", failed: true, base: true, ago: time.Hour},
			{commit: "bbb", failed: true, base: true},
		}, "", "broken (failed on every attempt on the last 2 commits of the base branch)"},
		{"runs without a commit are never flaky", []run{
			{failed: true, ago: time.Hour}, {},
		}, "", "new"},
		{"fails on two PR commits is not broken", []run{
			{commit: "aaa", failed: true}, {commit: "bbb", failed: true},
		}, "", "new"},
		{"base branch passed since", []run{
			{commit: "aaa", failed: true, base: true, ago: 3 * time.Hour},
			{commit: "bbb", failed: true, base: true, ago: 2 * time.Hour},
			{commit: "ccc", base: true, ago: time.Hour},
		}, "", "new"},
		{"broken beats an old flake", []run{
			{commit: "aaa", failed: true, ago: 5 * day}, {commit: "aaa", ago: 5 * day},
			{commit: "bbb", failed: true, base: true, ago: time.Hour},
			{commit: "ccc", failed: true, base: true},
		}, "", "broken (failed on every attempt on the last 2 commits of the base branch)"},
		{"a base commit that failed then passed is flaky, not broken", []run{
			{commit: "aaa", failed: true, base: true, ago: 2 * time.Hour},
			{commit: "bbb", failed: true, base: true, ago: time.Hour},
			{commit: "bbb", base: true},
		}, "", "flaky (once in 14 days)"},
		{"task flaky: failed, then its pipeline passed", []run{
			{commit: "aaa", failed: true, tasks: []string{"e2e"}, ago: time.Hour}, {commit: "aaa"},
		}, "e2e", "flaky (once in 14 days)"},
		{"task not flaky when another task failed", []run{
			{commit: "aaa", failed: true, tasks: []string{"lint"}, ago: time.Hour}, {commit: "aaa"},
			{commit: "bbb", failed: true, tasks: []string{"e2e"}},
		}, "e2e", "new"},
		{"task broken on the base branch", []run{
			{commit: "aaa", failed: true, base: true, tasks: []string{"e2e"}, ago: time.Hour},
			{commit: "bbb", failed: true, base: true, tasks: []string{"e2e", "lint"}},
		}, "e2e", "broken (failed on every attempt on the last 2 commits of the base branch)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := record(t, tt.runs)
			if got := h.Judge("pipeline", "unit-tests", tt.task, now).String(); got != tt.want {
				t.Errorf("verdict %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAdvice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		v      Verdict
		retest bool
	}{
		{Verdict{Kind: Flaky, Count: 1}, true},
		{Verdict{Kind: Broken, Count: 2}, false},
		{Verdict{}, false},
	}
	for _, tt := range tests {
		if got := strings.Contains(tt.v.Advice(), "/retest"); got != tt.retest {
			t.Errorf("%v: advice %q suggests /retest: %v, want %v", tt.v, tt.v.Advice(), got, tt.retest)
		}
	}
}
