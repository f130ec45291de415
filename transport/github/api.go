// Package github is tekbot's GitHub transport: it receives webhooks
// (verify, cap, deduplicate, enqueue), turns PR comments into bot requests,
// and talks to GitHub's REST API for reactions, replies and permissions.
package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	gh "github.com/google/go-github/v62/github"
	"golang.org/x/sync/singleflight"

	"tekbot/bot"
	"tekbot/config"
)

// API is the part of GitHub's REST API that tekbot uses.
type API struct {
	client *gh.Client
	// Metrics counts GitHub's errors and rate limits; nil counts nothing.
	Metrics *bot.Metrics

	cacheTTL time.Duration
	mu       sync.Mutex
	cache    map[string]cached // pull requests, permissions, writers and team look-ups
	// forgot is when a role event last named each person (lower case);
	// forgotAll when one changed roles no login names (forget).
	forgot    map[string]time.Time
	forgotAll time.Time
	listing   singleflight.Group // the writers' lists being read, per repository
}

// cached is an answer GitHub gave, kept to ask again cheaply: not at all
// until it expires, then with its ETag in If-None-Match, which GitHub
// answers 304 Not Modified without counting it against the rate limit.
type cached struct {
	value   any // bool for permissions and teams, bot.PullRequest for PRs, writers
	etag    string
	expires time.Time
	// answered is when GitHub last gave or confirmed (304) the value.
	answered time.Time
}

// permissionCacheTTL keeps a burst of comments from asking GitHub the same
// question; a revoked permission takes effect within a minute.
const permissionCacheTTL = time.Minute

// maxCachedChecks bounds the cache.
const maxCachedChecks = 4096

// Transport is how tekbot reaches GitHub. A GitHub that speaks HTTP/1.1
// (an Enterprise Server behind a proxy) needs a connection per request in
// flight, and Go's defaults let a burst of /retests dial (and shake hands
// over TLS) almost once per call: they keep two connections between
// bursts, and go-github closes a response after decoding its JSON, before
// the body's end (a newline, a chunked body's last chunk), which closes
// the connection. So Transport keeps idleConnections, and reads a
// response's rest before closing it. Over HTTP/2, as api.github.com
// speaks, one connection serves all and neither matters.
func Transport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = idleConnections
	return drainOnClose{tr}
}

const (
	// idleConnections is as many calls as can be in flight: serve's 64
	// workers, each with 👀 beside its PR read.
	idleConnections = 128
	// maxDrain and drainWait bound what Close reads of a response left
	// unread, and how long it waits for it: a server that stalls after
	// its JSON costs its connection, not a worker.
	maxDrain  = 4 << 10
	drainWait = 100 * time.Millisecond
)

type drainOnClose struct{ next http.RoundTripper }

func (d drainOnClose) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := d.next.RoundTrip(req)
	if resp != nil && resp.Body != nil {
		resp.Body = drainingBody{resp.Body}
	}
	return resp, err
}

type drainingBody struct{ io.ReadCloser }

// Close reads what is left, then closes. Closing the body from the timer
// ends a read still waiting (a second Close does nothing).
func (b drainingBody) Close() error {
	stall := time.AfterFunc(drainWait, func() { b.ReadCloser.Close() })
	_, _ = io.CopyN(io.Discard, b.ReadCloser, maxDrain) // a short read only costs the connection
	stall.Stop()
	return b.ReadCloser.Close()
}

// NewAPI authenticates with the configured token or GitHub App.
func NewAPI(cfg config.GitHub) (*API, error) {
	var client *gh.Client
	switch {
	case cfg.Token != nil:
		tok, err := cfg.Token.Value()
		if err != nil {
			return nil, fmt.Errorf("github.token: %w", err)
		}
		client = gh.NewClient(&http.Client{Transport: Transport()}).WithAuthToken(tok)
	case cfg.App != nil:
		key, err := cfg.App.PrivateKey.Value()
		if err != nil {
			return nil, fmt.Errorf("github.app.privateKey: %w", err)
		}
		tr, err := ghinstallation.New(Transport(), cfg.App.ID, cfg.App.InstallationID, []byte(key))
		if err != nil {
			return nil, fmt.Errorf("github.app: %w", err)
		}
		if cfg.APIURL != "" {
			tr.BaseURL = strings.TrimSuffix(cfg.APIURL, "/")
		}
		client = gh.NewClient(&http.Client{Transport: tr})
	default:
		return nil, errors.New("github: needs token or app")
	}
	if cfg.APIURL != "" {
		u, err := url.Parse(strings.TrimSuffix(cfg.APIURL, "/") + "/")
		if err != nil {
			return nil, fmt.Errorf("github.apiURL: %w", err)
		}
		client.BaseURL = u
	}
	return NewAPIWithClient(client), nil
}

