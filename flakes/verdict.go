package flakes

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// Kind is what a failure is judged to be.
type Kind int

// The verdicts. A broken base branch is named before flakiness: a /retest
// of a pipeline that fails on every commit of main wastes a run, however
// flaky it was last week.
const (
	// New: nothing in the window says it is flaky or broken; look at it.
	New Kind = iota
	// Flaky: in the window it both failed and passed on one commit.
	Flaky
	// Broken: it failed on every attempt on two or more commits of the
	// base branch, since the base branch last passed.
	Broken
)

// Verdict is a judged failure.
type Verdict struct {
	Kind Kind
	// Count is, for Flaky, how many failures were followed or preceded
	// by a pass on the same commit; for Broken, how many base-branch
	// commits failed on every attempt.
	Count int
}

func (v Verdict) String() string {
	switch v.Kind {
	case Flaky:
		return fmt.Sprintf("flaky (%s in 14 days)", times(v.Count))
	case Broken:
		return fmt.Sprintf("broken (failed on every attempt on the last %d commits of the base branch)", v.Count)
	default:
		return "new"
	}
}

// Advice is what to do about it: only a flaky failure is worth a /retest,
// and tekbot never retries by itself.
func (v Verdict) Advice() string {
	switch v.Kind {
	case Flaky:
		return "a `/retest` will likely pass"
	case Broken:
		return "the base branch is broken too: a retest will not help"
	default:
		return "not seen before: worth a look"
	}
}

func times(n int) string {
	if n == 1 {
		return "once"
	}
	return fmt.Sprintf("%d times", n)
}

// Judge judges pipeline's failures (task's, when task is not "") in repo
// from the attempts in the window ending at now.
func (h *History) Judge(repo, pipeline, task string, now time.Time) Verdict {
	ph := h.pipelines[pipelineKey(repo, pipeline)]
	if ph == nil {
		return Verdict{}
	}
	atts := ph.window(now, Window)
	if n := broken(atts, task); n >= 2 {
		return Verdict{Kind: Broken, Count: n}
	}
	if n := flakes(atts, task); n > 0 {
		return Verdict{Kind: Flaky, Count: n}
	}
	return Verdict{}
}

// outcome says how one attempt went for task ("" for the whole
// pipeline): a task passed when its pipeline did, and says nothing when
// another task failed the pipeline.
func (j judged) outcome(task string) (failed, passed bool) {
	if task == "" {
		return j.failed, !j.failed
	}
	return j.failed && slices.Contains(j.tasks, task), !j.failed
}

func (ph *pipelineHistory) window(now time.Time, d time.Duration) []judged {
	var out []judged
	for _, a := range ph.attempts {
		if a.at >= now.Add(-d).Unix() && a.at <= now.Unix() {
			out = append(out, a)
		}
	}
	return out
}

// flakes counts the failures on commits that also passed.
func flakes(atts []judged, task string) int {
	type tally struct{ failed, passed int }
	by := map[string]*tally{}
	for _, a := range atts {
		t := by[a.commit]
		if t == nil {
			t = &tally{}
			by[a.commit] = t
		}
		f, p := a.outcome(task)
		if f {
			t.failed++
		}
		if p {
			t.passed++
		}
	}
	n := 0
	for _, t := range by {
		if t.passed > 0 {
			n += t.failed
		}
	}
	return n
}

// broken counts the base-branch commits, newest first, that failed on
// every attempt, up to the newest that passed.
func broken(atts []judged, task string) int {
	type commit struct {
		last           int64
		failed, passed bool
	}
	by := map[string]*commit{}
	for _, a := range atts {
		if !a.base {
			continue
		}
		c := by[a.commit]
		if c == nil {
			c = &commit{}
			by[a.commit] = c
		}
		c.last = max(c.last, a.at)
		f, p := a.outcome(task)
		c.failed, c.passed = c.failed || f, c.passed || p
	}
	cs := make([]*commit, 0, len(by))
	for _, c := range by {
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b *commit) int { return cmp.Compare(b.last, a.last) })
	n := 0
	for _, c := range cs {
		if c.passed {
			break
		}
		if c.failed {
			n++
		}
	}
	return n
}

// Flake is a pipeline (or one of its tasks) that flaked, and how often.
type Flake struct {
	Repo, Pipeline string
	// Task is "" for the pipeline as a whole.
	Task  string
	Count int
}

// Flakiest lists the pipelines and tasks that flaked in the d before now,
// most often first, at most limit of them.
func (h *History) Flakiest(now time.Time, d time.Duration, limit int) []Flake {
	var out []Flake
	for _, ph := range h.pipelines {
		atts := ph.window(now, d)
		if n := flakes(atts, ""); n > 0 {
			out = append(out, Flake{Repo: ph.repo, Pipeline: ph.pipeline, Count: n})
		}
		var tasks []string
		for _, a := range atts {
			for _, t := range a.tasks {
				if !slices.Contains(tasks, t) {
					tasks = append(tasks, t)
				}
			}
		}
		for _, t := range tasks {
			if n := flakes(atts, t); n > 0 {
				out = append(out, Flake{Repo: ph.repo, Pipeline: ph.pipeline, Task: t, Count: n})
			}
		}
	}
	slices.SortFunc(out, func(a, b Flake) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Repo, b.Repo),
			cmp.Compare(a.Pipeline, b.Pipeline), cmp.Compare(a.Task, b.Task))
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}
