package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Transport names where a command came from.
type Transport string

// The transports tekbot speaks. The `tekbot dev` terminal driver speaks as
// one of them.
const (
	GitHub Transport = "github"
	Slack  Transport = "slack"
	// Itself is tekbot acting on its own (an automatic rollback), for
	// audit records.
	Itself Transport = "tekbot"
)

// HandlerFunc runs a command. Like an http.HandlerFunc it gets the request
// and answers; it never sees transport types.
type HandlerFunc func(ctx context.Context, req *Request) Reply

// Spec is one command: how it is written, who may run it, what it does. The
// help table, the README table and dispatch all read the same Spec.
type Spec struct {
	Verb    string
	Aliases []string
	// Usage shows the arguments, e.g. "rerun <pipelinerun|url> [on <cluster>]".
	Usage   string
	Summary string
	// Where the verb is offered; a GitHub-only verb is ignored in Slack.
	Transports []Transport
	// ReadOnly verbs change nothing and anyone may run them.
	ReadOnly bool
	// Idempotent verbs do nothing more when run twice for one request:
	// what they create is named after what they act on (a rerun after the
	// run it retries). A transport may start them before the request's
	// claim across replicas is decided (Intake.TakeBeside).
	Idempotent bool
	// OnMerged verbs run on merged PRs: a transport passes them on from
	// comments on closed PRs too (the handler refuses a PR closed
	// unmerged), where it ignores every other verb.
	OnMerged bool
	// Prefixed verbs are written "/tekbot <verb>" in PR comments, because
	// other bots own the bare verb (Prow's /help).
	Prefixed bool
	// DefaultAllow lists the roles that may run it when policy.allow does
	// not mention the verb.
	DefaultAllow []string
	// Gates are the checks a handler makes itself for part of what its
	// verb does (paging, where acking is open): each is a Spec whose Usage
	// names that part, which the handler asks the Policy about, and which
	// `tekbot config check` describes.
	Gates []*Spec
	// ListArgs marks arguments that are a list of names, so "/test a, b"
	// means "/test a b". Arguments holding "=" (key=value) keep their
	// commas: a value may contain one.
	ListArgs bool
	// Elsewhere says how to do the same thing on the transports the verb
	// is not offered on, e.g. Slack's way to /retest: "rerun <PR URL>".
	// Suggestions for a mistyped or misplaced verb show it.
	Elsewhere map[Transport]string
	Handle    HandlerFunc
}

// Offered reports whether the verb is available on a transport.
func (s *Spec) Offered(t Transport) bool { return slices.Contains(s.Transports, t) }

// Title names a transport in prose.
func (t Transport) Title() string {
	if t == GitHub {
		return "GitHub"
	}
	return "Slack"
}

// Prefix is how a transport writes a command: "/" in a PR comment,
// "/tekton " in Slack.
func Prefix(t Transport) string {
	if t == GitHub {
		return "/"
	}
	return "/tekton "
}

// Written is how a user types the command on a transport, with args
// (e.g. a usage's arguments) after the verb.
func (s *Spec) Written(t Transport, args string) string {
	p := Prefix(t)
	if t == GitHub && s.Prefixed {
		p += Namespace + " "
	}
	return strings.TrimSpace(p + s.Verb + " " + args)
}

// Registry holds the commands tekbot knows.
type Registry struct {
	specs []*Spec
}

// NewRegistry registers specs in the order help lists them. It panics on a
// duplicate verb or alias: that is a programming error caught by any test.
func NewRegistry(specs ...*Spec) *Registry {
	r := &Registry{}
	for _, s := range specs {
		if err := r.Register(s); err != nil {
			panic(err)
		}
	}
	return r
}

// Register adds a command after the built-in ones, e.g. one declared in
// config. A verb or alias already taken is an error and nothing is added.
func (r *Registry) Register(s *Spec) error {
	for _, name := range append([]string{s.Verb}, s.Aliases...) {
		if name == Namespace || r.Lookup(name) != nil {
			return fmt.Errorf("bot: command %q registered twice", name)
		}
	}
	r.specs = append(r.specs, s)
	return nil
}

// Lookup finds a command by verb or alias.
func (r *Registry) Lookup(verb string) *Spec {
	for _, s := range r.specs {
		if s.Verb == verb || slices.Contains(s.Aliases, verb) {
			return s
		}
	}
	return nil
}

// Specs lists every command in registration order.
func (r *Registry) Specs() []*Spec { return slices.Clone(r.specs) }

// Verbs lists every verb, for config validation.
func (r *Registry) Verbs() []string {
	verbs := make([]string, len(r.specs))
	for i, s := range r.specs {
		verbs[i] = s.Verb
	}
	return verbs
}

// Closest returns the registered verb nearest to an unknown one, so a typo
// gets the usage of what was probably meant. Verbs of other transports
// count too ("retset" in Slack is GitHub's /retest), but lose ties to the
// caller's own.
func (r *Registry) Closest(verb string, t Transport) *Spec {
	var best *Spec
	// score is twice the edit distance, plus one for another transport's
	// verb; a distance of 3 or more is a guess, not a typo.
	bestScore := 6
	for _, s := range r.specs {
		penalty := 1
		if s.Offered(t) {
			penalty = 0
		}
		for _, name := range append([]string{s.Verb}, s.Aliases...) {
			score := 2*editDistance(verb, name) + penalty
			if strings.HasPrefix(name, verb) && len(verb) >= 2 {
				score = min(score, 5)
			}
			if score < bestScore {
				best, bestScore = s, score
			}
		}
	}
	return best
}

// Hint says how to run s for a caller on transport t: its usage when it is
// offered there, else where it is offered and what to do on t instead.
func (s *Spec) Hint(t Transport) string {
	if s.Offered(t) {
		return fmt.Sprintf("`%s` (%s)", s.Usage, s.Summary)
	}
	var ways []string
	for _, other := range s.Transports {
		how := "type"
		if other == GitHub {
			how = "comment"
		}
		ways = append(ways, fmt.Sprintf("on %s, %s `%s`", other.Title(), how, s.Written(other, "")))
	}
	if alt := s.Elsewhere[t]; alt != "" {
		ways = append(ways, fmt.Sprintf("here, `%s%s`", Prefix(t), alt))
	} else {
		ways = append(ways, fmt.Sprintf("it is not offered on %s", t.Title()))
	}
	return fmt.Sprintf("`%s` is a %s command: %s", s.Verb, s.Transports[0].Title(), strings.Join(ways, "; "))
}

// editDistance is the Levenshtein distance, on bytes: verbs are ASCII.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// HelpTable renders the commands offered on a transport that pass keep (nil
// keeps all) as a Markdown table; prefix is how the transport writes a
// command ("/" on GitHub, "/tekton " on Slack).
func (r *Registry) HelpTable(t Transport, prefix string, keep func(*Spec) bool) string {
	var b strings.Builder
	b.WriteString("| command | what it does |\n|---|---|\n")
	for _, s := range r.specs {
		if !s.Offered(t) || (keep != nil && !keep(s)) {
			continue
		}
		p := prefix
		if t == GitHub && s.Prefixed {
			p += Namespace + " "
		}
		// A bare | would end the cell, even inside a code span.
		cell := strings.ReplaceAll
		fmt.Fprintf(&b, "| `%s%s` | %s |\n", p, cell(s.Usage, "|", `\|`), cell(s.Summary, "|", `\|`))
	}
	return b.String()
}
