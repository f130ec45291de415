package githubtest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Server is a fake GitHub REST API (api.github.com) for tests. Every request
// is first resolved against GitHub's REST description ([LoadAPI]):
//
//   - not in the description: 404 with GitHub's error body, recorded as a
//     violation ([Server.Violations]);
//   - in the description but not implemented here (nor by [Server.Handle]):
//     501, recorded as unimplemented ([Server.Unimplemented]) unless the test
//     called [Server.AllowUnimplemented];
//   - otherwise served from in-memory state the test sets up.
//
// Either kind of unexpected request fails the test at cleanup. Every request
// is recorded ([Server.Requests]) and counted per operation
// ([Server.Calls]). All methods are safe for concurrent use.
//
// Like GitHub, a GET answered 200 carries an ETag, and a GET whose
// If-None-Match names the ETag of the answer it would get is answered 304
// Not Modified, with no body, without counting against the rate limit
// (X-RateLimit-Remaining stays). GitHub's latency can be played:
// [Server.SetDelay] answers after a delay, [Server.Hold] holds the answers
// until the test releases them, round by round. So can its rate limits:
// [Server.SecondaryLimitNext] and [Server.ExhaustRateLimit].
//
// Implemented operations:
//
//	POST   /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions
//	GET    /repos/{owner}/{repo}/issues/{issue_number}/comments
//	POST   /repos/{owner}/{repo}/issues/{issue_number}/comments
//	GET    /repos/{owner}/{repo}/issues/{issue_number}/labels
//	POST   /repos/{owner}/{repo}/issues/{issue_number}/labels
//	DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}
//	GET    /repos/{owner}/{repo}/collaborators
//	GET    /repos/{owner}/{repo}/collaborators/{username}/permission
//	GET    /orgs/{org}/teams/{team_slug}/memberships/{username}
//	GET    /repos/{owner}/{repo}/pulls/{pull_number}
//	PUT    /repos/{owner}/{repo}/pulls/{pull_number}/merge
//	GET    /repos/{owner}/{repo}/commits/{commit_sha}/pulls
//	GET    /repos/{owner}/{repo}/check-runs/{check_run_id}
//	POST   /repos/{owner}/{repo}/check-runs
//
// Like GitHub, owner, repository, organization, team and user names match
// case-insensitively. Comments, reactions and labels are accepted on any
// issue number and comment id (the fake does not model issue existence).
type Server struct {
	tb  testing.TB
	api *API
	srv *httptest.Server

	mu            sync.Mutex
	handlers      map[string]http.HandlerFunc // "METHOD template"
	allowed       map[string]bool
	requests      []Request
	violations    []Request
	unimplemented []Request
	failures      map[string][]int // statuses still to return, per operation
	calls         map[string]int
	token         string
	viewer        *object // the authenticated identity: authors comments and reactions
	viewerLogin   string
	nextID        int64

	repos       map[string]Repo              // lower(owner/repo)
	perms       map[string]map[string]string // lower(owner/repo) -> lower(login) -> role
	teams       map[string]map[string]teamMembership
	pulls       map[string]PullRequest // issueKey
	comments    map[string][]*storedComment
	commentRepo map[int64]string // comment id -> owner/repo it was created in
	reactions   map[int64][]reaction
	labels      map[string][]string // issueKey -> names
	checkRuns   map[string]CheckRun // lower(owner/repo)#id
	graphQL     *ast.Schema         // GitHub's GraphQL schema
	queueCalls  []QueueCall
	connections int // accepted so far
	used        int // requests that counted against the rate limit

	secondary    map[string][]time.Duration // Retry-After of secondary limits still to answer, per operation
	limitedUntil time.Time                  // the primary limit is spent until then (ExhaustRateLimit)

	delay   time.Duration // before each answer (SetDelay)
	holding bool          // Hold: answers wait for Release
	round   chan struct{} // closed by Release
	held    []Request     // waiting for round
}

// Request is one request the Server received, with how it was resolved.
type Request struct {
	Method      string
	Path        string // escaped, as received (GHE's /api/v3 prefix included)
	Query       url.Values
	Header      http.Header
	Body        []byte
	Template    string            // matched path template; "" if none
	OperationID string            // e.g. "issues/create-comment"
	Params      map[string]string // path parameters
	Status      int               // the status the Server answered
	Problem     string            // why it is a violation or unimplemented
}

func (r Request) String() string {
	s := r.Method + " " + r.Path
	if r.Template != "" {
		s += " (" + r.Template + ")"
	}
	if r.Problem != "" {
		s += ": " + r.Problem
	}
	return s
}

// Repo describes a repository's settings. Repositories the test does not
// set are public, owned by an organization, with default branch "main".
type Repo struct {
	Private       bool
	DefaultBranch string // default "main"
	OwnerType     string // "Organization" (default) or "User"
}

// PullRequest is the state GET /repos/{owner}/{repo}/pulls/{pull_number}
// serves. Zero fields get plausible defaults.
type PullRequest struct {
	Number    int
	State     string // "open" (default) or "closed"
	Title     string
	Body      string
	User      string // author's login; default "octocat"
	Draft     bool
	Merged    bool
	Mergeable *bool // nil: GitHub has not computed it yet
	// MergeableState overrides the state derived from Mergeable ("clean"
	// or "dirty"): e.g. "blocked" until a required review, "unstable"
	// with a failing check. A merge succeeds only when it is "clean".
	MergeableState string
	// MergeCommitSHA is merge_commit_sha when GitHub gives one (below);
	// default: derived from the number. GitHub's test merge and the
	// merged commit differ: a test sets one, then the other.
	MergeCommitSHA string
	HeadSHA        string // default: derived from the number
	HeadRef        string // default "feature-<number>"
	HeadOwner      string // owner of the head repository if it is a fork
	BaseSHA        string // default: derived
	BaseRef        string // default: the repository's default branch
	// Labels replaces the issue's labels when the PR is set (nil keeps
	// them); the PR and its issue share labels, as on GitHub.
	Labels []string
	// MergeQueue: the base branch requires GitHub's merge queue
	// (GraphQL isMergeQueueEnabled); InMergeQueue: the PR is in it.
	MergeQueue, InMergeQueue bool
}

