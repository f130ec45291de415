package githubtest

import (
	"reflect"
	"testing"
	"time"
)

func TestMatcherTable(t *testing.T) {
	t.Parallel()
	op := func(method, tmpl string, multi []string, integer ...string) operation {
		o := operation{template: tmpl, method: method, id: method + " " + tmpl, multi: map[string]bool{}, integer: map[string]bool{}}
		for _, n := range multi {
			o.multi[n] = true
		}
		for _, n := range integer {
			o.integer[n] = true
		}
		return o
	}
	api, err := newAPI([]operation{
		op("GET", "/", nil),
		op("GET", "/repos/{owner}/{repo}", nil),
		op("GET", "/repos/{owner}/{repo}/issues/comments", nil),
		op("GET", "/repos/{owner}/{repo}/issues/comments/{comment_id}", nil, "comment_id"),
		op("POST", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", nil, "comment_id"),
		op("GET", "/repos/{owner}/{repo}/issues/{issue_number}", nil, "issue_number"),
		op("PATCH", "/repos/{owner}/{repo}/issues/{issue_number}", nil, "issue_number"),
		op("DELETE", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", nil, "issue_number"),
		op("GET", "/repos/{owner}/{repo}/git/ref/{ref}", []string{"ref"}),
		op("GET", "/repos/{owner}/{repo}/commits/{ref}", []string{"ref"}),
		op("GET", "/repos/{owner}/{repo}/commits/{ref}/status", []string{"ref"}),
		op("GET", "/repos/{owner}/{repo}/contents/{path}", []string{"path"}),
		op("GET", "/repos/{owner}/{repo}/compare/{base}...{head}", nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	p := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		method, path string
		template     string // "" = no match
		params       map[string]string
	}{
		{"GET", "/", "/", p()},
		{"GET", "/repos/o/r", "/repos/{owner}/{repo}", p("owner", "o", "repo", "r")},
		{"get", "/repos/o/r", "/repos/{owner}/{repo}", p("owner", "o", "repo", "r")},
		{"GET", "/repos/o/r/", "", nil},
		{"GET", "/repos/o", "", nil},
		{"GET", "/repos//r", "", nil},
		{"POST", "/repos/o/r", "", nil},
		// A literal beats a parameter.
		{"GET", "/repos/o/r/issues/comments", "/repos/{owner}/{repo}/issues/comments", p("owner", "o", "repo", "r")},
		{"GET", "/repos/o/r/issues/comments/12", "/repos/{owner}/{repo}/issues/comments/{comment_id}", p("owner", "o", "repo", "r", "comment_id", "12")},
		{"POST", "/repos/o/r/issues/comments/12/reactions", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", p("owner", "o", "repo", "r", "comment_id", "12")},
		{"PATCH", "/repos/o/r/issues/5", "/repos/{owner}/{repo}/issues/{issue_number}", p("owner", "o", "repo", "r", "issue_number", "5")},
		// Integer parameters take digits only.
		{"GET", "/repos/o/r/issues/abc", "", nil},
		{"POST", "/repos/o/r/issues/comments/x/reactions", "", nil},
		{"POST", "/repos/o/r/retest", "", nil},
		// Escaped segments are one segment; a slash in a one-segment name is not.
		{"DELETE", "/repos/o/r/issues/5/labels/kind%2Fbug", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", p("owner", "o", "repo", "r", "issue_number", "5", "name", "kind/bug")},
		{"DELETE", "/repos/o/r/issues/5/labels/needs%20ok-to-test", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", p("owner", "o", "repo", "r", "issue_number", "5", "name", "needs ok-to-test")},
		{"DELETE", "/repos/o/r/issues/5/labels/kind/bug", "", nil},
		{"GET", "/repos/o/r/issues/5/labels/%zz", "", nil},
		// Multi-segment parameters take as few segments as let the rest match.
		{"GET", "/repos/o/r/git/ref/heads/feature/x", "/repos/{owner}/{repo}/git/ref/{ref}", p("owner", "o", "repo", "r", "ref", "heads/feature/x")},
		{"GET", "/repos/o/r/commits/heads/main/status", "/repos/{owner}/{repo}/commits/{ref}/status", p("owner", "o", "repo", "r", "ref", "heads/main")},
		{"GET", "/repos/o/r/commits/main", "/repos/{owner}/{repo}/commits/{ref}", p("owner", "o", "repo", "r", "ref", "main")},
		{"GET", "/repos/o/r/contents/deploy/prod/app.yaml", "/repos/{owner}/{repo}/contents/{path}", p("owner", "o", "repo", "r", "path", "deploy/prod/app.yaml")},
		{"GET", "/repos/o/r/contents/", "", nil},
		// Literals and parameters in one segment.
		{"GET", "/repos/o/r/compare/main...feature", "/repos/{owner}/{repo}/compare/{base}...{head}", p("owner", "o", "repo", "r", "base", "main", "head", "feature")},
		{"GET", "/repos/o/r/compare/main..feature", "", nil},
	} {
		m, err := api.Match(tc.method, tc.path)
		if tc.template == "" {
			if err == nil {
				t.Errorf("%s %s matched %s, want no match", tc.method, tc.path, m.Template)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %s: %v", tc.method, tc.path, err)
			continue
		}
		if m.Template != tc.template || !reflect.DeepEqual(m.Params, tc.params) {
			t.Errorf("%s %s = %s %v, want %s %v", tc.method, tc.path, m.Template, m.Params, tc.template, tc.params)
		}
	}
}

// TestRealDescription checks the matcher built from @octokit/openapi on the
// requests tekbot makes, and that requests GitHub doesn't have are refused.
func TestRealDescription(t *testing.T) {
	t.Parallel()
	start := time.Now()
	api := LoadAPI(t)
	t.Logf("description loaded in %v: %d operations", time.Since(start), api.Operations())
	if n := api.Operations(); n < 1000 {
		t.Fatalf("only %d operations in the description", n)
	}
	for _, tc := range []struct{ method, path, template, opID string }{
		{"POST", "/repos/o/r/issues/comments/1/reactions", "/repos/{owner}/{repo}/issues/comments/{comment_id}/reactions", "reactions/create-for-issue-comment"},
		{"POST", "/repos/o/r/issues/7/comments", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "issues/create-comment"},
		{"GET", "/repos/o/r/issues/7/comments", "/repos/{owner}/{repo}/issues/{issue_number}/comments", "issues/list-comments"},
		{"GET", "/repos/o/r/collaborators/alice/permission", "/repos/{owner}/{repo}/collaborators/{username}/permission", "repos/get-collaborator-permission-level"},
		{"GET", "/orgs/o/teams/t/memberships/alice", "/orgs/{org}/teams/{team_slug}/memberships/{username}", "teams/get-membership-for-user-in-org"},
		{"GET", "/repos/o/r/pulls/7", "/repos/{owner}/{repo}/pulls/{pull_number}", "pulls/get"},
		{"POST", "/repos/o/r/issues/7/labels", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "issues/add-labels"},
		{"GET", "/repos/o/r/issues/7/labels", "/repos/{owner}/{repo}/issues/{issue_number}/labels", "issues/list-labels-on-issue"},
		{"DELETE", "/repos/o/r/issues/7/labels/lgtm", "/repos/{owner}/{repo}/issues/{issue_number}/labels/{name}", "issues/remove-label"},
		{"GET", "/repos/o/r/check-runs/5", "/repos/{owner}/{repo}/check-runs/{check_run_id}", "checks/get"},
		{"GET", "/repos/o/r/commits/abc/check-runs", "/repos/{owner}/{repo}/commits/{ref}/check-runs", "checks/list-for-ref"},
		// The GitOps flow: refs and contents whose names hold slashes.
		{"GET", "/repos/o/r/git/ref/heads/release/v1", "/repos/{owner}/{repo}/git/ref/{ref}", "git/get-ref"},
		{"POST", "/repos/o/r/git/refs", "/repos/{owner}/{repo}/git/refs", "git/create-ref"},
		{"PATCH", "/repos/o/r/git/refs/heads/bump/app", "/repos/{owner}/{repo}/git/refs/{ref}", "git/update-ref"},
		{"GET", "/repos/o/r/contents/clusters/prod/app.yaml", "/repos/{owner}/{repo}/contents/{path}", "repos/get-content"},
		{"PUT", "/repos/o/r/contents/clusters/prod/app.yaml", "/repos/{owner}/{repo}/contents/{path}", "repos/create-or-update-file-contents"},
		{"POST", "/repos/o/r/pulls", "/repos/{owner}/{repo}/pulls", "pulls/create"},
		// The more specific of the two templates for it.
		{"GET", "/repos/o/r/compare/main...feature", "/repos/{owner}/{repo}/compare/{base}...{head}", "repos/compare-commits"},
	} {
		m, err := api.Match(tc.method, tc.path)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if m.Template != tc.template || m.OperationID != tc.opID {
			t.Errorf("%s %s = %s (%s), want %s (%s)", tc.method, tc.path, m.Template, m.OperationID, tc.template, tc.opID)
		}
	}
	for _, tc := range []struct{ method, path string }{
		{"POST", "/repos/o/r/retest"},
		{"PUT", "/repos/o/r/issues/7/comments"},               // path exists, method doesn't
		{"POST", "/repos/o/r/issues/comments/1/reaction"},     // typo
		{"GET", "/repos/o/r/pulls/seven"},                     // not an integer
		{"DELETE", "/repos/o/r/issues/7/labels/kind/bug"},     // unescaped slash in a label
		{"GET", "/repos/o/r/collaborators/alice/permission/"}, // trailing slash
	} {
		if m, err := api.Match(tc.method, tc.path); err == nil {
			t.Errorf("%s %s matched %s; GitHub has no such operation", tc.method, tc.path, m.Template)
		} else {
			t.Logf("refused as expected: %v", err)
		}
	}
	if !api.Has("GET", "/repos/{owner}/{repo}/pulls/{pull_number}") || api.Has("POST", "/repos/{owner}/{repo}/pulls/{pull_number}") {
		t.Error("Has is wrong")
	}
}
