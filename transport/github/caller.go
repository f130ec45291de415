package github

import (
	"context"

	"tekbot/bot"
	"tekbot/config"
)

// Permissions answers who is trusted on a repository. API implements it
// with GitHub's REST API; the sandbox with its own data.
type Permissions interface {
	CanWrite(ctx context.Context, repo, login string) (bool, error)
	InTeam(ctx context.Context, orgTeam, login string) (bool, error)
}

// Approvals are the commits maintainers approved with /ok-to-test
// (state.Approvals).
type Approvals interface {
	Approved(ctx context.Context, repo string, number int, sha string) (bool, error)
	AnyApproved(ctx context.Context, repo string, number int) (bool, error)
}

// Vouch answers GitHub's built-in policy roles for one commenter on one PR.
type Vouch struct {
	Permissions Permissions
	Approvals   Approvals
	Repo        *config.Repository
	Login       string
	PR          *bot.PullRequest
	// early, when set, is Login's standing on Repo, looked up beside the
	// PR read (lookUpTrust).
	early *trust
}

// HasRole implements bot.RoleChecker.
func (v *Vouch) HasRole(ctx context.Context, role string) (bool, error) {
	switch role {
	case config.RoleRepoWriters:
		return v.trusted(ctx, v.Login)
	case config.RoleTrustedAuthors:
		if v.PR == nil || v.Login != v.PR.Author {
			return false, nil
		}
		if ok, err := v.approved(ctx); ok || err != nil {
			return ok, err
		}
		return v.trusted(ctx, v.Login)
	}
	return false, nil
}

// approved: a maintainer approved the PR's head commit or, where the
// repository trusts whole PRs (Prow's sticky ok-to-test), the PR. The
// approval is the one kept in tekbot's state: the ok-to-test label only
// shows it, and anyone with triage rights can add a label.
func (v *Vouch) approved(ctx context.Context) (bool, error) {
	if v.Approvals == nil {
		return false, nil
	}
	if v.Repo.TrustMode() == config.TrustPR {
		return v.Approvals.AnyApproved(ctx, v.PR.Repository, v.PR.Number)
	}
	return v.Approvals.Approved(ctx, v.PR.Repository, v.PR.Number, v.PR.HeadSHA)
}

// trusted: write access to the repository, or a member of a trusted team.
func (v *Vouch) trusted(ctx context.Context, login string) (bool, error) {
	if v.early != nil && login == v.Login {
		return v.early.wait(ctx)
	}
	return trusted(ctx, v.Permissions, v.Repo, login)
}

func trusted(ctx context.Context, p Permissions, repo *config.Repository, login string) (bool, error) {
	ok, err := p.CanWrite(ctx, repo.Name, login)
	if ok || err != nil {
		return ok, err
	}
	for _, team := range repo.TrustedTeams {
		if ok, err := p.InTeam(ctx, team, login); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// trust is a commenter's standing on a repository, looked up while the PR
// is read: a command then waits on GitHub once before it acts, not for
// the PR and then for the permission.
type trust struct {
	done chan struct{}
	ok   bool
	err  error
}

func lookUpTrust(ctx context.Context, p Permissions, repo *config.Repository, login string) *trust {
	t := &trust{done: make(chan struct{})}
	go func() {
		defer close(t.done)
		t.ok, t.err = trusted(ctx, p, repo, login)
	}()
	return t
}

func (t *trust) wait(ctx context.Context) (bool, error) {
	select {
	case <-t.done:
		return t.ok, t.err
	case <-ctx.Done():
		return false, ctx.Err()
	}
}
