package github_test

// Issue 26: a maintainer's write permission comes from the list of the
// repository's writers, kept a minute; GitHub's role events make tekbot
// forget what it knew of the people they name at once.

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"tekbot/test/githubtest"
	"tekbot/test/kube"
	"tekbot/test/poll"
)

// TestRoleEventsTakeEffectAtOnce: a maintainer's /retest is allowed, then
// GitHub changes their role. With the signed event delivered, their next
// /retest is judged on GitHub's new answer at once; with the event lost,
// the list of writers tekbot read stands until it is a minute old.
func TestRoleEventsTakeEffectAtOnce(t *testing.T) {
	t.Parallel()
	member := func(action string) func(*testing.T) (string, []byte) {
		return func(t *testing.T) (string, []byte) {
			return "member", githubtest.Member(t, githubtest.MemberOptions{Action: action, Login: maintainer, Owner: owner, Repo: repoName})
		}
	}
	tests := []struct {
		name      string
		from, to  string // the maintainer's role before and after ("team": through a trusted team)
		event     func(*testing.T) (kind string, body []byte)
		expire    bool // the list of writers is over a minute old
		allowed   bool // the second /retest reruns
		wantCalls []string
	}{
		{name: "removed from the repository", from: "write", to: "none", event: member("removed"),
			wantCalls: []string{callPR, callPerm}},
		{name: "given read instead of write", from: "write", to: "read", event: member("edited"),
			wantCalls: []string{callPR, callPerm}},
		{name: "added as a writer", from: "read", to: "write", event: member("added"), allowed: true,
			wantCalls: []string{callPR, callPerm}},
		{name: "a team's access removed: everyone's roles are forgotten", from: "write", to: "read",
			event: func(t *testing.T) (string, []byte) {
				return "team", githubtest.Example(t, "team", "removed_from_repository", 0)
			},
			wantCalls: []string{callPR, callPerm}},
		{name: "removed from a trusted team", from: "team", to: "read",
			event: func(t *testing.T) (string, []byte) {
				return "membership", githubtest.Member(t, githubtest.MemberOptions{Event: "membership", Action: "removed", Login: maintainer, Owner: owner})
			},
			wantCalls: []string{callPR, callPerm, callTeam}},
		{name: "event lost, list under a minute old", from: "write", to: "none", allowed: true,
			wantCalls: []string{callPR}},
		{name: "event lost, list over a minute old", from: "write", to: "none", expire: true,
			wantCalls: []string{callPR, callWriters}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tt.from == "team" { // read access, trusted through a team
				e.cfg.GitHub.Repositories[0].TrustedTeams = []string{team}
				e.gh.SetPermission(owner, repoName, maintainer, "read")
				e.gh.AddTeamMember(owner, "plumbing", maintainer)
			} else {
				e.gh.SetPermission(owner, repoName, maintainer, tt.from)
			}
			api := e.apiClient()
			lint := e.seed("lint", kube.Failed, false)
			r := e.replicaWith(api)
			e.send(r, event{maintainer, "/retest", "MEMBER"}, 9400)
			r.Drain(t)
			if _, ok := reruns(e.runs())[lint.Name]; ok != (tt.from != "read") {
				t.Fatalf("first /retest as %s: rerun %v", tt.from, ok)
			}

			e.gh.SetPermission(owner, repoName, maintainer, tt.to)
			if tt.from == "team" {
				e.gh.SetTeamMembership(owner, "plumbing", maintainer, "member", "pending")
			}
			r = e.replicaWith(api)
			if tt.event != nil {
				kind, body := tt.event(t)
				if code, msg := r.Deliver(t, kind, "roles-1", body); code != http.StatusOK {
					t.Fatalf("%s event: %d %s", kind, code, msg)
				}
			}
			if tt.expire {
				api.ExpireCache()
			}
			unit := e.seed("unit-tests", kube.Failed, false)
			from := len(e.gh.Requests())
			e.send(r, event{maintainer, "/retest", "MEMBER"}, 9401)
			r.Drain(t)
			if _, ok := reruns(e.runs())[unit.Name]; ok != tt.allowed {
				t.Errorf("second /retest as %s: rerun %v, want %v", tt.to, ok, tt.allowed)
			}
			var reads []string
			for _, c := range e.calls(from) {
				if c != callReact && c != callReply {
					reads = append(reads, c)
				}
			}
			if want := slices.Sorted(slices.Values(tt.wantCalls)); !slices.Equal(reads, want) {
				t.Errorf("GitHub reads: got %q, want %q", reads, want)
			}
		})
	}
}

// TestRoleEventReachesEveryReplica: GitHub delivers a role event to one
// replica; another, which listed the writers before, denies the removed
// maintainer's next /retest at once.
func TestRoleEventReachesEveryReplica(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	apiA, apiB := e.apiClient(), e.apiClient()
	lint := e.seed("lint", kube.Failed, false)
	b := e.replicaWith(apiB)
	e.send(b, event{maintainer, "/retest", "MEMBER"}, 9500)
	poll.Until(t, "replica B's first /retest answered", 30*time.Second, func() bool { return len(e.replies()) == 1 })
	if _, ok := reruns(e.runs())[lint.Name]; !ok {
		t.Fatal("the maintainer's first /retest made no rerun")
	}

	e.gh.SetPermission(owner, repoName, maintainer, "none")
	a := e.replicaWith(apiA)
	removed := githubtest.Member(t, githubtest.MemberOptions{Action: "removed", Login: maintainer, Owner: owner, Repo: repoName})
	if code, msg := a.Deliver(t, "member", "roles-2", removed); code != http.StatusOK {
		t.Fatalf("member event: %d %s", code, msg)
	}
	poll.Until(t, "replica B told of the role change", 30*time.Second, func() bool { return apiB.Forgot(maintainer) })
	unit := e.seed("unit-tests", kube.Failed, false)
	e.send(b, event{maintainer, "/retest", "MEMBER"}, 9501)
	b.Drain(t)
	if _, ok := reruns(e.runs())[unit.Name]; ok {
		t.Error("replica B reran for a maintainer removed on replica A")
	}
}
