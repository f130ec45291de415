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
}

// NewPolicy wraps the configured policy.
func NewPolicy(cfg config.Policy) *Policy { return &Policy{cfg: cfg} }

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

// WhoMay says in words who may run a command, for denials.
func (p *Policy) WhoMay(s *Spec) string {
	var parts []string
	for _, role := range p.Roles(s) {
		switch role {
		case config.RoleEveryone:
			parts = append(parts, "everyone")
		case config.RoleRepoWriters:
			parts = append(parts, "people with write access to the repository (or in its trusted teams)")
		case config.RoleTrustedAuthors:
			parts = append(parts, "the author of a trusted PR (after a maintainer's /ok-to-test)")
		default:
			members := p.cfg.Roles[role]
			if len(members) == 0 {
				parts = append(parts, role+" (nobody yet)")
			} else {
				parts = append(parts, fmt.Sprintf("%s (%s)", role, strings.Join(members, ", ")))
			}
		}
	}
	if len(parts) == 0 {
		return "nobody: no role is allowed to run it (see policy.allow)"
	}
	return strings.Join(parts, "; ")
}