// CheckRun is the state GET /repos/{owner}/{repo}/check-runs/{check_run_id}
// serves.
type CheckRun struct {
	ID           int64
	Name         string
	HeadSHA      string
	ExternalID   string
	Status       string // "queued", "in_progress" or "completed" (default)
	Conclusion   string // for completed runs; default "success"
	DetailsURL   string
	AppID        int64  // default 1
	AppSlug      string // default "tekbot"
	PullRequests []int  // numbers of same-repository PRs with this head
	HeadRef      string // head branch of PullRequests; default "feature"
	// Title and Summary are the output of a run the code under test posted.
	Title, Summary string
}

// Comment is an issue comment as the Server stores it.
type Comment struct {
	ID   int64
	User string
	Body string
}

type storedComment struct {
	Comment
	userType string
	created  string
}

type reaction struct {
	id      int64
	user    string
	content string
	created string
}

type teamMembership struct{ role, state string }

var reactionContents = map[string]bool{"+1": true, "-1": true, "laugh": true, "confused": true, "heart": true, "hooray": true, "rocket": true, "eyes": true}

// Repository roles and the legacy permission each maps to.
var roles = map[string]string{"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}

// NewServer starts a Server for the duration of the test. Point a go-github
// client at it with client.BaseURL, _ = url.Parse(s.URL()).
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		tb:          tb,
		api:         LoadAPI(tb),
		handlers:    map[string]http.HandlerFunc{},
		allowed:     map[string]bool{},
		failures:    map[string][]int{},
		secondary:   map[string][]time.Duration{},
		calls:       map[string]int{},
		nextID:      2_000_000_000,
		repos:       map[string]Repo{},
		perms:       map[string]map[string]string{},
		teams:       map[string]map[string]teamMembership{},
		pulls:       map[string]PullRequest{},
		comments:    map[string][]*storedComment{},
		commentRepo: map[int64]string{},
		reactions:   map[int64][]reaction{},
		labels:      map[string][]string{},
		checkRuns:   map[string]CheckRun{},
		graphQL:     LoadGraphQLSchema(tb),
	}
	s.SetViewer("tekbot[bot]", "Bot")
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			s.mu.Lock()
			s.connections++
			s.mu.Unlock()
		}
	}
	s.srv.Start()
	tb.Cleanup(func() {
		s.srv.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, r := range s.violations {
			tb.Errorf("githubtest: request not in GitHub's REST description: %s", r)
		}
		for _, r := range s.unimplemented {
			if !s.allowed[r.Method+" "+r.Template] {
				tb.Errorf("githubtest: request the fake GitHub does not implement (add it, Handle it, or AllowUnimplemented): %s", r)
			}
		}
	})
	return s
}

// Connections returns how many connections clients have opened so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// URL returns the server's base URL with a trailing slash, as go-github's
// client.BaseURL wants it.
func (s *Server) URL() string { return s.srv.URL + "/" }

// API returns the route matcher the Server checks requests against.
func (s *Server) API() *API { return s.api }

func (s *Server) key(method, template string) string {
	s.tb.Helper()
	method = strings.ToUpper(method)
	if !s.api.Has(method, template) {
		s.tb.Fatalf("githubtest: %s %s is not an operation in GitHub's REST description", method, template)
	}
	return method + " " + template
}

// Handle serves method and template (which must be in GitHub's description)
// with h, overriding any built-in handler. h reads path parameters with
// r.PathValue("owner") etc.; the request is still recorded and counted, and
// FailNext still applies.
func (s *Server) Handle(method, template string, h http.HandlerFunc) {
	s.tb.Helper()
	k := s.key(method, template)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[k] = h
}

// AllowUnimplemented lets the test pass although the code under test calls
// method and template, which the Server answers with 501.
func (s *Server) AllowUnimplemented(method, template string) {
	s.tb.Helper()
	k := s.key(method, template)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowed[k] = true
}

// FailNext makes the next n requests for method and template fail with
// status (e.g. 500, 502, 503) and a GitHub-style error body, before the
// Server answers normally again. Calls add up.
func (s *Server) FailNext(method, template string, status, n int) {
	s.tb.Helper()
	k := s.key(method, template)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures[k] = append(s.failures[k], status)
	}
}

// SecondaryLimitNext makes the next n requests for method and template
// meet a secondary rate limit, as GitHub answers it: 403 with Retry-After
// (whole seconds) and its documentation link. Calls add up.
func (s *Server) SecondaryLimitNext(method, template string, retryAfter time.Duration, n int) {
	s.tb.Helper()
	k := s.key(method, template)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.secondary[k] = append(s.secondary[k], retryAfter)
	}
}

// ExhaustRateLimit spends the primary rate limit until reset (whole
// seconds, as X-RateLimit-Reset says it): every request until then is
// answered 403 with X-RateLimit-Remaining 0.
func (s *Server) ExhaustRateLimit(reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limitedUntil = reset.Truncate(time.Second)
}

// Calls returns how many requests for method and template the Server has
// received, failed ones included.
func (s *Server) Calls(method, template string) int {
	s.tb.Helper()
	k := s.key(method, template)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[k]
}

// Requests returns every request received so far, in order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Violations returns the requests that are not in GitHub's REST description.
func (s *Server) Violations() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.violations...)
}

// ForgiveViolations forgets the violations so far, for a test that sends
// one on purpose and has checked it; cleanup then does not fail for them.
func (s *Server) ForgiveViolations() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = nil
}

// Unimplemented returns the requests in GitHub's description that the
// Server answered with 501.
func (s *Server) Unimplemented() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.unimplemented...)
}

// RequireToken makes the Server answer 401 "Bad credentials", as GitHub
// does, to requests without "Authorization: Bearer <token>" (or "token
// <token>"). By default any or no credentials are accepted.
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetViewer sets the identity the token authenticates as: the author of the
// comments and reactions the code under test creates. Default
// "tekbot[bot]", type "Bot", as for a GitHub App's installation token.
func (s *Server) SetViewer(login, typ string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.viewerLogin = login
	s.viewer = userJSON(login, typ)
}

// SetRepo sets a repository's settings.
func (s *Server) SetRepo(owner, repo string, r Repo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.repos[lower(owner+"/"+repo)] = r
}

func (s *Server) repo(owner, repo string) Repo {
	r := s.repos[lower(owner+"/"+repo)]
	if r.DefaultBranch == "" {
		r.DefaultBranch = "main"
	}
	if r.OwnerType == "" {
		r.OwnerType = "Organization"
	}
	return r
}

