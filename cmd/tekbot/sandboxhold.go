package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"tekbot/bot"
)

// sandboxCheck is the latest check run of a name tekbot posted on PR #42.
type sandboxCheck struct {
	sha   string
	check bot.Check
}

// RemoveLabel implements handlers.HoldGitHub.
func (g *sandboxGitHub) RemoveLabel(_ context.Context, _ string, _ int, label string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pr.Labels = slices.DeleteFunc(g.pr.Labels, func(l string) bool { return l == label })
	return nil
}

// Comment implements handlers.HoldGitHub: what tekbot says by itself (a
// hold's reminder), shown by the driver's "pr".
func (g *sandboxGitHub) Comment(_ context.Context, _ string, _ int, body string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.comments = append(g.comments, body)
	return nil
}

// PostCheck implements handlers.HoldGitHub.
func (g *sandboxGitHub) PostCheck(_ context.Context, _, sha string, c bot.Check) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.checks[c.Name] = sandboxCheck{sha: sha, check: c}
	return nil
}

// setLabel adds or removes a label, as a person (or Prow) does on GitHub.
func (g *sandboxGitHub) setLabel(label string, on bool) {
	if on {
		_ = g.AddLabel(context.Background(), sandboxRepo, sandboxPR, label)
		return
	}
	_ = g.RemoveLabel(context.Background(), sandboxRepo, sandboxPR, label)
}

// describe is PR #42 as its GitHub page would show it: head, labels, the
// checks and comments tekbot posted by itself.
func (g *sandboxGitHub) describe() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "PR #%d on %s, head %s\n", g.pr.Number, g.pr.Repository, g.pr.HeadSHA[:7])
	labels := "none"
	if len(g.pr.Labels) > 0 {
		labels = strings.Join(g.pr.Labels, ", ")
	}
	fmt.Fprintf(&b, "  labels: %s\n", labels)
	for _, name := range slices.Sorted(maps.Keys(g.checks)) {
		c := g.checks[name]
		fmt.Fprintf(&b, "  check %s on %s: %s, %s\n", name, c.sha[:7], c.check.Conclusion, c.check.Title)
	}
	for _, c := range g.comments {
		fmt.Fprintf(&b, "  tekbot commented: %s\n", c)
	}
	return b.String()
}
