package config

import (
	"errors"
	"strings"
	"testing"
)

// TestMergeQueueConfigErrors: every mistake in a repository's mergeQueue is
// reported at its field.
func TestMergeQueueConfigErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body, wantPath, wantMsg string
	}{
		{"bad method", "      mergeQueue: {require: [lgtm], method: octopus}\n", "github.repositories[0].mergeQueue.method", `got "octopus"`},
		{"nothing required", "      mergeQueue: {block: [needs-rebase]}\n", "github.repositories[0].mergeQueue.require", "every PR would merge"},
		{"bad glob", "      mergeQueue: {require: [lgtm], block: [\"do-not-merge/[\"]}\n", "github.repositories[0].mergeQueue.block[0]", "not a label or glob"},
		{"block what is required", "      mergeQueue: {require: [lgtm, approved], block: [\"*ed\"]}\n", "github.repositories[0].mergeQueue.block[0]", `blocks the required label "approved"`},
		{"unknown key", "      mergeQueue: {require: [lgtm], blocks: [x]}\n", "github.repositories[0].mergeQueue.blocks", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, validBase+tt.body), KnownVerbs("retest"))
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("want *Errors, got %v", err)
			}
			for _, fe := range errs.List {
				if fe.Path == tt.wantPath && strings.Contains(fe.Msg, tt.wantMsg) {
					return
				}
			}
			t.Errorf("no error at %q containing %q in:\n%v", tt.wantPath, tt.wantMsg, err)
		})
	}
}

// TestMergeQueueAdmits: Tide's rule, labels compared as GitHub does.
func TestMergeQueueAdmits(t *testing.T) {
	t.Parallel()
	q := &MergeQueue{Require: []string{"lgtm", "approved"}, Block: []string{"do-not-merge/*", "needs-rebase"}}
	tests := []struct {
		labels []string
		want   bool
		why    string
	}{
		{[]string{"lgtm", "approved"}, true, ""},
		{[]string{"LGTM", "Approved", "kind/bug"}, true, ""},
		{[]string{"lgtm"}, false, "lacks approved"},
		{[]string{"lgtm", "approved", "do-not-merge/hold"}, false, "do-not-merge/hold blocks"},
		{[]string{"lgtm", "approved", "Do-Not-Merge/WIP"}, false, "Do-Not-Merge/WIP blocks"},
		{[]string{"lgtm", "approved", "needs-rebase"}, false, "needs-rebase blocks"},
		{nil, false, "lacks lgtm, approved"},
	}
	for _, tt := range tests {
		ok, why := q.Admits(tt.labels)
		if ok != tt.want || !strings.Contains(why, tt.why) {
			t.Errorf("Admits(%v) = %v %q, want %v %q", tt.labels, ok, why, tt.want, tt.why)
		}
	}
}