// SetPermission gives login a role on owner/repo: admin, maintain, write,
// triage, read or none. GET .../collaborators/{username}/permission answers
// with it; users without one get "read" on public repositories, as GitHub
// answers for anyone, and "none" on private ones.
func (s *Server) SetPermission(owner, repo, login, role string) {
	s.tb.Helper()
	if _, ok := roles[role]; !ok {
		s.tb.Fatalf("githubtest: SetPermission: unknown role %q (want admin, maintain, write, triage, read or none)", role)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := lower(owner + "/" + repo)
	if s.perms[k] == nil {
		s.perms[k] = map[string]string{}
	}
	s.perms[k][lower(login)] = role
}

// AddTeamMember makes login an active member of the team org/teamSlug.
func (s *Server) AddTeamMember(org, teamSlug, login string) {
	s.SetTeamMembership(org, teamSlug, login, "member", "active")
}

// SetTeamMembership sets login's membership of org/teamSlug: role "member"
// or "maintainer", state "active" or "pending" (an invitation not yet
// accepted). Users without one get 404, as from GitHub.
func (s *Server) SetTeamMembership(org, teamSlug, login, role, state string) {
	s.tb.Helper()
	if role != "member" && role != "maintainer" || state != "active" && state != "pending" {
		s.tb.Fatalf("githubtest: SetTeamMembership: role %q / state %q (want member|maintainer, active|pending)", role, state)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := lower(org + "/" + teamSlug)
	if s.teams[k] == nil {
		s.teams[k] = map[string]teamMembership{}
	}
	s.teams[k][lower(login)] = teamMembership{role, state}
}

// SetPullRequest sets a pull request's state.
func (s *Server) SetPullRequest(owner, repo string, pr PullRequest) {
	s.tb.Helper()
	if pr.Number <= 0 {
		s.tb.Fatalf("githubtest: SetPullRequest: Number %d", pr.Number)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := issueKey(owner, repo, pr.Number)
	s.pulls[k] = pr
	if pr.Labels != nil {
		s.labels[k] = dedupe(pr.Labels)
	}
}

// SetCheckRun sets a check run's state.
func (s *Server) SetCheckRun(owner, repo string, cr CheckRun) {
	s.tb.Helper()
	if cr.ID <= 0 {
		s.tb.Fatalf("githubtest: SetCheckRun: ID %d", cr.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkRuns[fmt.Sprintf("%s#%d", lower(owner+"/"+repo), cr.ID)] = cr
}

// AddComment records an existing comment by login on an issue or pull
// request, as if made earlier, and returns its id.
func (s *Server) AddComment(owner, repo string, number int, login, body string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addComment(owner, repo, number, login, "User", body).ID
}

func (s *Server) addComment(owner, repo string, number int, login, typ, body string) *storedComment {
	s.nextID++
	c := &storedComment{Comment: Comment{ID: s.nextID, User: login, Body: body}, userType: typ, created: now()}
	k := issueKey(owner, repo, number)
	s.comments[k] = append(s.comments[k], c)
	s.commentRepo[c.ID] = owner + "/" + repo
	return c
}

// SetLabels replaces an issue's or pull request's labels.
func (s *Server) SetLabels(owner, repo string, number int, names ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.labels[issueKey(owner, repo, number)] = dedupe(names)
}

// Comments returns the comments on an issue or pull request, oldest first.
func (s *Server) Comments(owner, repo string, number int) []Comment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Comment
	for _, c := range s.comments[issueKey(owner, repo, number)] {
		out = append(out, c.Comment)
	}
	return out
}

// Reactions returns the contents ("eyes", "+1", ...) of the reactions on an
// issue comment, oldest first.
func (s *Server) Reactions(commentID int64) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.reactions[commentID] {
		out = append(out, r.content)
	}
	return out
}

// Labels returns the names of the labels on an issue or pull request, in
// the order they were added.
func (s *Server) Labels(owner, repo string, number int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.labels[issueKey(owner, repo, number)]...)
}

// ---- serving ----

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets handlers given to Handle flush (http.ResponseController).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

type builtin func(s *Server, c *call)

var builtins = map[string]builtin{
	"POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions": (*Server).createReaction,
	"GET /repos/{owner}/{repo}/issues/{issue_number}/comments":          (*Server).listComments,
	"POST /repos/{owner}/{repo}/issues/{issue_number}/comments":         (*Server).createComment,
	"GET /repos/{owner}/{repo}/issues/{issue_number}/labels":            (*Server).listLabels,
	"POST /repos/{owner}/{repo}/issues/{issue_number}/labels":           (*Server).addLabels,
	"DELETE /repos/{owner}/{repo}/issues/{issue_number}/labels/{name}":  (*Server).removeLabel,
	"GET /repos/{owner}/{repo}/collaborators":                           (*Server).listCollaborators,
	"GET /repos/{owner}/{repo}/collaborators/{username}/permission":     (*Server).getPermission,
	"GET /orgs/{org}/teams/{team_slug}/memberships/{username}":          (*Server).getTeamMembership,
	"GET /repos/{owner}/{repo}/pulls/{pull_number}":                     (*Server).getPull,
	"GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls":              (*Server).listCommitPulls,
	"PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge":               (*Server).mergePull,
	"GET /repos/{owner}/{repo}/check-runs/{check_run_id}":               (*Server).getCheckRun,
	"POST /repos/{owner}/{repo}/check-runs":                             (*Server).createCheckRun,
}

// call is one request being served by a built-in handler, with s.mu held.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	p      map[string]string
	body   []byte
	docURL string
}

func (c *call) int(name string) int64 {
	n, _ := strconv.ParseInt(c.p[name], 10, 64) // the matcher checked the digits
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rec := &recorder{ResponseWriter: w}
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.Query(), Header: r.Header.Clone(), Body: body}
	var violation, unimplemented bool
	defer func() {
		req.Status = rec.status
		s.mu.Lock()
		defer s.mu.Unlock()
		if req.Status != http.StatusNotModified {
			s.used++
		}
		s.requests = append(s.requests, req)
		if violation {
			s.violations = append(s.violations, req)
		}
		if unimplemented {
			s.unimplemented = append(s.unimplemented, req)
		}
	}()

	path := req.Path
	if r.Method == http.MethodPost && (path == "/graphql" || path == "/api/graphql") {
		s.mu.Lock()
		s.setCommonHeaders(rec)
		req.Template, req.OperationID = "/graphql", "graphql"
		s.calls["POST /graphql"]++
		bad, missing := s.serveGraphQL(rec, body)
		req.Problem, violation, unimplemented = bad+missing, bad != "", missing != ""
		s.mu.Unlock()
		return
	}
	if p, ok := strings.CutPrefix(path, "/api/v3/"); ok { // go-github's WithEnterpriseURLs
		path = "/" + p
	}
	m, err := s.api.Match(r.Method, path)
	s.mu.Lock()
	s.setCommonHeaders(rec)
	if err != nil {
		s.mu.Unlock()
		req.Problem, violation = err.Error(), true
		writeError(rec, http.StatusNotFound, "Not Found", "https://docs.github.com/rest")
		return
	}
	req.Template, req.OperationID, req.Params = m.Template, m.OperationID, m.Params
	k := m.Method + " " + m.Template
	s.calls[k]++
	if round, delay := s.wait(req); round != nil || delay > 0 {
		s.mu.Unlock()
		if !waitFor(r.Context(), round, delay) {
			return
		}
		s.mu.Lock()
	}
	docURL := "https://docs.github.com/rest/" + m.OperationID
	if s.token != "" {
		auth := r.Header.Get("Authorization")
		if auth != "Bearer "+s.token && auth != "token "+s.token {
			s.mu.Unlock()
			writeError(rec, http.StatusUnauthorized, "Bad credentials", "https://docs.github.com/rest")
			return
		}
	}
	if time.Now().Before(s.limitedUntil) {
		until := s.limitedUntil
		s.mu.Unlock()
		rec.Header().Set("X-RateLimit-Remaining", "0")
		rec.Header().Set("X-RateLimit-Reset", strconv.FormatInt(until.Unix(), 10))
		writeError(rec, http.StatusForbidden, "API rate limit exceeded for installation ID 1.", "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit")
		return
	}
	if q := s.secondary[k]; len(q) > 0 {
		wait := q[0]
		s.secondary[k] = q[1:]
		s.mu.Unlock()
		rec.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)))
		writeError(rec, http.StatusForbidden, "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
			"https://docs.github.com/free-pro-team@latest/rest/overview/resources-in-the-rest-api#secondary-rate-limits")
		return
	}
	if q := s.failures[k]; len(q) > 0 {
		status := q[0]
		s.failures[k] = q[1:]
		s.mu.Unlock()
		msg := http.StatusText(status)
		if status >= 500 {
			msg = "Server Error"
		}
		writeError(rec, status, msg, docURL)
		return
	}
	if h := s.handlers[k]; h != nil {
		s.mu.Unlock()
		for name, v := range m.Params {
			r.SetPathValue(name, v)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		h(rec, r)
		return
	}
	if b := builtins[k]; b != nil {
		func() {
			defer s.mu.Unlock()
			if r.Method != http.MethodGet {
				b(s, &call{w: rec, r: r, p: m.Params, body: body, docURL: docURL})
				return
			}
			answer := httptest.NewRecorder()
			b(s, &call{w: answer, r: r, p: m.Params, body: body, docURL: docURL})
			s.answerConditionally(rec, r, answer)
		}()
		return
	}
	s.mu.Unlock()
	req.Problem, unimplemented = "in GitHub's REST description, but not implemented by githubtest.Server", true
	writeError(rec, http.StatusNotImplemented, "githubtest.Server does not implement "+k, docURL)
}

