package config

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// MergeQueue is a repository's way in to its default branch, as Prow's
// Tide declared it: the labels a PR needs, the labels that keep it out,
// and how it merges. tekbot enqueues a PR that meets it in GitHub's merge
// queue (or merges it, on a branch without one) and dequeues the entries
// it enqueued once they stop meeting it.
type MergeQueue struct {
	// Require lists labels a PR must all carry, e.g. [lgtm, approved].
	Require []string `yaml:"require"`
	// Block lists labels, or globs of them ("do-not-merge/*"), any of
	// which keeps a PR out.
	Block []string `yaml:"block"`
	// Method is how a PR merges: merge (the default), squash or rebase.
	Method MergeMethod `yaml:"method"`
}

// MergeMethod is GitHub's merge method.
type MergeMethod string

// GitHub's merge methods.
const (
	MergeMerge  MergeMethod = "merge"
	MergeSquash MergeMethod = "squash"
	MergeRebase MergeMethod = "rebase"
)

// MethodOrDefault is Method, or merge when unset.
func (q *MergeQueue) MethodOrDefault() MergeMethod {
	if q.Method == "" {
		return MergeMerge
	}
	return q.Method
}

// Admits says whether a PR with labels may be in the queue and, when not,
// why, in words for people. Labels compare as GitHub compares them,
// case-insensitively.
func (q *MergeQueue) Admits(labels []string) (bool, string) {
	lower := make([]string, len(labels))
	for i, l := range labels {
		lower[i] = strings.ToLower(l)
	}
	var missing []string
	for _, r := range q.Require {
		if !slices.Contains(lower, strings.ToLower(r)) {
			missing = append(missing, r)
		}
	}
	for _, b := range q.Block {
		for i, l := range lower {
			if ok, _ := path.Match(strings.ToLower(b), l); ok {
				return false, "label " + labels[i] + " blocks it"
			}
		}
	}
	if len(missing) > 0 {
		return false, "it lacks " + strings.Join(missing, ", ")
	}
	return true, ""
}

func (v *validator) mergeQueue(p string, q *MergeQueue) {
	if q == nil {
		return
	}
	switch q.Method {
	case "", MergeMerge, MergeSquash, MergeRebase:
	default:
		v.add(p+".method", "must be merge, squash or rebase, got %q", q.Method)
	}
	if len(q.Require) == 0 {
		v.add(p+".require", "needs at least one label (e.g. [lgtm, approved]): otherwise every PR would merge")
	}
	for j, b := range q.Block {
		if _, err := path.Match(b, ""); err != nil || strings.TrimSpace(b) == "" {
			v.add(fmt.Sprintf("%s.block[%d]", p, j), "not a label or glob: %q", b)
			continue
		}
		for _, r := range q.Require {
			if ok, _ := path.Match(strings.ToLower(b), strings.ToLower(r)); ok {
				v.add(fmt.Sprintf("%s.block[%d]", p, j), "%q blocks the required label %q: no PR could ever merge", b, r)
			}
		}
	}
}
