package github

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	gh "github.com/google/go-github/v62/github"
)

// A repository's writers are read from GitHub in one list, kept for
// cacheTTL and then revalidated with its ETag (a 304 is free), so a
// maintainer tekbot has never seen costs no call of their own: /retest
// waits on the PR read alone. The list goes stale two ways, and both are
// bounded: GitHub sends member, membership, organization, team and
// team_add events when roles change, and the person they name (everyone,
// for a team's events) is then asked about one by one until the list is
// read again (Forget); an event lost costs at most cacheTTL.

// RolesCachedFor is how long a role GitHub gave is trusted without asking
// again, so how long a role change must be remembered (state.RoleChanges).
const RolesCachedFor = permissionCacheTTL

// maxWriterPages bounds the list: a repository with more writers than
// that is asked about one person at a time (its list is kept as nil).
const maxWriterPages = 10

// CanWrite reports whether login has write, maintain or admin permission on
// repo.
func (a *API) CanWrite(ctx context.Context, repo, login string) (bool, error) {
	w, err := a.writers(ctx, repo)
	if logins, _ := w.value.(map[string]bool); err == nil && logins != nil && !a.forgotten(login, w.answered) {
		return logins[strings.ToLower(login)], nil
	}
	// No list to trust: GitHub's answer for this one person.
	return a.permission(ctx, repo, login)
}

// writers lists repo's collaborators with push access or more, in lower
// case, from the cache while it is fresh. Commands arriving together share
// one read: a burst after a start lists the writers once, not per person.
// (A shared read started before a role event is older than it, so it does
// not answer for the person the event names.)
func (a *API) writers(ctx context.Context, repo string) (cached, error) {
	v, err, _ := a.listing.Do(repo, func() (any, error) { return a.listWriters(ctx, repo) })
	c, _ := v.(cached)
	return c, err
}

func (a *API) listWriters(ctx context.Context, repo string) (cached, error) {
	owner, name := splitRepo(repo)
	return a.readCached(ctx, "writers/"+repo, a.cacheTTL, func(etag string) (any, *gh.Response, error) {
		path := fmt.Sprintf("repos/%v/%v/collaborators?affiliation=all&permission=push&per_page=100", owner, name)
		users, resp, err := getWithETag[[]*gh.User](ctx, a.client, path, etag)
		if err != nil || resp.StatusCode == http.StatusNotModified {
			return nil, resp, err
		}
		logins := map[string]bool{}
		add := func(users []*gh.User) {
			for _, u := range users {
				// permission=push filters already; the flags say it again.
				if p := u.GetPermissions(); p["push"] || p["maintain"] || p["admin"] {
					logins[strings.ToLower(u.GetLogin())] = true
				}
			}
		}
		add(*users)
		if resp.NextPage == 0 {
			return logins, resp, nil
		}
		// A list of pages has no ETag of its own: the first page's would
		// say nothing of the others.
		resp.Header.Del("ETag")
		first := resp
		for page := resp.NextPage; page != 0; page = resp.NextPage {
			if page > maxWriterPages {
				return map[string]bool(nil), first, nil
			}
			users, resp, err = getWithETag[[]*gh.User](ctx, a.client, fmt.Sprintf("%s&page=%d", path, page), "")
			if err != nil {
				return nil, resp, err
			}
			add(*users)
		}
		return logins, first, nil
	})
}

// forgotten: a role event named login (or everyone) at or after answered.
func (a *API) forgotten(login string, answered time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	at, ok := a.forgot[strings.ToLower(login)]
	return !answered.After(a.forgotAll) || (ok && !answered.After(at))
}

// Forget drops what the cache says of login's roles, or of everyone's when
// login is "": GitHub said they changed (a role event). Until the writers
// are listed again, login's permission is asked of GitHub on its own, so a
// removed collaborator loses their rights at once.
func (a *API) Forget(login string) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if login == "" {
		a.forgotAll = now
		clear(a.forgot)
	} else {
		a.forgot[strings.ToLower(login)] = now
	}
	for key := range a.cache {
		kind, rest, _ := strings.Cut(key, "/")
		if kind != "perm" && kind != "team" {
			continue
		}
		if login == "" || strings.EqualFold(rest[strings.LastIndex(rest, "/")+1:], login) {
			delete(a.cache, key)
		}
	}
	// A mark older than a list's life can outlast no list.
	for l, at := range a.forgot {
		if now.Sub(at) > a.cacheTTL {
			delete(a.forgot, l)
		}
	}
}

// roleEvents are GitHub's events for a change of who may do what: a
// collaborator added, removed or given another role (member), a team's
// members (membership), the organisation's (organization), a team's
// access (team, team_add).
var roleEvents = map[string]bool{"member": true, "membership": true, "organization": true, "team": true, "team_add": true}

// rolesChanged makes the API forget the roles the event changed: the
// person it names, or everyone's when it names a team's access.
func (r *Receiver) rolesChanged(ctx context.Context, w http.ResponseWriter, log *slog.Logger, event string, body []byte) {
	forget, ok := r.API.(RoleEvents)
	if !ok {
		w.WriteHeader(http.StatusOK)
		fmt.Fprintln(w, "ignored: roles are not cached")
		return
	}
	payload, err := gh.ParseWebHook(event, body)
	if err != nil {
		log.Info("github webhook malformed", "err", err)
		http.Error(w, "malformed payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	login := ""
	switch e := payload.(type) {
	case *gh.MemberEvent:
		login = e.GetMember().GetLogin()
	case *gh.MembershipEvent:
		login = e.GetMember().GetLogin()
	case *gh.OrganizationEvent:
		login = e.GetMembership().GetUser().GetLogin()
	}
	forget.Forget(login)
	log.Info("github roles changed: cached roles forgotten", "login", login)
	if r.RoleChanges != nil {
		if err := r.RoleChanges.Note(ctx, login, r.now()); err != nil {
			// The other replicas forget within a minute anyway; a
			// redelivery makes them forget now.
			log.Error("passing a role change on to the other replicas failed", "login", login, "err", err)
			http.Error(w, "could not pass the change on; redeliver", http.StatusServiceUnavailable)
			return
		}
	}
	w.WriteHeader(http.StatusOK)
	fmt.Fprintln(w, "roles refreshed")
}