// setCommonHeaders sets the headers GitHub sends with every API response.
func (s *Server) setCommonHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-GitHub-Media-Type", "github.v3; format=json")
	h.Set("X-GitHub-Api-Version-Selected", "2022-11-28")
	n := len(s.requests) + 1
	h.Set("X-GitHub-Request-Id", fmt.Sprintf("C0DE:%X:%X:%X:%08X", n, n*7, n*13, time.Now().Unix()))
	setRateLimit(h, s.used+1)
}

// setRateLimit sets the rate-limit headers once used requests have
// counted.
func setRateLimit(h http.Header, used int) {
	h.Set("X-RateLimit-Limit", "5000")
	h.Set("X-RateLimit-Remaining", strconv.Itoa(max(5000-used, 0)))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
	h.Set("X-RateLimit-Used", strconv.Itoa(used))
	h.Set("X-RateLimit-Resource", "core")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.WriteHeader(status)
	w.Write(encodeOrdered(v))
}

// writeError writes GitHub's error body ("basic-error").
func writeError(w http.ResponseWriter, status int, message, docURL string) {
	writeJSON(w, status, newObject("message", message, "documentation_url", docURL, "status", strconv.Itoa(status)))
}

// validationFailed writes GitHub's 422 body ("validation-error").
func validationFailed(c *call, resource, field, code string) {
	writeJSON(c.w, http.StatusUnprocessableEntity, newObject(
		"message", "Validation Failed",
		"errors", []any{newObject("resource", resource, "code", code, "field", field)},
		"documentation_url", c.docURL,
		"status", "422",
	))
}

func badJSON(c *call) {
	writeError(c.w, http.StatusBadRequest, "Problems parsing JSON", c.docURL)
}

func (s *Server) createReaction(c *call) {
	var in struct {
		Content *string `json:"content"`
	}
	if json.Unmarshal(c.body, &in) != nil {
		badJSON(c)
		return
	}
	if in.Content == nil {
		validationFailed(c, "Reaction", "content", "missing_field")
		return
	}
	if !reactionContents[*in.Content] {
		validationFailed(c, "Reaction", "content", "invalid")
		return
	}
	id := c.int("comment_id")
	status := http.StatusCreated
	var rx reaction
	for _, old := range s.reactions[id] {
		if old.content == *in.Content && lower(old.user) == lower(s.viewerLogin) {
			rx, status = old, http.StatusOK // GitHub: "Reaction exists"
		}
	}
	if status == http.StatusCreated {
		s.nextID++
		rx = reaction{id: s.nextID, user: s.viewerLogin, content: *in.Content, created: now()}
		s.reactions[id] = append(s.reactions[id], rx)
	}
	writeJSON(c.w, status, newObject(
		"id", num(rx.id),
		"node_id", nodeID("08:Reaction", rx.id),
		"user", s.viewer,
		"content", rx.content,
		"created_at", rx.created,
	))
}

