package triage

import (
	"regexp"
	"strings"
)

// Bounds of one task's lines: what a reader scans in a PR comment or a
// Slack thread before opening the dashboard.
const (
	// maxTaskLines bounds the lines kept of one failed step.
	maxTaskLines = 40
	// before and after are the lines of context around a signal.
	before, after = 2, 3
	// tailLines are kept when no line signals anything: a step that
	// exits non-zero without saying why usually said it last.
	tailLines = 10
)

// gap stands for lines left out between two picked stretches.
const gap = "…"

// signal matches a line that says why a step failed: Go's test and panic
// output, the errors of most tools, and compiler-style file:line: places.
var signal = regexp.MustCompile(`^\s*(?:--- FAIL|FAIL\b)|` +
	`\bpanic:|\b[Ee]rror:|\bERROR\b|\bfatal:|\bFATAL\b|` +
	`\bTraceback \(most recent call last\)|npm ERR!|` +
	`(?:^|\s)[\w./-]+\.\w+:\d+(?::\d+)?:`)

// pick chooses the lines of a failed step's log that explain it: each
// line that signals, with a few lines of context, in log order, "…" where
// lines are left out, at most maxTaskLines. Without any signal it keeps
// the last lines. log is already redacted.
func pick(log string) []string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	if len(lines) == 1 && lines[0] == "" {
		return nil
	}
	keep := make([]bool, len(lines))
	found := false
	for i, l := range lines {
		if signal.MatchString(l) {
			found = true
			for j := max(0, i-before); j <= min(len(lines)-1, i+after); j++ {
				keep[j] = true
			}
		}
	}
	if !found {
		for j := max(0, len(lines)-tailLines); j < len(lines); j++ {
			keep[j] = true
		}
	}
	var out []string
	for i, l := range lines {
		if !keep[i] {
			continue
		}
		skipped := i > 0 && !keep[i-1]
		need := 1
		if skipped {
			need = 2
		}
		if len(out)+need > maxTaskLines-1 {
			return append(out, gap)
		}
		if skipped {
			out = append(out, gap)
		}
		out = append(out, strings.TrimRight(l, "\r"))
	}
	if !keep[len(lines)-1] {
		out = append(out, gap)
	}
	return out
}
