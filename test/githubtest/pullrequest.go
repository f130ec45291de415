package githubtest

import (
	"fmt"
	"testing"
	"time"
)

// PullRequestClosedOptions says what [PullRequestClosed] changes in the
// real example. A zero field keeps the example's value.
type PullRequestClosedOptions struct {
	Number      int    // number and pull_request.number (its URLs follow)
	Owner, Repo string // repository, renamed as in PRCommentOptions
	Author      string // pull_request.user.login
	HeadSHA     string // pull_request.head.sha
	BaseRef     string // pull_request.base.ref
	// HeadOwner makes it a fork's PR: head.repo is HeadOwner's fork of
	// the repository (head.user and head.label follow).
	HeadOwner string

	// Merged makes it a merge: merged, merged_at (closed_at), merged_by
	// (the sender) and merge_commit_sha, the commit the merge made. The
	// recorded examples are both closes without a merge.
	Merged         bool
	MergeCommitSHA string

	// ClosedAt is closed_at (and updated_at); zero means now.
	ClosedAt time.Time
	// Sender closed or merged it: often a bot (a merge queue), "Bot".
	Sender, SenderType string
}

// PullRequestClosed returns a pull_request "closed" delivery built from
// the real example (the richest one, with installation and organization),
// with the fields in opts changed and everything else as recorded.
func PullRequestClosed(tb testing.TB, opts PullRequestClosedOptions) []byte {
	tb.Helper()
	root := pullRequestEvent(tb, "closed", opts)
	pr := root.obj("pull_request")
	closed := opts.ClosedAt
	if closed.IsZero() {
		closed = time.Now()
	}
	at := closed.UTC().Format(time.RFC3339)
	pr.set("closed_at", at)
	pr.set("updated_at", at)
	if opts.Merged {
		pr.set("merged", true)
		pr.set("merged_at", at)
		by, _ := decodeOrdered(encodeOrdered(root.obj("sender")))
		pr.set("merged_by", by)
	}
	if opts.MergeCommitSHA != "" {
		pr.set("merge_commit_sha", opts.MergeCommitSHA)
	}
	return encodeOrdered(root)
}

// PullRequestSynchronize returns a pull_request "synchronize" delivery (a
// push to the PR's head branch) built from the real example, with the
// fields in opts changed: HeadSHA is the commit pushed ("after"), before
// the head it replaced. The merge and close fields of opts are not used.
func PullRequestSynchronize(tb testing.TB, opts PullRequestClosedOptions, before string) []byte {
	tb.Helper()
	root := pullRequestEvent(tb, "synchronize", opts)
	if opts.HeadSHA != "" {
		root.set("after", opts.HeadSHA)
	}
	if before != "" {
		root.set("before", before)
	}
	root.obj("pull_request").set("updated_at", time.Now().UTC().Format(time.RFC3339))
	return encodeOrdered(root)
}

// PullRequestLabeled returns a pull_request "labeled" delivery (or
// "unlabeled", when removed) built from the real example, with the fields
// in opts changed and label the one added or removed.
func PullRequestLabeled(tb testing.TB, opts PullRequestClosedOptions, label string, removed bool) []byte {
	tb.Helper()
	action := "labeled"
	if removed {
		action = "unlabeled"
	}
	root := pullRequestEvent(tb, action, opts)
	root.obj("label").set("name", label)
	root.obj("pull_request").set("updated_at", time.Now().UTC().Format(time.RFC3339))
	return encodeOrdered(root)
}

// pullRequestEvent is the richest real pull_request example with action,
// its PR, repository and people renamed as opts say.
func pullRequestEvent(tb testing.TB, action string, opts PullRequestClosedOptions) *object {
	tb.Helper()
	root := richestExample(tb, "pull_request", action)
	pr := root.obj("pull_request")
	if pr == nil || root.obj("repository") == nil || pr.obj("head") == nil || pr.obj("base") == nil {
		tb.Fatalf("githubtest: pull_request example lacks pull_request, its head and base, or repository")
	}
	full := renameRepo(root, opts.Owner, opts.Repo)
	name := root.obj("repository").str("name")
	// The head's and base's copies of the repository (renamed in their
	// URLs and full names) take its name too.
	for _, side := range []string{"head", "base"} {
		if r := pr.obj(side).obj("repo"); r != nil {
			r.set("name", name)
		}
	}
	if opts.Number != 0 {
		old := intOf(tb, pr.get("number"))
		for _, f := range []string{"/pulls/%d", "/pull/%d", "/issues/%d"} {
			replaceStrings(pr, fmt.Sprintf(f, old), fmt.Sprintf(f, opts.Number))
		}
		root.set("number", num(opts.Number))
		pr.set("number", num(opts.Number))
	}
	if opts.HeadSHA != "" {
		head := pr.obj("head")
		replaceStrings(pr, head.str("sha"), opts.HeadSHA)
	}
	if opts.HeadOwner != "" {
		head := pr.obj("head")
		fork := head.obj("repo")
		replaceStrings(fork, full, opts.HeadOwner+"/"+name)
		fork.set("full_name", opts.HeadOwner+"/"+name)
		fork.set("fork", true)
		fork.set("id", num(fakeID("repo:"+opts.HeadOwner+"/"+name)))
		renameUser(fork.obj("owner"), opts.HeadOwner, "User")
		renameUser(head.obj("user"), opts.HeadOwner, "User")
		head.set("label", opts.HeadOwner+":"+head.str("ref"))
	}
	if opts.BaseRef != "" {
		pr.obj("base").set("ref", opts.BaseRef)
	}
	renameUser(pr.obj("user"), opts.Author, "")
	renameUser(root.obj("sender"), opts.Sender, opts.SenderType)
	return root
}
