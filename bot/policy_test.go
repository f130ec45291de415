package bot

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"tekbot/config"
)

func TestWhoMayNamesPeopleAsEachTransportKnowsThem(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{
		People: []config.Person{
			{Name: "andrea", GitHub: "afrittoli", Slack: "U01ANDREA"},
			{Name: "vincent", GitHub: "vdemeest"},
		},
		GitHub: config.GitHub{Repositories: []config.Repository{{Name: "tektoncd/pipeline", TrustedTeams: []string{"tektoncd/core-maintainers"}}}},
		Policy: config.Policy{
			Roles: map[string][]string{"maintainers": {"andrea", "vincent"}, "nobody": {}},
			Allow: map[string][]string{"retest": {"repo-writers", "maintainers", "trusted-authors"}, "ghonly": {"repo-writers"}, "none": {}},
		},
	}
	spec := func(verb string) *Spec { return &Spec{Verb: verb} }
	tests := []struct {
		name   string
		policy *Policy
		verb   string
		on     Transport
		want   string
	}{
		{"GitHub: logins and teams", PolicyFor(cfg), "retest", GitHub,
			"people with write access to tektoncd/pipeline, and members of @tektoncd/core-maintainers; maintainers (@afrittoli, @vdemeest); the author of a trusted PR (after a maintainer's /ok-to-test)"},
		{"Slack: mentions, config name without a Slack ID, no GitHub roles", PolicyFor(cfg), "retest", Slack, "maintainers (<@U01ANDREA>, vincent)"},
		{"Slack, GitHub roles only", PolicyFor(cfg), "ghonly", Slack, "nobody here; on GitHub: people with write access to the repository"},
		{"no people known: config names", NewPolicy(cfg.Policy), "retest", Slack, "maintainers (andrea, vincent)"},
		{"nobody allowed", PolicyFor(cfg), "none", GitHub, "nobody: no role is allowed to run it (see policy.allow)"},
	}
	for _, tt := range tests {
		repo := ""
		if tt.on == GitHub && tt.verb == "retest" {
			repo = "tektoncd/pipeline"
		}
		if got := tt.policy.WhoMay(spec(tt.verb), tt.on, repo); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
	}
}

func TestUnknownVerbsPointTheWay(t *testing.T) {
	t.Parallel()
	b := &Bot{Registry: testRegistry(), Policy: NewPolicy(config.Policy{}), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	tests := []struct {
		text string
		want string
	}{
		{"retset", "Did you mean `retest`? `retest` is a GitHub command: on GitHub, comment `/retest`; here, `/tekton rerun <PR URL>`."},
		{"retest", "`retest` is a GitHub command: on GitHub, comment `/retest`; here, `/tekton rerun <PR URL>`."},
		{"staus", "Did you mean `status` ()?"},
		{"xyzzy", "I don't know the command xyzzy. Try `help` for the list."},
		{"<!channel>", "I don't know the command &lt;!channel&gt;."},
	}
	for _, tt := range tests {
		cmd, _ := b.Registry.ParseSlack(tt.text)
		r := b.Run(context.Background(), &Request{ID: "r", Command: cmd, Caller: Caller{Transport: Slack, ID: "U1"}})
		if r.Outcome != Refused || !strings.Contains(r.Text, tt.want) {
			t.Errorf("%q: %s %q, want it to contain %q", tt.text, r.Outcome, r.Text, tt.want)
		}
	}
}