func (s *Server) commentJSON(owner, repo string, number int, cm *storedComment) *object {
	full := owner + "/" + repo
	api := fmt.Sprintf("%s/repos/%s/issues/comments/%d", apiBase, full, cm.ID)
	kind := "issues"
	if _, ok := s.pulls[issueKey(owner, repo, number)]; ok {
		kind = "pull"
	}
	user := userJSON(cm.User, cm.userType)
	assoc := "NONE"
	if lower(cm.User) == lower(s.viewerLogin) {
		user = s.viewer
	} else if role, ok := s.perms[lower(full)][lower(cm.User)]; ok && role != "none" {
		assoc = "COLLABORATOR"
	}
	return newObject(
		"url", api,
		"html_url", fmt.Sprintf("%s/%s/%s/%d#issuecomment-%d", webBase, full, kind, number, cm.ID),
		"issue_url", fmt.Sprintf("%s/repos/%s/issues/%d", apiBase, full, number),
		"id", num(cm.ID),
		"node_id", nodeID("012:IssueComment", cm.ID),
		"user", user,
		"created_at", cm.created,
		"updated_at", cm.created,
		"author_association", assoc,
		"body", cm.Body,
		"reactions", s.reactionRollup(cm.ID, api+"/reactions"),
		"performed_via_github_app", nil,
	)
}

func (s *Server) reactionRollup(id int64, u string) *object {
	counts := map[string]int{}
	for _, r := range s.reactions[id] {
		counts[r.content]++
	}
	o := newObject("url", u, "total_count", num(len(s.reactions[id])))
	for _, k := range []string{"+1", "-1", "laugh", "hooray", "confused", "heart", "rocket", "eyes"} {
		o.set(k, num(counts[k]))
	}
	return o
}

func (s *Server) createComment(c *call) {
	var in struct {
		Body *string `json:"body"`
	}
	if json.Unmarshal(c.body, &in) != nil {
		badJSON(c)
		return
	}
	if in.Body == nil {
		validationFailed(c, "IssueComment", "body", "missing_field")
		return
	}
	if strings.TrimSpace(*in.Body) == "" {
		validationFailed(c, "IssueComment", "body", "missing_field")
		return
	}
	if len(*in.Body) > 65536 {
		validationFailed(c, "IssueComment", "body", "custom")
		return
	}
	owner, repo, number := c.p["owner"], c.p["repo"], int(c.int("issue_number"))
	viewerType := s.viewer.str("type")
	cm := s.addComment(owner, repo, number, s.viewerLogin, viewerType, *in.Body)
	out := s.commentJSON(owner, repo, number, cm)
	c.w.Header().Set("Location", out.str("url"))
	writeJSON(c.w, http.StatusCreated, out)
}

func (s *Server) listComments(c *call) {
	owner, repo, number := c.p["owner"], c.p["repo"], int(c.int("issue_number"))
	var items []any
	for _, cm := range s.comments[issueKey(owner, repo, number)] {
		items = append(items, s.commentJSON(owner, repo, number, cm))
	}
	paginate(c, items)
}

func (s *Server) labelList(owner, repo string, number int) []any {
	items := []any{}
	for _, n := range s.labels[issueKey(owner, repo, number)] {
		items = append(items, labelJSON(owner+"/"+repo, n))
	}
	return items
}

func (s *Server) listLabels(c *call) {
	paginate(c, s.labelList(c.p["owner"], c.p["repo"], int(c.int("issue_number"))))
}

func (s *Server) addLabels(c *call) {
	// The body is ["a", "b"], {"labels": ["a", "b"]}, or either with
	// {"name": "a"} objects instead of strings.
	var raw json.RawMessage = c.body
	var obj struct {
		Labels json.RawMessage `json:"labels"`
	}
	if len(bytes.TrimSpace(c.body)) > 0 && bytes.TrimSpace(c.body)[0] == '{' {
		if json.Unmarshal(c.body, &obj) != nil {
			badJSON(c)
			return
		}
		raw = obj.Labels
	}
	var items []json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &items) != nil {
		if len(raw) == 0 {
			validationFailed(c, "Label", "labels", "missing_field")
		} else {
			badJSON(c)
		}
		return
	}
	if len(items) == 0 {
		validationFailed(c, "Label", "labels", "missing_field")
		return
	}
	var names []string
	for _, it := range items {
		var name string
		if json.Unmarshal(it, &name) != nil {
			var o struct {
				Name string `json:"name"`
			}
			if json.Unmarshal(it, &o) != nil || o.Name == "" {
				validationFailed(c, "Label", "name", "invalid")
				return
			}
			name = o.Name
		}
		if strings.TrimSpace(name) == "" {
			validationFailed(c, "Label", "name", "invalid")
			return
		}
		names = append(names, name)
	}
	owner, repo, number := c.p["owner"], c.p["repo"], int(c.int("issue_number"))
	k := issueKey(owner, repo, number)
	s.labels[k] = dedupe(append(s.labels[k], names...))
	writeJSON(c.w, http.StatusOK, s.labelList(owner, repo, number))
}

func (s *Server) removeLabel(c *call) {
	owner, repo, number := c.p["owner"], c.p["repo"], int(c.int("issue_number"))
	k := issueKey(owner, repo, number)
	cur := s.labels[k]
	for i, n := range cur {
		if lower(n) == lower(c.p["name"]) {
			s.labels[k] = append(cur[:i:i], cur[i+1:]...)
			writeJSON(c.w, http.StatusOK, s.labelList(owner, repo, number))
			return
		}
	}
	writeError(c.w, http.StatusNotFound, "Label does not exist", c.docURL)
}

func (s *Server) getPermission(c *call) {
	owner, repo, login := c.p["owner"], c.p["repo"], c.p["username"]
	role, ok := s.perms[lower(owner+"/"+repo)][lower(login)]
	if !ok {
		role = "read"
		if s.repo(owner, repo).Private {
			role = "none"
		}
	}
	writeJSON(c.w, http.StatusOK, newObject("permission", roles[role], "user", collaboratorJSON(login, role), "role_name", role))
}