// NewAPIWithClient wraps a go-github client (tests point it at a server).
func NewAPIWithClient(c *gh.Client) *API {
	return &API{client: c, cacheTTL: permissionCacheTTL, cache: map[string]cached{}, forgot: map[string]time.Time{}}
}

// counted records what GitHub says is left of its rate limit, and a failed
// call's status before returning its error, which carries the status for
// bot.Explain.
func (a *API) counted(resp *gh.Response, err error) error {
	if resp != nil && resp.Rate.Limit > 0 {
		a.Metrics.GitHubRateRemaining(resp.Rate.Remaining)
	}
	if err == nil {
		return nil
	}
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	var until time.Time
	if wait, limited := rateLimitWait(resp, err, time.Now()); limited {
		// GitHub refuses a rate-limited call with 403, which would read
		// as refused credentials.
		status, until = http.StatusTooManyRequests, time.Now().Add(wait)
	}
	a.Metrics.APIError("github", status)
	return &apiError{status: status, until: until, err: err}
}

// apiError is a failed GitHub call and its HTTP status (0 without one).
type apiError struct {
	status int
	until  time.Time // when a rate limit lifts; zero for other failures
	err    error
}

// LimitedUntil tells bot.Explain when GitHub's rate limit lifts.
func (e *apiError) LimitedUntil() time.Time { return e.until }

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// HTTPStatus tells bot.Explain what kind of failure it was.
func (e *apiError) HTTPStatus() int { return e.status }

func splitRepo(repo string) (string, string) {
	owner, name, _ := strings.Cut(repo, "/")
	return owner, name
}

// maxRateWait is the longest a call waits for GitHub's rate limit to lift
// before it fails: a command runs late rather than not at all, but a
// worker is not held for an hour by a primary limit's reset.
const maxRateWait = time.Minute

// resetMargin is waited beyond a primary limit's reset, which GitHub gives
// in whole seconds; a limit that lifts within maxRateWait is waited for,
// its margin included.
const resetMargin = time.Second

// patiently makes a call and, when GitHub refuses it for a rate limit
// (primary: 403 with X-RateLimit-Remaining 0, until X-RateLimit-Reset;
// secondary: 403 or 429 with Retry-After), waits until the limit lifts
// and makes it again, for as long as the waits add up to at most
// maxRateWait. It asks again after each wait because another call may
// meet a secondary limit meanwhile, and go-github then refuses every call
// until that one's Retry-After: a burst of commands would otherwise lose
// the calls refused twice. A refused call did nothing, so a write made
// again is made once.
func patiently[T any](ctx context.Context, call func() (T, *gh.Response, error)) (T, *gh.Response, error) {
	deadline := time.Now().Add(maxRateWait + resetMargin)
	for {
		v, resp, err := call()
		wait, limited := rateLimitWait(resp, err, time.Now())
		if !limited || time.Now().Add(wait).After(deadline) {
			return v, resp, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return v, resp, err
		case <-t.C:
		}
	}
}

// rateLimitWait says how long GitHub asks to wait after refusing a call
// for a rate limit, and whether it did.
func rateLimitWait(resp *gh.Response, err error, now time.Time) (time.Duration, bool) {
	var primary *gh.RateLimitError
	var secondary *gh.AbuseRateLimitError
	switch {
	case errors.As(err, &primary):
		return max(primary.Rate.Reset.Sub(now), 0) + resetMargin, true
	case errors.As(err, &secondary) && secondary.RetryAfter != nil:
		return max(*secondary.RetryAfter, 0), true
	case errors.As(err, &secondary):
		return time.Minute, true // GitHub's advice without a Retry-After
	case resp != nil && resp.StatusCode == http.StatusTooManyRequests:
		secs, perr := strconv.Atoi(resp.Header.Get("Retry-After"))
		if perr != nil {
			return time.Minute, true
		}
		return time.Duration(secs) * time.Second, true
	}
	return 0, false
}

