package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/test/githubtest"
	"tekbot/test/poll"
	"tekbot/transport/github"
)

// TestGitHubAppAuthentication: with App credentials, tekbot signs a JWT
// with the App's key, exchanges it for an installation token (as
// ghinstallation does against GitHub), and calls the API with that token.
func TestGitHubAppAuthentication(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	var sawJWT bool
	s.Handle(http.MethodPost, "/app/installations/{installation_id}/access_tokens", func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		sawJWT = strings.HasPrefix(auth, "Bearer ") && strings.Count(auth, ".") == 2 && r.PathValue("installation_id") == "4242"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":"ghs_installation","expires_at":%q,"permissions":{},"repository_selection":"all"}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	})
	s.SetPermission("tektoncd", "pipeline", "vdemeest", "write")

	api, err := github.NewAPI(config.GitHub{
		APIURL: s.URL(),
		App:    &config.GitHubApp{ID: 1234, InstallationID: 4242, PrivateKey: &config.Secret{File: keyFile}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := api.CanWrite(context.Background(), "tektoncd/pipeline", "vdemeest")
	if err != nil || !ok {
		t.Fatalf("CanWrite with the installation token: %v %v", ok, err)
	}
	if !sawJWT {
		t.Error("the installation token was not requested with the App's JWT")
	}
	calls := 0
	for _, r := range s.Requests() {
		if !strings.Contains(r.Path, "/collaborators") {
			continue
		}
		calls++
		if !strings.HasSuffix(r.Header.Get("Authorization"), " ghs_installation") {
			t.Errorf("API call authenticated with %q, want the installation token", r.Header.Get("Authorization"))
		}
	}
	if calls != 1 {
		t.Errorf("%d collaborator calls recorded, want 1", calls)
	}
}

// servePR answers a PR read with a large PR, as GitHub does.
func servePR(w http.ResponseWriter) {
	body, err := json.Marshal(map[string]any{
		"number": 7, "state": "open", "head": map[string]any{"sha": strings.Repeat("a", 40)},
		"user": map[string]any{"login": "octocat"}, "body": strings.Repeat("x", 16<<10),
	})
	if err != nil {
		panic(err)
	}
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
}

func tokenAPI(t *testing.T, s *githubtest.Server) *github.API {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("ghs_test"), 0o600); err != nil {
		t.Fatal(err)
	}
	api, err := github.NewAPI(config.GitHub{APIURL: s.URL(), Token: &config.Secret{File: tokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	return api
}

// TestBurstsReuseConnectionsToGitHub: over HTTP/1.1, a burst of reads
// needs a connection each; the next burst finds them all kept open instead
// of dialling again (Go keeps two).
func TestBurstsReuseConnectionsToGitHub(t *testing.T) {
	t.Parallel()
	const burst = 32
	s := githubtest.NewServer(t)
	// The first burst's reads are held until all have arrived, so it
	// opens exactly one connection each.
	var arrived atomic.Int32
	all := make(chan struct{})
	s.Handle(http.MethodGet, "/repos/{owner}/{repo}/pulls/{pull_number}", func(w http.ResponseWriter, r *http.Request) {
		if n := arrived.Add(1); n == burst {
			close(all)
		} else if n < burst {
			<-all
		}
		servePR(w)
	})
	api := tokenAPI(t, s)
	readAll := func() {
		var wg sync.WaitGroup
		errs := make([]error, burst)
		for i := range burst {
			wg.Go(func() { _, errs[i] = api.Get(context.Background(), "tektoncd/pipeline", 7) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	readAll()
	first := s.Connections()
	readAll()
	if again := s.Connections() - first; first != burst || again != 0 {
		t.Errorf("the bursts of %d reads opened %d and %d connections, want %d and 0", burst, first, again, burst)
	}
}

// TestAStalledResponseEndCostsItsConnection: a server that sends a PR's
// JSON and then nothing does not hold the read until its context ends.
func TestAStalledResponseEndCostsItsConnection(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the server closes: cleanups run last first
	s.Handle(http.MethodGet, "/repos/{owner}/{repo}/pulls/{pull_number}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprintf(w, `{"number":7,"state":"open","head":{"sha":%q}}`, strings.Repeat("b", 40))
		if err := http.NewResponseController(w).Flush(); err != nil {
			panic(err)
		}
		<-release
	})
	api := tokenAPI(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pr, err := api.Get(ctx, "tektoncd/pipeline", 7)
	if err != nil || pr.HeadSHA != strings.Repeat("b", 40) {
		t.Fatalf("Get: %+v, %v", pr, err)
	}
	if ctx.Err() != nil {
		t.Fatal("Get returned only when its context ended: closing the response waited for the rest of a stalled body")
	}
}

// TestRepeatReadsAskWithTheirETag: a PR read again, and a permission read
// again after its minute in the cache, are sent with If-None-Match; GitHub's
// 304 gives the answer already known, and a change gives the new one. A
// 304 is not an error, and is not counted as one.
func TestRepeatReadsAskWithTheirETag(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(t)
	s.SetPermission("tektoncd", "pipeline", "vdemeest", "write")
	s.SetPullRequest("tektoncd", "pipeline", githubtest.PullRequest{Number: 7, HeadSHA: strings.Repeat("a", 40), Labels: []string{"kind/bug"}})
	api := tokenAPI(t, s)
	reg := prometheus.NewRegistry()
	api.Metrics = bot.NewMetrics(reg)
	ctx := context.Background()
	type read struct {
		name   string
		change func()
		expire bool
		status int // GitHub's answer
		head   string
		write  bool
	}
	for _, tt := range []read{
		{name: "first", status: http.StatusOK, head: "aaaaaaa", write: true},
		{name: "again", status: http.StatusNotModified, head: "aaaaaaa", write: true},
		{name: "after a minute", expire: true, status: http.StatusNotModified, head: "aaaaaaa", write: true},
		{name: "after a push and a demotion", expire: true, change: func() {
			s.SetPullRequest("tektoncd", "pipeline", githubtest.PullRequest{Number: 7, HeadSHA: strings.Repeat("b", 40)})
			s.SetPermission("tektoncd", "pipeline", "vdemeest", "read")
		}, status: http.StatusOK, head: "bbbbbbb", write: false},
	} {
		if tt.change != nil {
			tt.change()
		}
		if tt.expire {
			api.ExpireCache()
		}
		from := len(s.Requests())
		pr, err := api.Get(ctx, "tektoncd/pipeline", 7)
		if err != nil || !strings.HasPrefix(pr.HeadSHA, tt.head) {
			t.Fatalf("%s: PR read: %+v %v, want head %s", tt.name, pr, err, tt.head)
		}
		pr.Labels = append(pr.Labels[:0], "scribbled") // a caller's change stays its own
		ok, err := api.CanWrite(ctx, "tektoncd/pipeline", "vdemeest")
		if err != nil || ok != tt.write {
			t.Fatalf("%s: CanWrite = %v %v, want %v", tt.name, ok, err, tt.write)
		}
		// Every 200 counts against the rate limit, a 304 does not.
		used := 0
		for _, r := range s.Requests() {
			if r.Status != http.StatusNotModified {
				used++
			}
		}
		if got := gaugeValue(t, reg, "tekbot_github_rate_remaining"); got != float64(5000-used) {
			t.Errorf("%s: tekbot_github_rate_remaining = %v, want %d", tt.name, got, 5000-used)
		}
		for _, r := range s.Requests()[from:] {
			if r.Status != tt.status {
				t.Errorf("%s: %s answered %d, want %d", tt.name, r, r.Status, tt.status)
			}
			if (r.Header.Get("If-None-Match") != "") != (tt.name != "first") {
				t.Errorf("%s: %s sent If-None-Match %q", tt.name, r, r.Header.Get("If-None-Match"))
			}
		}
	}
	if pr, _ := api.Get(ctx, "tektoncd/pipeline", 7); strings.Join(pr.Labels, ",") == "scribbled" {
		t.Errorf("a caller's change to a PR reached the cache: labels %v", pr.Labels)
	}
}

// gaugeValue reads a registered gauge by name.
func gaugeValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

// TestALongRateLimitIsNamedByWhen: a rate limit that lifts later than a
// call waits fails it at once, and the error reads, in a reply (Slack's
// `/tekton rerun <PR URL>`), as GitHub rate-limiting tekbot until when:
// not as refused credentials, which GitHub's 403 would say. On a PR no
// reply can say so: GitHub refuses the reply too until the limit lifts.
func TestALongRateLimitIsNamedByWhen(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		limit func(*githubtest.Server, time.Time)
	}{
		{"secondary", func(s *githubtest.Server, lifts time.Time) {
			s.SecondaryLimitNext("GET", "/repos/{owner}/{repo}/pulls/{pull_number}", time.Until(lifts).Round(time.Second), 1)
		}},
		{"primary", func(s *githubtest.Server, lifts time.Time) { s.ExhaustRateLimit(lifts) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := githubtest.NewServer(t)
			s.SetPullRequest("tektoncd", "pipeline", githubtest.PullRequest{Number: 7})
			lifts := time.Now().Add(3 * time.Minute)
			tt.limit(s, lifts)
			start := time.Now()
			_, err := tokenAPI(t, s).Get(context.Background(), "tektoncd/pipeline", 7)
			if err == nil || time.Since(start) > 30*time.Second {
				t.Fatalf("Get = %v after %s, want a failure at once", err, time.Since(start))
			}
			got := bot.Explain("GitHub", err)
			var want []string
			for _, at := range []time.Time{lifts.Add(-2 * time.Second), lifts, lifts.Add(2 * time.Second)} {
				want = append(want, "GitHub is rate-limiting tekbot until "+at.UTC().Format("15:04 MST"))
			}
			if !slices.Contains(want, got) {
				t.Errorf("Explain = %q, want one of %q", got, want)
			}
		})
	}
}

// TestWritersAreListedAcrossPages: the writers are read page by page, and
// a repository with more than tekbot lists asks about each person instead.
// A list of pages is read again whole when it expires: it has no one ETag.
func TestWritersAreListedAcrossPages(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		writers int
		// calls: the list pages and permission reads of each look-up: a
		// writer, a reader, the writer again.
		calls [3][2]int
	}{
		{name: "one page", writers: 3, calls: [3][2]int{{1, 0}, {0, 0}, {0, 0}}},
		{name: "two pages", writers: 150, calls: [3][2]int{{2, 0}, {0, 0}, {0, 0}}},
		{name: "more than ten pages", writers: 1001, calls: [3][2]int{{10, 1}, {0, 1}, {0, 0}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := githubtest.NewServer(t)
			for i := range tt.writers {
				s.SetPermission("tektoncd", "pipeline", fmt.Sprintf("w%04d", i), "write")
			}
			s.SetPermission("tektoncd", "pipeline", "reader", "read")
			api := tokenAPI(t, s)
			last := fmt.Sprintf("w%04d", tt.writers-1)
			for round, login := range []string{last, "reader", last} {
				from := len(s.Requests())
				ok, err := api.CanWrite(context.Background(), "tektoncd/pipeline", login)
				if err != nil || ok != (login == last) {
					t.Fatalf("CanWrite(%s) = %v %v", login, ok, err)
				}
				pages, perms := 0, 0
				for _, r := range s.Requests()[from:] {
					if strings.HasSuffix(r.Path, "/permission") {
						perms++
					} else {
						pages++
					}
				}
				if want := tt.calls[round]; pages != want[0] || perms != want[1] {
					t.Errorf("CanWrite(%s): %d list pages and %d permission reads, want %v", login, pages, perms, want)
				}
			}
		})
	}
}

// TestABurstListsTheWritersOnce: commands arriving together after a start,
// from people tekbot has never seen, share one read of the writers.
func TestABurstListsTheWritersOnce(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(t)
	const n = 20
	for i := range n {
		s.SetPermission("tektoncd", "pipeline", fmt.Sprintf("w%02d", i), "write")
	}
	api := tokenAPI(t, s)
	s.Hold()
	var asked, done sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		asked.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			asked.Done()
			if ok, err := api.CanWrite(context.Background(), "tektoncd/pipeline", fmt.Sprintf("w%02d", i)); err != nil || !ok {
				errs <- fmt.Errorf("CanWrite(w%02d) = %v %v", i, ok, err)
			}
		}()
	}
	asked.Wait()
	poll.Until(t, "the writers asked for", 10*time.Second, func() bool { return len(s.Held()) > 0 })
	s.Open()
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := s.Calls(http.MethodGet, "/repos/{owner}/{repo}/collaborators"); got != 1 {
		t.Errorf("the writers listed %d times, want once", got)
	}
}
