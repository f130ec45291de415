package githubtest

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

type exampleEvent struct {
	Name     string            `json:"name"`
	Actions  []string          `json:"actions"`
	Examples []json.RawMessage `json:"examples"`
}

var examplesIndex struct {
	once   sync.Once
	events map[string]exampleEvent
	names  []string
	err    error
}

func loadExamples(tb testing.TB) map[string]exampleEvent {
	tb.Helper()
	file := fixturePath(tb, WebhookExamplesFile)
	examplesIndex.once.Do(func() {
		data, err := os.ReadFile(file)
		if err != nil {
			examplesIndex.err = err
			return
		}
		var events []exampleEvent
		if err := json.Unmarshal(data, &events); err != nil {
			examplesIndex.err = fmt.Errorf("%s: %w", file, err)
			return
		}
		examplesIndex.events = make(map[string]exampleEvent, len(events))
		for _, e := range events {
			examplesIndex.events[e.Name] = e
			examplesIndex.names = append(examplesIndex.names, e.Name)
		}
	})
	if examplesIndex.err != nil {
		tb.Fatalf("githubtest: loading webhook examples: %v", examplesIndex.err)
	}
	return examplesIndex.events
}

// Examples returns every recorded example delivery of a webhook event (the
// X-GitHub-Event name, e.g. "issue_comment") whose "action" is action, or all
// of them when action is "". They are compact JSON, otherwise byte for byte
// the examples of @octokit/webhooks-examples, in the package's order. An
// unknown event fails the test.
func Examples(tb testing.TB, event, action string) [][]byte {
	tb.Helper()
	events := loadExamples(tb)
	e, ok := events[event]
	if !ok {
		tb.Fatalf("githubtest: no webhook event %q in @octokit/webhooks-examples; it has: %s", event, strings.Join(examplesIndex.names, ", "))
	}
	var out [][]byte
	for _, raw := range e.Examples {
		var head struct {
			Action string `json:"action"`
		}
		if err := json.Unmarshal(raw, &head); err != nil {
			tb.Fatalf("githubtest: %s example: %v", event, err)
		}
		if action != "" && head.Action != action {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			tb.Fatalf("githubtest: %s example: %v", event, err)
		}
		out = append(out, b.Bytes())
	}
	return out
}

// Example returns the index-th (from 0) example delivery of event with the
// given action ("" for any), as [Examples] orders them. It fails the test if
// there is no such example, saying how many there are.
func Example(tb testing.TB, event, action string, index int) []byte {
	tb.Helper()
	all := Examples(tb, event, action)
	if index < 0 || index >= len(all) {
		tb.Fatalf("githubtest: %s example %d with action %q requested, but there are %d (actions: %v)",
			event, index, action, len(all), examplesIndex.events[event].Actions)
	}
	return all[index]
}

// richestExample decodes the example of event/action with the most top-level
// fields (the first of equals): the newest recordings carry installation and
// organization, as deliveries to a GitHub App do.
func richestExample(tb testing.TB, event, action string) *object {
	tb.Helper()
	var best *object
	for _, raw := range Examples(tb, event, action) {
		v, err := decodeOrdered(raw)
		if err != nil {
			tb.Fatalf("githubtest: %s example: %v", event, err)
		}
		o, ok := v.(*object)
		if !ok {
			tb.Fatalf("githubtest: %s example is not a JSON object", event)
		}
		if best == nil || len(o.keys) > len(best.keys) {
			best = o
		}
	}
	if best == nil {
		tb.Fatalf("githubtest: no %s example with action %q", event, action)
	}
	return best
}

// PRCommentOptions says what [PRComment] changes in the real example. A zero
// field keeps the example's value.
type PRCommentOptions struct {
	Body      string // comment.body, e.g. "/retest"
	CommentID int64  // comment.id (its URLs and node_id follow)

	// The commenter: comment.user and sender. Login "renovate[bot]" with
	// Type "Bot" looks like GitHub's bot accounts.
	Commenter         string
	CommenterType     string // "User" or "Bot"
	AuthorAssociation string // comment.author_association: OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, NONE

	Number   int    // issue.number, i.e. the pull request's number
	State    string // issue.state: "open" or "closed" (closed_at follows)
	PRAuthor string // issue.user.login
	// Merged, with State "closed", says the PR merged:
	// issue.pull_request.merged_at is closed_at.
	Merged bool

	// Repository. When Owner is set and the example has an organization, the
	// organization is renamed to Owner too (an org-owned repository).
	Owner, Repo string

	// issue.labels by name. nil keeps the example's labels; an empty,
	// non-nil slice means none.
	Labels []string

	// CreatedAt is comment.created_at (and updated_at). Zero means now, as
	// for a comment GitHub delivers the moment it is written.
	CreatedAt time.Time
}

