package githubtest

import "testing"

// MergeGroupOptions says what [MergeGroup] changes in the real example. A
// zero field keeps the example's value.
type MergeGroupOptions struct {
	HeadSHA     string // merge_group.head_sha and head_commit.id
	Owner, Repo string // repository, renamed as in PRCommentOptions
	// DestroyedReason, when set (merged, invalidated, dequeued), makes the
	// delivery a "destroyed" one. @octokit/webhooks-examples records only
	// checks_requested, so this is that recording with the action changed
	// and the reason added after it, as GitHub's webhook reference
	// describes merge_group destroyed.
	DestroyedReason string
}

// MergeGroup returns a merge_group delivery built from the real
// checks_requested example, with the fields in opts changed.
func MergeGroup(tb testing.TB, opts MergeGroupOptions) []byte {
	tb.Helper()
	root := richestExample(tb, "merge_group", "checks_requested")
	group := root.obj("merge_group")
	if group == nil || root.obj("repository") == nil {
		tb.Fatalf("githubtest: merge_group example lacks merge_group or repository")
	}
	renameRepo(root, opts.Owner, opts.Repo)
	if opts.HeadSHA != "" {
		group.set("head_sha", opts.HeadSHA)
		if c := group.obj("head_commit"); c != nil {
			c.set("id", opts.HeadSHA)
		}
	}
	if opts.DestroyedReason != "" {
		root.set("action", "destroyed")
		root.setAfter("action", "reason", opts.DestroyedReason)
	}
	return encodeOrdered(root)
}