// roleRank orders the roles: each includes the ones below it.
var roleRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// listCollaborators lists the users given a role (SetPermission), sorted,
// with at least the role that the permission parameter names (pull,
// triage, push, maintain or admin), as GitHub filters it.
func (s *Server) listCollaborators(c *call) {
	owner, repo := c.p["owner"], c.p["repo"]
	least := map[string]int{"": 1, "pull": 1, "triage": 2, "push": 3, "maintain": 4, "admin": 5}[c.r.URL.Query().Get("permission")]
	perms := s.perms[lower(owner+"/"+repo)]
	items := []any{}
	for _, login := range slices.Sorted(maps.Keys(perms)) {
		if r := roleRank[perms[login]]; r >= least && r > 0 {
			items = append(items, collaboratorJSON(login, perms[login]))
		}
	}
	paginate(c, items)
}

// collaboratorJSON is GitHub's collaborator: a user with their role.
func collaboratorJSON(login, role string) *object {
	user := userJSON(login, "User")
	rank := roleRank[role]
	user.set("permissions", newObject(
		"admin", rank >= 5,
		"maintain", rank >= 4,
		"push", rank >= 3,
		"triage", rank >= 2,
		"pull", rank >= 1,
	))
	user.set("role_name", role)
	return user
}

func (s *Server) getTeamMembership(c *call) {
	org, team, login := c.p["org"], c.p["team_slug"], c.p["username"]
	m, ok := s.teams[lower(org+"/"+team)][lower(login)]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Not Found", c.docURL)
		return
	}
	writeJSON(c.w, http.StatusOK, newObject(
		"state", m.state,
		"role", m.role,
		"url", fmt.Sprintf("%s/organizations/%d/team/%d/memberships/%s", apiBase, fakeID("org:"+lower(org)), fakeID("team:"+lower(org+"/"+team)), pathSegment(login)),
	))
}

func (s *Server) getPull(c *call) {
	owner, repo, number := c.p["owner"], c.p["repo"], int(c.int("pull_number"))
	pr, ok := s.pulls[issueKey(owner, repo, number)]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Not Found", c.docURL)
		return
	}
	writeJSON(c.w, http.StatusOK, s.pullJSON(owner, repo, pr))
}

// listCommitPulls lists the open PRs whose head is the commit, forks'
// included (their head is in the repository's refs/pull/N/head).
func (s *Server) listCommitPulls(c *call) {
	owner, repo, sha := c.p["owner"], c.p["repo"], c.p["commit_sha"]
	prs := []any{}
	for _, k := range slices.Sorted(maps.Keys(s.pulls)) {
		pr := s.pulls[k]
		if k == issueKey(owner, repo, pr.Number) && pr.HeadSHA == sha && pr.State != "closed" && !pr.Merged {
			prs = append(prs, s.pullJSON(owner, repo, pr))
		}
	}
	writeJSON(c.w, http.StatusOK, prs)
}

// pullJSON is a PR as GitHub's REST API shows it.
func (s *Server) pullJSON(owner, repo string, pr PullRequest) *object {
	number := pr.Number
	settings := s.repo(owner, repo)
	full := owner + "/" + repo
	if pr.State == "" {
		pr.State = "open"
	}
	if pr.Merged {
		pr.State = "closed"
	}
	if pr.Title == "" {
		pr.Title = fmt.Sprintf("Pull request %d", number)
	}
	if pr.User == "" {
		pr.User = "octocat"
	}
	if pr.HeadRef == "" {
		pr.HeadRef = fmt.Sprintf("feature-%d", number)
	}
	if pr.HeadSHA == "" {
		pr.HeadSHA = fakeSHA(fmt.Sprintf("%s#%d head", lower(full), number))
	}
	if pr.BaseRef == "" {
		pr.BaseRef = settings.DefaultBranch
	}
	if pr.BaseSHA == "" {
		pr.BaseSHA = fakeSHA(lower(full) + "@" + pr.BaseRef)
	}
	headOwner := owner
	if pr.HeadOwner != "" {
		headOwner = pr.HeadOwner
	}
	api := fmt.Sprintf("%s/repos/%s", apiBase, full)
	prAPI := fmt.Sprintf("%s/pulls/%d", api, number)
	issueAPI := fmt.Sprintf("%s/issues/%d", api, number)
	web := fmt.Sprintf("%s/%s/pull/%d", webBase, full, number)
	id := fakeID(fmt.Sprintf("pr:%s#%d", lower(full), number))
	created := "2024-06-01T12:00:00Z"
	var closedAt, mergedAt, mergedBy, mergeSHA any
	if pr.State == "closed" {
		closedAt = "2024-06-02T12:00:00Z"
	}
	if pr.Merged {
		mergedAt = closedAt
		mergedBy = userJSON("octocat", "User")
	}
	// Like GitHub: the merged commit once merged, the test merge commit
	// while an open PR is mergeable, null until GitHub has computed it.
	if pr.Merged || (pr.State != "closed" && pr.Mergeable != nil && *pr.Mergeable) {
		mergeSHA = cmp.Or(pr.MergeCommitSHA, fakeSHA(fmt.Sprintf("%s#%d merge", lower(full), number)))
	}
	var mergeable any
	mergeableState := "unknown"
	if pr.Mergeable != nil {
		mergeable = *pr.Mergeable
		mergeableState = map[bool]string{true: "clean", false: "dirty"}[*pr.Mergeable]
	}
	if pr.MergeableState != "" {
		mergeableState = pr.MergeableState
	}
	baseRepo := repoJSON(owner, repo, settings.OwnerType, settings.Private, settings.DefaultBranch)
	headRepo := baseRepo
	if headOwner != owner {
		headRepo = repoJSON(headOwner, repo, "User", settings.Private, settings.DefaultBranch)
		headRepo.set("fork", true)
	}
	link := func(h string) *object { return newObject("href", h) }
	return newObject(
		"url", prAPI,
		"id", num(id),
		"node_id", nodeID("011:PullRequest", id),
		"html_url", web,
		"diff_url", web+".diff",
		"patch_url", web+".patch",
		"issue_url", issueAPI,
		"number", num(number),
		"state", pr.State,
		"locked", false,
		"title", pr.Title,
		"user", userJSON(pr.User, "User"),
		"body", nullIfEmpty(pr.Body),
		"created_at", created,
		"updated_at", created,
		"closed_at", closedAt,
		"merged_at", mergedAt,
		"merge_commit_sha", mergeSHA,
		"assignee", nil,
		"assignees", []any{},
		"requested_reviewers", []any{},
		"requested_teams", []any{},
		"labels", s.labelList(owner, repo, number),
		"milestone", nil,
		"draft", pr.Draft,
		"commits_url", prAPI+"/commits",
		"review_comments_url", prAPI+"/comments",
		"review_comment_url", api+"/pulls/comments{/number}",
		"comments_url", issueAPI+"/comments",
		"statuses_url", api+"/statuses/"+pr.HeadSHA,
		"head", newObject(
			"label", headOwner+":"+pr.HeadRef,
			"ref", pr.HeadRef,
			"sha", pr.HeadSHA,
			"user", headRepo.get("owner"),
			"repo", headRepo,
		),
		"base", newObject(
			"label", owner+":"+pr.BaseRef,
			"ref", pr.BaseRef,
			"sha", pr.BaseSHA,
			"user", baseRepo.get("owner"),
			"repo", baseRepo,
		),
		"_links", newObject(
			"self", link(prAPI),
			"html", link(web),
			"issue", link(issueAPI),
			"comments", link(issueAPI+"/comments"),
			"review_comments", link(prAPI+"/comments"),
			"review_comment", link(api+"/pulls/comments{/number}"),
			"commits", link(prAPI+"/commits"),
			"statuses", link(api+"/statuses/"+pr.HeadSHA),
		),
		"author_association", "CONTRIBUTOR",
		"auto_merge", nil,
		"active_lock_reason", nil,
		"merged", pr.Merged,
		"mergeable", mergeable,
		"rebaseable", mergeable,
		"mergeable_state", mergeableState,
		"merged_by", mergedBy,
		"comments", num(len(s.comments[issueKey(owner, repo, number)])),
		"review_comments", num(0),
		"maintainer_can_modify", false,
		"commits", num(1),
		"additions", num(1),
		"deletions", num(0),
		"changed_files", num(1),
	)
}