// PRComment returns an issue_comment "created" delivery for a comment on a
// pull request, built from a real example: the richest "created" example of
// @octokit/webhooks-examples (with installation and organization), given
// issue.pull_request the way GitHub sets it on pull requests (its issue and
// comment html_url say /pull/ too), with the fields in opts changed and
// everything else as recorded. The commenter is also the sender.
func PRComment(tb testing.TB, opts PRCommentOptions) []byte {
	tb.Helper()
	root := richestExample(tb, "issue_comment", "created")
	issue, comment, repo := root.obj("issue"), root.obj("comment"), root.obj("repository")
	if issue == nil || comment == nil || repo == nil {
		tb.Fatalf("githubtest: issue_comment example lacks issue, comment or repository")
	}
	full := renameRepo(root, opts.Owner, opts.Repo)

	number := opts.Number
	if number == 0 {
		number = intOf(tb, issue.get("number"))
	}
	issue.set("number", num(number))
	commentID := opts.CommentID
	if commentID == 0 {
		commentID = int64(intOf(tb, comment.get("id")))
	} else {
		comment.set("id", num(commentID))
		comment.set("node_id", nodeID("012:IssueComment", commentID))
	}

	api, web := "https://api.github.com/repos/"+full, "https://github.com/"+full
	issueAPI := fmt.Sprintf("%s/issues/%d", api, number)
	prWeb := fmt.Sprintf("%s/pull/%d", web, number)
	issue.set("url", issueAPI)
	issue.set("repository_url", api)
	issue.set("labels_url", issueAPI+"/labels{/name}")
	issue.set("comments_url", issueAPI+"/comments")
	issue.set("events_url", issueAPI+"/events")
	issue.set("html_url", prWeb)
	if issue.has("timeline_url") {
		issue.set("timeline_url", issueAPI+"/timeline")
	}
	if r := issue.obj("reactions"); r != nil {
		r.set("url", issueAPI+"/reactions")
	}
	pr := newObject(
		"url", fmt.Sprintf("%s/pulls/%d", api, number),
		"html_url", prWeb,
		"diff_url", prWeb+".diff",
		"patch_url", prWeb+".patch",
		"merged_at", nil,
	)
	after := "author_association"
	for _, k := range []string{"draft", "active_lock_reason"} {
		if issue.has(k) {
			after = k
			break
		}
	}
	issue.setAfter(after, "pull_request", pr)

	commentAPI := fmt.Sprintf("%s/issues/comments/%d", api, commentID)
	comment.set("url", commentAPI)
	comment.set("html_url", fmt.Sprintf("%s#issuecomment-%d", prWeb, commentID))
	comment.set("issue_url", issueAPI)
	if r := comment.obj("reactions"); r != nil {
		r.set("url", commentAPI+"/reactions")
	}
	if opts.Body != "" {
		comment.set("body", opts.Body)
	}
	created := opts.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	comment.set("created_at", created.UTC().Format(time.RFC3339))
	comment.set("updated_at", created.UTC().Format(time.RFC3339))
	if opts.AuthorAssociation != "" {
		comment.set("author_association", opts.AuthorAssociation)
	}
	if opts.Commenter != "" || opts.CommenterType != "" {
		renameUser(comment.obj("user"), opts.Commenter, opts.CommenterType)
		renameUser(root.obj("sender"), opts.Commenter, opts.CommenterType)
	}
	if opts.PRAuthor != "" {
		renameUser(issue.obj("user"), opts.PRAuthor, "")
	}
	switch opts.State {
	case "":
	case "open":
		issue.set("state", "open")
		issue.set("closed_at", nil)
	case "closed":
		issue.set("state", "closed")
		issue.set("closed_at", issue.get("updated_at"))
		if opts.Merged {
			pr.set("merged_at", issue.get("closed_at"))
		}
	default:
		tb.Fatalf("githubtest: PRComment: State %q is neither open nor closed", opts.State)
	}
	if opts.Labels != nil {
		issue.set("labels", labelObjects(full, opts.Labels))
	}
	return encodeOrdered(root)
}

// CheckRunOptions says what [CheckRunRerequested] changes in the real
// example. A zero field keeps the example's value.
type CheckRunOptions struct {
	ID         int64  // check_run.id (its URLs follow)
	Name       string // check_run.name
	ExternalID string // check_run.external_id
	HeadSHA    string // check_run.head_sha, check_suite.head_sha and .after
	HeadBranch string // check_suite.head_branch, and the head ref of PullRequests
	AppID      int64  // id of the GitHub App owning the check run (check_run.app, check_suite.app)

	Owner, Repo string // repository, renamed as in PRCommentOptions

	// Numbers of the pull requests the check run belongs to, listed in
	// check_run.pull_requests and check_suite.pull_requests like GitHub
	// does (head: HeadBranch at HeadSHA; base: BaseBranch). An empty,
	// non-nil list is what GitHub sends for a PR from a fork: its REST
	// description lists only PRs whose head is in the repository.
	PullRequests []int
	BaseBranch   string // default: the repository's default_branch
	// UpdatedAt is check_run.check_suite.updated_at (RFC 3339), the
	// latest time the delivery carries.
	UpdatedAt string
}