// retryGet retries a read on GitHub 5xx and transport errors with backoff:
// reads are safe to repeat; writes are not retried blindly.
func retryGet[T any](ctx context.Context, call func() (T, *gh.Response, error)) (T, *gh.Response, error) {
	delay := 200 * time.Millisecond
	for attempt := 1; ; attempt++ {
		v, resp, err := patiently(ctx, call)
		if err == nil || attempt == 3 || (resp != nil && resp.StatusCode < 500) || ctx.Err() != nil {
			return v, resp, err
		}
		select {
		case <-ctx.Done():
			return v, resp, err
		case <-time.After(delay):
		}
		delay *= 4
	}
}

// Get reads a PR; it implements handlers.PullRequests. A PR read before
// is read again with its ETag: the head may have moved, so it is never
// taken from the cache unasked, but an unchanged PR costs no rate limit.
func (a *API) Get(ctx context.Context, repo string, number int) (*bot.PullRequest, error) {
	owner, name := splitRepo(repo)
	v, err := a.read(ctx, fmt.Sprintf("pr/%s/%d", repo, number), 0, func(etag string) (any, *gh.Response, error) {
		pr, resp, err := getWithETag[gh.PullRequest](ctx, a.client, fmt.Sprintf("repos/%v/%v/pulls/%d", owner, name, number), etag)
		if err != nil {
			return nil, resp, err
		}
		return pullRequest(repo, number, pr), resp, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s#%d: %w", repo, number, err)
	}
	out := v.(bot.PullRequest)
	out.Labels = slices.Clone(out.Labels) // the cached value stays as GitHub gave it
	return &out, nil
}

func pullRequest(repo string, number int, pr *gh.PullRequest) bot.PullRequest {
	out := bot.PullRequest{
		Repository: repo,
		Number:     number,
		HeadSHA:    pr.GetHead().GetSHA(),
		Author:     pr.GetUser().GetLogin(),
		URL:        pr.GetHTMLURL(),
		Open:       pr.GetState() == "open",
		Merged:     pr.GetMerged(),
		// For declared commands' templates (/cherry-pick).
		BaseBranch:     pr.GetBase().GetRef(),
		MergeCommitSHA: pr.GetMergeCommitSHA(),
	}
	for _, l := range pr.Labels {
		out.Labels = append(out.Labels, l.GetName())
	}
	return out
}

// getWithETag is a GET that sends If-None-Match when etag is set; GitHub's
// 304 then comes back as an error whose response says 304.
func getWithETag[T any](ctx context.Context, c *gh.Client, path, etag string) (*T, *gh.Response, error) {
	req, err := c.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		return nil, nil, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	v := new(T)
	resp, err := c.Do(ctx, req, v)
	if err != nil {
		return nil, resp, err
	}
	return v, resp, nil
}

// AddLabel labels a PR; it implements handlers.PullRequests.
func (a *API) AddLabel(ctx context.Context, repo string, number int, label string) error {
	owner, name := splitRepo(repo)
	_, resp, err := patiently(ctx, func() ([]*gh.Label, *gh.Response, error) {
		return a.client.Issues.AddLabelsToIssue(ctx, owner, name, number, []string{label})
	})
	if err := a.counted(resp, err); err != nil {
		return fmt.Errorf("labelling %s#%d: %w", repo, number, err)
	}
	return nil
}

// React adds a reaction (e.g. "eyes") to an issue comment.
func (a *API) React(ctx context.Context, repo string, commentID int64, content string) error {
	owner, name := splitRepo(repo)
	_, resp, err := patiently(ctx, func() (*gh.Reaction, *gh.Response, error) {
		return a.client.Reactions.CreateIssueCommentReaction(ctx, owner, name, commentID, content)
	})
	if err := a.counted(resp, err); err != nil {
		return fmt.Errorf("reacting to comment %d: %w", commentID, err)
	}
	return nil
}

// Comment posts a comment on an issue or PR.
func (a *API) Comment(ctx context.Context, repo string, number int, body string) error {
	owner, name := splitRepo(repo)
	_, resp, err := patiently(ctx, func() (*gh.IssueComment, *gh.Response, error) {
		return a.client.Issues.CreateComment(ctx, owner, name, number, &gh.IssueComment{Body: gh.String(body)})
	})
	if err := a.counted(resp, err); err != nil {
		return fmt.Errorf("commenting on %s#%d: %w", repo, number, err)
	}
	return nil
}

// permission reads login's permission on repo from GitHub: write,
// maintain or admin is true.
func (a *API) permission(ctx context.Context, repo, login string) (bool, error) {
	owner, name := splitRepo(repo)
	v, err := a.read(ctx, "perm/"+repo+"/"+login, a.cacheTTL, func(etag string) (any, *gh.Response, error) {
		perm, resp, err := getWithETag[gh.RepositoryPermissionLevel](ctx, a.client, fmt.Sprintf("repos/%v/%v/collaborators/%v/permission", owner, name, login), etag)
		if err != nil {
			return nil, resp, err
		}
		// GitHub reports maintain as "write" here (and custom roles by
		// their base permission), so write covers all three.
		switch perm.GetPermission() {
		case "admin", "maintain", "write":
			return true, resp, nil
		}
		return false, resp, nil
	})
	if err != nil {
		return false, fmt.Errorf("reading %s's permission on %s: %w", login, repo, err)
	}
	return v.(bool), nil
}

// InTeam reports whether login is an active member of org/team.
func (a *API) InTeam(ctx context.Context, orgTeam, login string) (bool, error) {
	org, team := splitRepo(orgTeam)
	v, err := a.read(ctx, "team/"+orgTeam+"/"+login, a.cacheTTL, func(etag string) (any, *gh.Response, error) {
		m, resp, err := getWithETag[gh.Membership](ctx, a.client, fmt.Sprintf("orgs/%v/teams/%v/memberships/%v", org, team, login), etag)
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return false, resp, nil
		}
		if err != nil {
			return nil, resp, err
		}
		return m.GetState() == "active", resp, nil
	})
	if err != nil {
		return false, fmt.Errorf("reading %s's membership of %s: %w", login, orgTeam, err)
	}
	return v.(bool), nil
}