// mergePull merges a PR as GitHub does: only an open, clean one, only at
// the head the request pins (if it pins one), with the body keys the
// REST description allows.
func (s *Server) mergePull(c *call) {
	owner, repo, number := c.p["owner"], c.p["repo"], int(c.int("pull_number"))
	k := issueKey(owner, repo, number)
	pr, ok := s.pulls[k]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Not Found", c.docURL)
		return
	}
	var body map[string]any
	if len(c.body) > 0 && json.Unmarshal(c.body, &body) != nil {
		writeError(c.w, http.StatusBadRequest, "Problems parsing JSON", c.docURL)
		return
	}
	for key, v := range body {
		_, str := v.(string)
		permitted := map[string]bool{"commit_title": true, "commit_message": true, "sha": true, "merge_method": true}[key]
		method := key != "merge_method" || v == "merge" || v == "squash" || v == "rebase"
		if !permitted || !str || !method {
			writeError(c.w, http.StatusUnprocessableEntity, fmt.Sprintf("Invalid request.\n\n%q is not a permitted key or value.", key), c.docURL)
			return
		}
	}
	head := pr.HeadSHA
	if head == "" {
		head = fakeSHA(fmt.Sprintf("%s#%d head", lower(owner+"/"+repo), number))
	}
	clean := pr.Mergeable != nil && *pr.Mergeable && (pr.MergeableState == "" || pr.MergeableState == "clean")
	switch sha, _ := body["sha"].(string); {
	case pr.Merged || pr.State == "closed" || !clean:
		writeError(c.w, http.StatusMethodNotAllowed, "Pull Request is not mergeable", c.docURL)
		return
	case sha != "" && sha != head:
		writeError(c.w, http.StatusConflict, "Head branch was modified. Review and try the merge again.", c.docURL)
		return
	}
	pr.Merged = true
	s.pulls[k] = pr
	writeJSON(c.w, http.StatusOK, newObject(
		"sha", fakeSHA(fmt.Sprintf("%s#%d merge", lower(owner+"/"+repo), number)),
		"merged", true,
		"message", "Pull Request successfully merged",
	))
}

func (s *Server) getCheckRun(c *call) {
	owner, repo, id := c.p["owner"], c.p["repo"], c.int("check_run_id")
	cr, ok := s.checkRuns[fmt.Sprintf("%s#%d", lower(owner+"/"+repo), id)]
	if !ok {
		writeError(c.w, http.StatusNotFound, "Not Found", c.docURL)
		return
	}
	full := owner + "/" + repo
	api := fmt.Sprintf("%s/repos/%s", apiBase, full)
	if cr.Status == "" {
		cr.Status = "completed"
	}
	var conclusion, completedAt any
	if cr.Status == "completed" {
		if cr.Conclusion == "" {
			cr.Conclusion = "success"
		}
		conclusion, completedAt = cr.Conclusion, "2024-06-01T12:05:00Z"
	}
	if cr.AppID == 0 {
		cr.AppID = 1
	}
	if cr.AppSlug == "" {
		cr.AppSlug = "tekbot"
	}
	if cr.HeadSHA == "" {
		cr.HeadSHA = fakeSHA(fmt.Sprintf("%s check %d", lower(full), id))
	}
	if cr.HeadRef == "" {
		cr.HeadRef = "feature"
	}
	settings := s.repo(owner, repo)
	ownerJSON := userJSON(owner, settings.OwnerType)
	app := newObject(
		"id", num(cr.AppID),
		"client_id", fmt.Sprintf("Iv1.%016x", cr.AppID),
		"slug", cr.AppSlug,
		"node_id", nodeID("011:Integration", cr.AppID),
		"owner", ownerJSON,
		"name", cr.AppSlug,
		"description", "",
		"external_url", "https://example.com",
		"html_url", webBase+"/apps/"+cr.AppSlug,
		"created_at", "2024-01-01T00:00:00Z",
		"updated_at", "2024-01-01T00:00:00Z",
		"permissions", newObject("checks", "write", "contents", "read", "issues", "write", "metadata", "read", "pull_requests", "write"),
		"events", []any{"check_run", "issue_comment", "pull_request"},
	)
	repoRef := func() *object { return newObject("id", num(fakeID("repo:"+lower(full))), "url", api, "name", repo) }
	prs := []any{}
	for _, n := range cr.PullRequests {
		prs = append(prs, newObject(
			"url", fmt.Sprintf("%s/pulls/%d", api, n),
			"id", num(fakeID(fmt.Sprintf("pr:%s#%d", lower(full), n))),
			"number", num(n),
			"head", newObject("ref", cr.HeadRef, "sha", cr.HeadSHA, "repo", repoRef()),
			"base", newObject("ref", settings.DefaultBranch, "sha", fakeSHA(lower(full)+"@"+settings.DefaultBranch), "repo", repoRef()),
		))
	}
	checkURL := fmt.Sprintf("%s/check-runs/%d", api, id)
	details := any(nil)
	if cr.DetailsURL != "" {
		details = cr.DetailsURL
	}
	writeJSON(c.w, http.StatusOK, newObject(
		"id", num(id),
		"name", cr.Name,
		"node_id", nodeID("08:CheckRun", id),
		"head_sha", cr.HeadSHA,
		"external_id", cr.ExternalID,
		"url", checkURL,
		"html_url", fmt.Sprintf("%s/%s/runs/%d", webBase, full, id),
		"details_url", details,
		"status", cr.Status,
		"conclusion", conclusion,
		"started_at", "2024-06-01T12:00:00Z",
		"completed_at", completedAt,
		"output", newObject(
			"title", nullIfEmpty(cr.Title),
			"summary", nullIfEmpty(cr.Summary),
			"text", nil,
			"annotations_count", num(0),
			"annotations_url", checkURL+"/annotations",
		),
		"check_suite", newObject("id", num(fakeID(fmt.Sprintf("suite:%s:%s", lower(full), cr.HeadSHA)))),
		"app", app,
		"pull_requests", prs,
	))
}

