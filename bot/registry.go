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
	// Prefixed verbs are written "/tekbot <verb>" in PR comments, because
	// other bots own the bare verb (Prow's /help).
	Prefixed bool
	// DefaultAllow lists the roles that may run it when policy.allow does
	// not mention the verb.
	DefaultAllow []string
	Handle       HandlerFunc
}

// Offered reports whether the verb is available on a transport.
func (s *Spec) Offered(t Transport) bool { return slices.Contains(s.Transports, t) }

// Registry holds the commands tekbot knows.
type Registry struct {
	specs []*Spec
}

// NewRegistry registers specs in the order help lists them. It panics on a
// duplicate verb or alias: that is a programming error caught by any test.
func NewRegistry(specs ...*Spec) *Registry {
	r := &Registry{}
	for _, s := range specs {
		for _, name := range append([]string{s.Verb}, s.Aliases...) {
			if r.Lookup(name) != nil {
				panic(fmt.Sprintf("bot: command %q registered twice", name))
			}
		}
		r.specs = append(r.specs, s)
	}
	return r
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
// gets the usage of what was probably meant.
func (r *Registry) Closest(verb string, t Transport) *Spec {
	var best *Spec
	bestDist := 3 // further than this is a guess, not a typo
	for _, s := range r.specs {
		if !s.Offered(t) {
			continue
		}
		for _, name := range append([]string{s.Verb}, s.Aliases...) {
			if d := editDistance(verb, name); d < bestDist || (strings.HasPrefix(name, verb) && len(verb) >= 2 && best == nil) {
				best, bestDist = s, d
			}
		}
	}
	return best
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
