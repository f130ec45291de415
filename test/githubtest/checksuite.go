package githubtest

import (
	"fmt"
	"testing"
)

// CheckSuiteOptions says what [CheckSuiteRerequested] changes in the real
// example. A zero field keeps the example's value.
type CheckSuiteOptions struct {
	ID      int64  // check_suite.id
	HeadSHA string // check_suite.head_sha and .after, and the head of PullRequests
	// Sender pressed the button. The recorded sender is the app itself
	// (re-requesting through the API), a Bot; a person is a "User".
	Sender, SenderType string
	// UpdatedAt is check_suite.updated_at (RFC 3339): each press updates it.
	UpdatedAt   string
	Owner, Repo string // repository, renamed as in PRCommentOptions
	// Numbers of the pull requests in check_suite.pull_requests; nil keeps
	// the example's. An empty, non-nil list is what GitHub sends for a PR
	// from a fork.
	PullRequests []int
}

// CheckSuiteRerequested returns a check_suite "rerequested" delivery
// (someone pressed "Re-run all checks" or "Re-run failed checks") built
// from the real example, with the fields in opts changed.
func CheckSuiteRerequested(tb testing.TB, opts CheckSuiteOptions) []byte {
	tb.Helper()
	root := richestExample(tb, "check_suite", "rerequested")
	suite := root.obj("check_suite")
	if suite == nil || root.obj("repository") == nil {
		tb.Fatalf("githubtest: check_suite example lacks check_suite or repository")
	}
	full := renameRepo(root, opts.Owner, opts.Repo)
	api := "https://api.github.com/repos/" + full
	if opts.ID != 0 {
		suite.set("id", num(opts.ID))
		suite.set("node_id", nodeID("010:CheckSuite", opts.ID))
	}
	id := intOf(tb, suite.get("id"))
	suite.set("url", fmt.Sprintf("%s/check-suites/%d", api, id))
	suite.set("check_runs_url", fmt.Sprintf("%s/check-suites/%d/check-runs", api, id))
	if opts.HeadSHA != "" {
		suite.set("head_sha", opts.HeadSHA)
		suite.set("after", opts.HeadSHA)
	}
	if opts.UpdatedAt != "" {
		suite.set("updated_at", opts.UpdatedAt)
	}
	renameUser(root.obj("sender"), opts.Sender, opts.SenderType)
	if opts.PullRequests != nil {
		suite.set("pull_requests", pullRequestRefs(root.obj("repository"), opts.PullRequests, suite.get("head_branch"), suite.get("head_sha"), ""))
	}
	return encodeOrdered(root)
}

// pullRequestRefs lists PRs of repo as check runs and suites do: number,
// head (headRef at headSHA) and base (base, or the repository's default
// branch), each with a short reference to the repository.
func pullRequestRefs(repo *object, numbers []int, headRef, headSHA any, base string) []any {
	full := repo.str("full_name")
	api := "https://api.github.com/repos/" + full
	if base == "" {
		base = repo.str("default_branch")
	}
	repoRef := func() *object { return newObject("id", repo.get("id"), "url", api, "name", repo.get("name")) }
	prs := []any{}
	for _, n := range numbers {
		prs = append(prs, newObject(
			"url", fmt.Sprintf("%s/pulls/%d", api, n),
			"id", num(fakeID(fmt.Sprintf("%s#%d", full, n))),
			"number", num(n),
			"head", newObject("ref", headRef, "sha", headSHA, "repo", repoRef()),
			"base", newObject("ref", base, "sha", fakeSHA(full+"@"+base), "repo", repoRef()),
		))
	}
	return prs
}