// CheckRunRerequested returns a check_run "rerequested" delivery (someone
// pressed "Re-run" in GitHub's UI) built from the real example, with the
// fields in opts changed and everything else as recorded but for one fix:
// the example's app timestamps read "2018-04-25 20:42:10", unlike every
// other example and GitHub's deliveries, which use ISO 8601; they are given
// as "2018-04-25T20:42:10Z" so that go-github can parse the payload.
func CheckRunRerequested(tb testing.TB, opts CheckRunOptions) []byte {
	tb.Helper()
	root := richestExample(tb, "check_run", "rerequested")
	cr, repo := root.obj("check_run"), root.obj("repository")
	if cr == nil || repo == nil || cr.obj("check_suite") == nil {
		tb.Fatalf("githubtest: check_run example lacks check_run, check_suite or repository")
	}
	suite := cr.obj("check_suite")
	for _, app := range []*object{cr.obj("app"), suite.obj("app")} {
		if app == nil {
			continue
		}
		for _, k := range []string{"created_at", "updated_at"} {
			if t := app.str(k); sqlTime.MatchString(t) {
				app.set(k, strings.Replace(t, " ", "T", 1)+"Z")
			}
		}
	}
	full := renameRepo(root, opts.Owner, opts.Repo)
	api, web := "https://api.github.com/repos/"+full, "https://github.com/"+full

	if opts.ID != 0 {
		cr.set("id", num(opts.ID))
		if cr.has("node_id") {
			cr.set("node_id", nodeID("08:CheckRun", opts.ID))
		}
	}
	id := intOf(tb, cr.get("id"))
	cr.set("url", fmt.Sprintf("%s/check-runs/%d", api, id))
	cr.set("html_url", fmt.Sprintf("%s/runs/%d", web, id))
	if out := cr.obj("output"); out != nil && out.has("annotations_url") {
		out.set("annotations_url", fmt.Sprintf("%s/check-runs/%d/annotations", api, id))
	}
	if opts.Name != "" {
		cr.set("name", opts.Name)
	}
	if opts.ExternalID != "" {
		cr.set("external_id", opts.ExternalID)
	}
	if opts.HeadSHA != "" {
		cr.set("head_sha", opts.HeadSHA)
		suite.set("head_sha", opts.HeadSHA)
		suite.set("after", opts.HeadSHA)
	}
	if opts.HeadBranch != "" {
		suite.set("head_branch", opts.HeadBranch)
	}
	if opts.AppID != 0 {
		for _, app := range []*object{cr.obj("app"), suite.obj("app")} {
			if app != nil {
				app.set("id", num(opts.AppID))
				app.set("node_id", nodeID("011:Integration", opts.AppID))
			}
		}
	}
	if opts.UpdatedAt != "" {
		suite.set("updated_at", opts.UpdatedAt)
	}
	if opts.PullRequests != nil {
		prs := pullRequestRefs(repo, opts.PullRequests, suite.get("head_branch"), cr.get("head_sha"), opts.BaseBranch)
		cr.set("pull_requests", prs)
		// The same PRs, encoded separately so the two lists share no nodes.
		again, _ := decodeOrdered(encodeOrdered(prs))
		suite.set("pull_requests", again)
	}
	return encodeOrdered(root)
}

// renameRepo moves the payload's repository to owner/name (either may be ""
// to keep it) by rewriting every string mentioning the old full name, and
// renames its owner, and the organization if present, to owner. It returns
// the new full name.
func renameRepo(root *object, owner, name string) string {
	repo := root.obj("repository")
	oldFull := repo.str("full_name")
	oldOwner, oldName, _ := strings.Cut(oldFull, "/")
	if owner == "" {
		owner = oldOwner
	}
	if name == "" {
		name = oldName
	}
	full := owner + "/" + name
	if full == oldFull {
		return full
	}
	replaceStrings(root, oldFull, full)
	repo.set("name", name)
	repo.set("full_name", full)
	if owner != oldOwner {
		typ := ""
		if org := root.obj("organization"); org != nil {
			typ = "Organization"
			oldOrg := org.str("login")
			org.set("login", owner)
			replaceStrings(org, "/orgs/"+oldOrg, "/orgs/"+pathSegment(owner))
			org.set("id", num(fakeID(owner)))
			org.set("node_id", nodeID("012:Organization", fakeID(owner)))
		}
		renameUser(repo.obj("owner"), owner, typ)
	}
	return full
}

