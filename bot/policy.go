package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"tekbot/config"
)

// Policy decides who may run which command, from config.Policy.
type Policy struct {
	cfg config.Policy
	// people and repos let denials name who may act in a form the caller
	// can reach: GitHub logins and teams, Slack mentions.
	people []config.Person
	repos  []config.Repository
}

// NewPolicy wraps the configured policy; its denials name people by their
// config names.
func NewPolicy(cfg config.Policy) *Policy { return &Policy{cfg: cfg} }

// PolicyFor wraps a whole config's policy, with the people and
// repositories it needs to name, on each transport, who may act.
func PolicyFor(cfg *config.Config) *Policy {
	return &Policy{cfg: cfg.Policy, people: cfg.People, repos: cfg.GitHub.Repositories}
}

// Roles returns the roles that may run a command.
func (p *Policy) Roles(s *Spec) []string {
	if roles, ok := p.cfg.Allow[s.Verb]; ok {
		return roles
	}
	return s.DefaultAllow
}

// Allowed reports whether the caller may run the command. Read-only
// commands are open to everyone; the rest need one of the command's roles.
// A lookup failure (e.g. GitHub down) is an error, never a silent yes.
func (p *Policy) Allowed(ctx context.Context, s *Spec, c Caller) (bool, error) {
	if s.ReadOnly {
		return true, nil
	}
	var lookupErr error
	for _, role := range p.Roles(s) {
		switch {
		case role == config.RoleEveryone:
			return true, nil
		case role == config.RoleRepoWriters || role == config.RoleTrustedAuthors:
			if c.Vouch == nil {
				continue
			}
			ok, err := c.Vouch.HasRole(ctx, role)
			if err != nil {
				lookupErr = err
				continue
			}
			if ok {
				return true, nil
			}
		case c.Person != nil && slices.Contains(p.cfg.Roles[role], c.Person.Name):
			return true, nil
		}
	}
	if lookupErr != nil {
		return false, fmt.Errorf("checking permissions: %w", lookupErr)
	}
	return false, nil
}

// WhoMay says in words who may run a command, for denials on transport t:
// on GitHub, logins and teams to @-mention (repo is the PR's repository,
// for its trusted teams); in Slack, people to mention. GitHub's own roles
// are left out in Slack, where nobody holds them.
func (p *Policy) WhoMay(s *Spec, t Transport, repo string) string {
	var parts []string
	for _, role := range p.Roles(s) {
		switch role {
		case config.RoleEveryone:
			parts = append(parts, "everyone")
		case config.RoleRepoWriters:
			if t == GitHub {
				parts = append(parts, p.writers(repo))
			}
		case config.RoleTrustedAuthors:
			if t == GitHub {
				parts = append(parts, "the author of a trusted PR (after a maintainer's /ok-to-test)")
			}
		default:
			members := p.cfg.Roles[role]
			if len(members) == 0 {
				parts = append(parts, role+" (nobody yet)")
				continue
			}
			ids := make([]string, len(members))
			for i, m := range members {
				ids[i] = p.reach(m, t)
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", role, strings.Join(ids, ", ")))
		}
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, "; ")
	case t != GitHub && len(p.Roles(s)) > 0:
		return "nobody here; on GitHub: " + p.WhoMay(s, GitHub, repo)
	default:
		return "nobody: no role is allowed to run it (see policy.allow)"
	}
}

// writers names repo-writers for a repository: its writers and the
// members of its trusted teams, as @-mentions.
func (p *Policy) writers(repo string) string {
	text := "people with write access to the repository"
	if repo != "" {
		text = "people with write access to " + repo
	}
	for _, r := range p.repos {
		if r.Name == repo && len(r.TrustedTeams) > 0 {
			text += ", and members of @" + strings.Join(r.TrustedTeams, ", @")
		}
	}
	return text
}

// reach is how to name a configured person on a transport: @login on
// GitHub, a mention in Slack, or their config name when tekbot does not
// know them there.
func (p *Policy) reach(name string, t Transport) string {
	i := slices.IndexFunc(p.people, func(pp config.Person) bool { return pp.Name == name })
	switch {
	case i < 0:
		return name
	case t == GitHub && p.people[i].GitHub != "":
		return "@" + p.people[i].GitHub
	case t == Slack && p.people[i].Slack != "":
		return "<@" + p.people[i].Slack + ">"
	}
	return name
}