// read answers key from the cache until ttl has passed since GitHub last
// answered it, then asks again: fetch makes the GET, with If-None-Match
// when etag is set, retried on 5xx. A 304 renews the cached answer.
func (a *API) read(ctx context.Context, key string, ttl time.Duration, fetch func(etag string) (any, *gh.Response, error)) (any, error) {
	c, err := a.readCached(ctx, key, ttl, fetch)
	return c.value, err
}

// readCached is read, with when GitHub gave the answer.
func (a *API) readCached(ctx context.Context, key string, ttl time.Duration, fetch func(etag string) (any, *gh.Response, error)) (cached, error) {
	now := time.Now()
	a.mu.Lock()
	c, hit := a.cache[key]
	a.mu.Unlock()
	if hit && now.Before(c.expires) {
		return c, nil
	}
	v, resp, err := retryGet(ctx, func() (any, *gh.Response, error) { return fetch(c.etag) })
	if hit && resp != nil && resp.StatusCode == http.StatusNotModified {
		v, err = c.value, nil
	}
	if err := a.counted(resp, err); err != nil {
		return cached{}, err
	}
	etag := c.etag
	if resp != nil && resp.Header.Get("ETag") != "" {
		etag = resp.Header.Get("ETag")
	}
	c = cached{value: v, etag: etag, expires: now.Add(ttl), answered: now}
	a.store(key, c, now)
	return c, nil
}

func (a *API) store(key string, c cached, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= maxCachedChecks {
		// Strangers' logins must not grow the cache without bound.
		for k, c := range a.cache {
			if !now.Before(c.expires) {
				delete(a.cache, k)
			}
		}
		if len(a.cache) >= maxCachedChecks {
			clear(a.cache)
		}
	}
	a.cache[key] = c
}
