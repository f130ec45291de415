// Package flakes keeps a compact record of how the runs tekbot watches
// ended, per repository, pipeline (and task) and commit, for 14 days, and
// judges a failure from it: flaky, broken or new. The record outlives the
// PipelineRuns (which a pruner deletes within hours) because it lives in
// tekbot's state namespace, one document per day, each bounded.
//
// The maths is pure (History and Judge, a function of the record and the
// clock); Recorder and Reader move the record to and from a Store.
package flakes

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
)

// Window is how long outcomes are kept and judged on.
const Window = 14 * 24 * time.Hour

// Outcome is one finished PipelineRun as the history records it.
type Outcome struct {
	// Repo is the repository (owner/repo), Pipeline the pipeline's name.
	Repo, Pipeline string
	// Commit is the commit the run built (its SHA); "" for unknown.
	Commit string
	// Run names the run (cluster/namespace/name): it is recorded once,
	// however often the watch reports it.
	Run string
	// Base is whether the commit is on the base branch (a push run)
	// rather than a PR's.
	Base   bool
	Failed bool
	// FailedTasks are the pipeline tasks that failed, for a failed run.
	FailedTasks []string
	At          time.Time

	// Where a failed run's TaskRuns are, for finding FailedTasks.
	cluster, namespace string
	taskRuns           []pipelinev1.ChildStatusReference
}

// commitLen is how much of a SHA the record keeps: 12 hex digits, as
// GitHub abbreviates in busy repositories; a collision in one pipeline's
// two weeks is vanishingly rare and would only merge two commits' counts.
const commitLen = 12

// attempt is one run of a pipeline in the record.
type attempt struct {
	run    uint64
	commit string
	at     int64 // Unix seconds
	failed bool
	base   bool
	// tasks index the pipeline's task names: the failed ones.
	tasks []int
}

// Day is one day's document (UTC days, by when runs ended): the attempts
// of each pipeline, keyed "repo pipeline".
type Day struct {
	Pipelines map[string]*dayPipeline `json:"p"`
	// runs are the runs recorded, built on the first Add: a run is
	// recorded once even when two watches name its pipeline differently.
	runs map[uint64]bool
}

// dayPipeline is a pipeline's attempts on one day. Attempts are encoded
// as short strings ("run commit at flags tasks"), about 45 bytes each,
// where JSON objects would take twice that: a day's document must stay
// well below a ConfigMap's 1 MiB.
type dayPipeline struct {
	Tasks    []string `json:"t,omitempty"`
	Attempts []string `json:"a"`
}

func pipelineKey(repo, pipeline string) string { return repo + " " + pipeline }

// runID hashes a run's name for the record: 13 characters, not 60.
func runID(run string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(run))
	return h.Sum64()
}

func (a attempt) encode() string {
	var b strings.Builder
	b.WriteString(strconv.FormatUint(a.run, 36))
	b.WriteByte(' ')
	b.WriteString(a.commit)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(a.at, 36))
	b.WriteByte(' ')
	switch {
	case a.failed && a.base:
		b.WriteString("FB")
	case a.failed:
		b.WriteString("F")
	case a.base:
		b.WriteString("PB")
	default:
		b.WriteString("P")
	}
	for i, t := range a.tasks {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(t))
	}
	return b.String()
}

func decodeAttempt(s string, ntasks int) (attempt, error) {
	f := strings.Fields(s)
	if len(f) < 4 || len(f) > 5 {
		return attempt{}, fmt.Errorf("attempt %q: want 4 or 5 fields", s)
	}
	run, err := strconv.ParseUint(f[0], 36, 64)
	if err != nil {
		return attempt{}, fmt.Errorf("attempt %q: run: %w", s, err)
	}
	at, err := strconv.ParseInt(f[2], 36, 64)
	if err != nil {
		return attempt{}, fmt.Errorf("attempt %q: time: %w", s, err)
	}
	a := attempt{run: run, commit: f[1], at: at}
	switch f[3] {
	case "FB":
		a.failed, a.base = true, true
	case "F":
		a.failed = true
	case "PB":
		a.base = true
	case "P":
	default:
		return attempt{}, fmt.Errorf("attempt %q: unknown outcome %q", s, f[3])
	}
	if len(f) == 5 {
		for t := range strings.SplitSeq(f[4], ",") {
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= ntasks {
				return attempt{}, fmt.Errorf("attempt %q: no task %q", s, t)
			}
			a.tasks = append(a.tasks, i)
		}
	}
	return a, nil
}