// paginate writes items as GitHub lists them: per_page (default 30, at most
// 100) from page (default 1), with a Link header for the other pages.
func paginate(c *call, items []any) {
	q := c.r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per <= 0 {
		per = 30
	}
	per = min(per, 100)
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page <= 0 {
		page = 1
	}
	last := max((len(items)+per-1)/per, 1)
	lo := min((page-1)*per, len(items))
	hi := min(lo+per, len(items))
	link := func(p int, rel string) string {
		u := url.URL{Scheme: "http", Host: c.r.Host, Path: c.r.URL.Path}
		v := c.r.URL.Query()
		v.Set("page", strconv.Itoa(p))
		if q.Get("per_page") != "" {
			v.Set("per_page", strconv.Itoa(per))
		}
		u.RawQuery = v.Encode()
		return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
	}
	var links []string
	if page > 1 {
		links = append(links, link(page-1, "prev"))
	}
	if page < last {
		links = append(links, link(page+1, "next"), link(last, "last"))
	}
	if page > 1 {
		links = append(links, link(1, "first"))
	}
	if len(links) > 0 {
		c.w.Header().Set("Link", strings.Join(links, ", "))
	}
	out := append([]any{}, items[lo:hi]...)
	writeJSON(c.w, http.StatusOK, out)
}

func issueKey(owner, repo string, number int) string {
	return fmt.Sprintf("%s#%d", lower(owner+"/"+repo), number)
}

func lower(s string) string { return strings.ToLower(s) }

func now() string { return time.Now().UTC().Format(time.RFC3339) }

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dedupe drops repeated names (case-insensitively, as GitHub's labels),
// keeping the first.
func dedupe(names []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, n := range names {
		if !seen[lower(n)] {
			seen[lower(n)] = true
			out = append(out, n)
		}
	}
	return out
}

// answerConditionally writes a GET's answer, given its ETag, or 304 Not
// Modified when the request's If-None-Match names that ETag.
func (s *Server) answerConditionally(w http.ResponseWriter, r *http.Request, answer *httptest.ResponseRecorder) {
	for k, v := range answer.Header() {
		w.Header()[k] = v
	}
	if answer.Code != http.StatusOK {
		w.WriteHeader(answer.Code)
		w.Write(answer.Body.Bytes())
		return
	}
	sum := sha256.Sum256(answer.Body.Bytes())
	etag := `W/"` + hex.EncodeToString(sum[:]) + `"`
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		setRateLimit(w.Header(), s.used) // a 304 does not count
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write(answer.Body.Bytes())
}

// etagMatches compares weakly, as If-None-Match does (RFC 9110 13.1.2).
func etagMatches(ifNoneMatch, etag string) bool {
	if strings.TrimSpace(ifNoneMatch) == "*" {
		return true
	}
	for t := range strings.SplitSeq(ifNoneMatch, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == strings.TrimPrefix(etag, "W/") {
			return true
		}
	}
	return false
}

// NotModified returns how many requests the Server answered 304 Not
// Modified: requests made that did not count against the rate limit.
func (s *Server) NotModified() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Status == http.StatusNotModified {
			n++
		}
	}
	return n
}

// SetDelay makes every later answer wait d, as GitHub's answers take time
// to arrive; the request is received (and counted) at once.
func (s *Server) SetDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// Hold holds every request from now on unanswered, until Release answers
// the ones held then: a test plays GitHub's round trips one round at a
// time, and sees what the code under test does before an answer arrives.
// Open answers them all and ends Hold; the test's end does too.
func (s *Server) Hold() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		return
	}
	s.holding, s.round = true, make(chan struct{})
	s.tb.Cleanup(s.Open)
}

// Held returns the requests held now, in the order they arrived.
func (s *Server) Held() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.held...)
}

// Release answers the requests held now; those that arrive later are held
// until the next Release.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		close(s.round)
		s.round, s.held = make(chan struct{}), nil
	}
}

// Open answers the requests held and holds no more.
func (s *Server) Open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holding {
		close(s.round)
		s.holding, s.round, s.held = false, nil, nil
	}
}

// wait says what req waits for before its answer: the round it is held in
// (nil when not holding) and the delay. s.mu is held.
func (s *Server) wait(req Request) (<-chan struct{}, time.Duration) {
	if !s.holding {
		return nil, s.delay
	}
	s.held = append(s.held, req)
	return s.round, s.delay
}

// waitFor waits for round (if any), then delay; false if the client went
// away first.
func waitFor(ctx context.Context, round <-chan struct{}, delay time.Duration) bool {
	if round != nil {
		select {
		case <-round:
		case <-ctx.Done():
			return false
		}
	}
	if delay <= 0 {
		return true
	}
	t := time.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