// renameUser gives a user object (as in webhooks) another login and/or type,
// with a matching id, node_id and URLs.
func renameUser(u *object, login, typ string) {
	if u == nil {
		return
	}
	if typ != "" {
		u.set("type", typ)
	}
	old := u.str("login")
	if login == "" || login == old {
		return
	}
	id := fakeID(login)
	u.set("login", login)
	u.set("id", num(id))
	kind := u.str("type")
	u.set("node_id", nodeID(fmt.Sprintf("%02d:%s", len(kind), kind), id))
	if u.has("avatar_url") {
		u.set("avatar_url", fmt.Sprintf("https://avatars.githubusercontent.com/u/%d?v=4", id))
	}
	seg := pathSegment(login)
	for _, k := range u.keys {
		s, ok := u.vals[k].(string)
		if !ok || !strings.HasSuffix(k, "url") || k == "avatar_url" {
			continue
		}
		s = strings.Replace(s, "/users/"+old, "/users/"+seg, 1)
		s = strings.Replace(s, "/orgs/"+old, "/orgs/"+seg, 1)
		if k == "html_url" {
			s = "https://github.com/" + login
			if slug, ok := strings.CutSuffix(login, "[bot]"); ok {
				s = "https://github.com/apps/" + slug
			}
		}
		u.set(k, s)
	}
}

// labelObjects returns issue labels as webhooks show them.
func labelObjects(full string, names []string) []any {
	out := []any{}
	for _, n := range names {
		id := fakeID(full + ":label:" + n)
		out = append(out, newObject(
			"id", num(id),
			"node_id", nodeID("05:Label", id),
			"url", "https://api.github.com/repos/"+full+"/labels/"+pathSegment(n),
			"name", n,
			"color", labelColor(n),
			"default", false,
		))
	}
	return out
}

var sqlTime = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)

func intOf(tb testing.TB, v any) int {
	tb.Helper()
	n, ok := v.(json.Number)
	if !ok {
		tb.Fatalf("githubtest: expected a number in the example, found %T", v)
	}
	i, err := n.Int64()
	if err != nil {
		tb.Fatalf("githubtest: %v", err)
	}
	return int(i)
}

// fakeID derives a stable, plausible database id from a name, so renamed
// things don't share the example's ids.
func fakeID(name string) int64 {
	h := fnv.New32a()
	h.Write([]byte(name))
	return 10_000_000 + int64(h.Sum32()%90_000_000)
}

// fakeSHA derives a stable 40-hex-digit commit id from a name.
func fakeSHA(name string) string {
	h := fnv.New64a()
	var b strings.Builder
	for i := 0; b.Len() < 40; i++ {
		h.Write([]byte(name))
		fmt.Fprintf(&b, "%016x", h.Sum64())
	}
	return b.String()[:40]
}

func labelColor(name string) string {
	return fmt.Sprintf("%06x", fakeID(name)&0xffffff)
}

// nodeID builds a legacy GraphQL node id like GitHub's ("MDQ6VXNlcjE=" is
// base64 of "04:User1").
func nodeID(prefix string, id int64) string {
	return base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s%d", prefix, id)))
}

// pathSegment escapes s for use as one URL path segment, as GitHub's URLs do
// ("renovate[bot]" -> "renovate%5Bbot%5D").
func pathSegment(s string) string {
	return url.PathEscape(s)
}

// MemberOptions says what [Member] changes in the real example.
type MemberOptions struct {
	// Event is "member" (a repository's collaborators; the default) or
	// "membership" (a team's members).
	Event string
	// Action: "added", "edited" (another role) or "removed" for member;
	// "added" or "removed" for membership.
	Action      string
	Login       string // member.login
	Owner, Repo string // member's repository (and owner), or membership's organization
}

// Member returns a member or membership delivery: someone added to a
// repository or a team, given another role, or removed. Of member,
// @octokit/webhooks-examples records "added" and "edited"; "removed" is
// the richest "added" example with its action changed, as GitHub's schema
// gives both the same fields.
func Member(tb testing.TB, opts MemberOptions) []byte {
	tb.Helper()
	event, action := cmp.Or(opts.Event, "member"), opts.Action
	if event == "member" && action == "removed" {
		action = "added"
	}
	root := richestExample(tb, event, action)
	root.set("action", opts.Action)
	if root.has("repository") {
		renameRepo(root, opts.Owner, opts.Repo)
	} else if org := root.obj("organization"); org != nil && opts.Owner != "" {
		org.set("login", opts.Owner)
	}
	renameUser(root.obj("member"), opts.Login, "")
	return encodeOrdered(root)
}