// DecodeDay reads a day's document; empty data is an empty day.
func DecodeDay(data []byte) (*Day, error) {
	d := &Day{}
	if len(data) > 0 {
		if err := json.Unmarshal(data, d); err != nil {
			return nil, fmt.Errorf("decoding a day of outcomes: %w", err)
		}
	}
	if d.Pipelines == nil {
		d.Pipelines = map[string]*dayPipeline{}
	}
	return d, nil
}

// Encode writes the day's document.
func (d *Day) Encode() ([]byte, error) { return json.Marshal(d) }

// Add records o unless its run is already recorded; it reports whether
// the day changed. A day holding max attempts takes no more: the record
// stays bounded however busy the day (the day after starts afresh).
func (d *Day) Add(o Outcome, max int) (added bool, full bool) {
	if d.runs == nil {
		d.runs = map[uint64]bool{}
		for _, p := range d.Pipelines {
			for _, s := range p.Attempts {
				id, _, _ := strings.Cut(s, " ")
				if n, err := strconv.ParseUint(id, 36, 64); err == nil {
					d.runs[n] = true
				}
			}
		}
	}
	id := runID(o.Run)
	if d.runs[id] {
		return false, false
	}
	if len(d.runs) >= max {
		return false, true
	}
	d.runs[id] = true
	key := pipelineKey(o.Repo, o.Pipeline)
	p := d.Pipelines[key]
	if p == nil {
		p = &dayPipeline{}
		d.Pipelines[key] = p
	}
	a := attempt{run: id, commit: shortCommit(o.Commit, id), at: o.At.Unix(), failed: o.Failed, base: o.Base}
	if o.Failed {
		for _, t := range o.FailedTasks {
			i := slices.Index(p.Tasks, t)
			if i < 0 {
				i = len(p.Tasks)
				p.Tasks = append(p.Tasks, t)
			}
			if !slices.Contains(a.tasks, i) {
				a.tasks = append(a.tasks, i)
			}
		}
	}
	p.Attempts = append(p.Attempts, a.encode())
	return true, false
}

// Len is how many attempts the day holds.
func (d *Day) Len() int {
	n := 0
	for _, p := range d.Pipelines {
		n += len(p.Attempts)
	}
	return n
}

// shortCommit is how the record names a run's commit. A run without a
// SHA label (a nightly started by a cron) is on a commit of its own: two
// such runs are not known to have built the same code, so they never make
// each other flaky.
func shortCommit(sha string, run uint64) string {
	sha = strings.ToLower(sha)
	switch {
	case sha == "":
		return "~" + strconv.FormatUint(run, 36)
	case len(sha) > commitLen:
		return sha[:commitLen]
	}
	return sha
}

// History is the record of several days, merged, for judging.
type History struct {
	pipelines map[string]*pipelineHistory
}

// pipelineHistory is one pipeline's attempts across days.
type pipelineHistory struct {
	repo, pipeline string
	attempts       []judged
}

// judged is an attempt with its failed tasks by name.
type judged struct {
	commit string
	at     int64 // Unix seconds
	failed bool
	base   bool
	tasks  []string
}

// NewHistory merges days' documents. A document that cannot be read is
// reported and skipped: one bad day must not blind the rest.
func NewHistory(days map[string][]byte) (*History, error) {
	h := &History{pipelines: map[string]*pipelineHistory{}}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(days)) {
		d, err := DecodeDay(days[name])
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		for key, p := range d.Pipelines {
			repo, pipeline, _ := strings.Cut(key, " ")
			ph := h.pipelines[key]
			if ph == nil {
				ph = &pipelineHistory{repo: repo, pipeline: pipeline}
				h.pipelines[key] = ph
			}
			for _, s := range p.Attempts {
				a, err := decodeAttempt(s, len(p.Tasks))
				if err != nil {
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
					continue
				}
				// The commit is copied out of the attempt's text, which would
				// otherwise stay in memory for it.
				j := judged{commit: strings.Clone(a.commit), at: a.at, failed: a.failed, base: a.base}
				for _, t := range a.tasks {
					j.tasks = append(j.tasks, p.Tasks[t])
				}
				ph.attempts = append(ph.attempts, j)
			}
		}
	}
	if len(errs) > 0 {
		return h, fmt.Errorf("reading the outcome history: %w", errors.Join(errs...))
	}
	return h, nil
}
