package statuspage_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/statuspage"
	"tekbot/test/kube"
)

func get(t *testing.T, h http.Handler, target string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(body)
}

// text flattens the page's markup to its words, so assertions read like
// what a person sees.
func text(body string) string {
	body = regexp.MustCompile(`(?s)<style>.*?</style>`).ReplaceAllString(body, "")
	body = regexp.MustCompile(`<[^>]*>`).ReplaceAllString(body, " ")
	return strings.Join(strings.Fields(body), " ")
}

func TestStatusPageShowsEverySource(t *testing.T) {
	t.Parallel()
	w := seedWorld(t)
	w.page.Refresh()
	resp, body := get(t, w.page, "/?token="+viewerToken)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	seen := text(body)
	for _, want := range []string{
		// The captain, previous and next, with chat's changes applied.
		"Today andrea (Mon 2026-11-30)", "Previous jerop (Fri 2026-11-27)", "Next priya (Wed 2026-12-02)",
		"Tue 2026-12-01 nobody holiday: team offsite",
		"Wed 2026-12-02 priya swap: swapped with 2026-12-03", "Thu 2026-12-03 vincent swap: swapped with 2026-12-02",
		"Fri 2026-12-04 andrea cover: covers for jerop", "Sat 2026-12-05 nobody no duty (weekend)",
		// After 10 December the data ends: nobody, and the warning.
		"Fri 2026-12-11 nobody no data: the roster ends 2026-12-10", "the rotation's data runs out on 2026-12-10",
		// Open pages, their step and ack state.
		"p-escalated urgent dogfooding cluster is down priya backup unacked; paged andrea, vincent; past its escalation time",
		"captain unacked; paged andrea; escalates at 10:05 UTC",
		// Runs: failures first, the newest of each pipeline.
		"dogfooding: 4 pipelines, 2 failing",
		"unit-tests unit-tests-7f3k failed", "build build-2 succeeded", "e2e-tests e2e-tests-q2m9 running",
		// Recent actions and promotions.
		"vincent via slack rerun unit-tests-7f3k dogfooding/" + w.namespace + "/unit-tests-7f3k-r1 done",
		"github:mallory via github", "denied",
		"pipeline dogfooding v20261129-1a2b3c4", "pipeline v20261120-9f8e7d6 → v20261129-1a2b3c4 to dogfooding succeeded",
	} {
		if !strings.Contains(seen, want) {
			t.Errorf("the page lacks %q\npage text: %s", want, seen)
		}
	}
	// Failures come first in the runs table.
	if f, s := strings.Index(seen, "unit-tests-7f3k failed"), strings.Index(seen, "build-2 succeeded"); f > s {
		t.Errorf("a failure is listed after a success")
	}
	if strings.Contains(seen, "build-1") {
		t.Errorf("an older run of build is listed")
	}
	if !strings.Contains(body, `href="https://dashboard.example/#/namespaces/`+w.namespace+`/pipelineruns/unit-tests-7f3k"`) {
		t.Errorf("the failing run is not linked to the dashboard")
	}
}

// Hostile texts are shown as text: escaped in the markup, never as tags.
func TestStatusPageEscapesHostileText(t *testing.T) {
	t.Parallel()
	w := seedWorld(t)
	w.page.Refresh()
	_, body := get(t, w.page, "/?token="+viewerToken)
	for _, tag := range []string{"<script", "<img"} {
		if strings.Contains(body, tag) {
			t.Errorf("the page contains %q unescaped", tag)
		}
	}
	for _, escaped := range []string{
		"&lt;script&gt;window.pwned=1&lt;/script&gt; nightly is broken",
		"&#34;&gt;&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;",
		"&#34;&gt;&lt;img src=x onerror=window.pwned=3&gt;",
	} {
		if !strings.Contains(body, escaped) {
			t.Errorf("the page lacks the escaped text %q", escaped)
		}
	}
}

func TestAccessAndHeaders(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, target string
		public              bool
		header              []string
		want                int
	}{
		{"closed by default", "", "/", false, nil, http.StatusNotFound},
		{"closed by default, whatever token is guessed", "", "/?token=", false, []string{"Authorization", "Bearer "}, http.StatusNotFound},
		{"public", "", "/", true, nil, http.StatusOK},
		{"token missing", "s3cret", "/", false, nil, http.StatusUnauthorized},
		{"token wrong", "s3cret", "/?token=guess", false, nil, http.StatusUnauthorized},
		{"token in the query", "s3cret", "/?token=s3cret", false, nil, http.StatusOK},
		{"bearer token", "s3cret", "/", false, []string{"Authorization", "Bearer s3cret"}, http.StatusOK},
		{"bearer token wrong", "s3cret", "/", false, []string{"Authorization", "Bearer s3cre"}, http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, &statuspage.Page{Token: tc.token, Public: tc.public, Rotation: rotation(), Now: func() time.Time { return now }}, tc.target, tc.header...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != http.StatusOK && strings.Contains(body, "andrea") {
				t.Errorf("a refused request shows the page: %s", text(body))
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "style-src 'sha256-", "frame-ancestors 'none'", "form-action 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if resp.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("Referrer-Policy = %q", resp.Header.Get("Referrer-Policy"))
			}
			if tc.want == http.StatusOK && (strings.Contains(body, "s3cret") || !strings.Contains(body, "andrea")) {
				t.Errorf("body leaks the token or lacks the captain: %s", text(body))
			}
		})
	}
}

// The runs come from a snapshot: a request never waits for a refresh once
// there is one, and a stale one is refreshed in the background.
func TestRunsSnapshotRefreshesInTheBackground(t *testing.T) {
	t.Parallel()
	w := seedWorld(t)
	var clock atomic.Int64 // read by the background refresh
	clock.Store(now.UnixNano())
	w.page.Now = func() time.Time { return time.Unix(0, clock.Load()) }
	w.page.RunsMaxAge = time.Minute
	w.page.Refresh()
	ctx := context.Background()
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "lint-1"},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "lint"}},
	}
	if _, err := w.cluster.Tekton.TektonV1().PipelineRuns(w.namespace).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.SetState(ctx, w.cluster, w.namespace, "lint-1", kube.Failed); err != nil {
		t.Fatal(err)
	}
	// Fresh: the snapshot is served as it is.
	if _, body := get(t, w.page, "/?token="+viewerToken); strings.Contains(body, "lint-1") {
		t.Fatal("a fresh snapshot was read again")
	}
	// Stale: served at once, refreshed behind; a later view shows it.
	clock.Add(int64(2 * time.Minute))
	pollUntil(t, func() bool {
		_, body := get(t, w.page, "/?token="+viewerToken)
		return strings.Contains(body, "lint-1")
	})
}

// When the bot keeps a slim index of the namespace (tekton.WatchRuns, for
// a repository's runs), the page folds the index instead of paging through
// the apiserver, and sees new runs as the index does.
func TestRunsFromTheIndex(t *testing.T) {
	t.Parallel()
	w := seedWorld(t)
	c := w.page.Clusters.All()[0]
	ctx, stop := context.WithCancel(context.Background())
	t.Cleanup(stop)
	go c.WatchRuns(ctx, w.namespace)
	pollUntil(t, func() bool { return c.Indexed(w.namespace) })
	w.page.Refresh()
	seen := func() string { _, body := get(t, w.page, "/?token="+viewerToken); return text(body) }
	for _, want := range []string{"dogfooding: 4 pipelines, 2 failing", "unit-tests unit-tests-7f3k failed", "build build-2 succeeded"} {
		if got := seen(); !strings.Contains(got, want) {
			t.Errorf("from the index, the page lacks %q:\n%s", want, got)
		}
	}
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "lint-9"},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "lint"}},
	}
	if _, err := w.cluster.Tekton.TektonV1().PipelineRuns(w.namespace).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, func() bool { w.page.Refresh(); return strings.Contains(seen(), "lint lint-9 running") })
}
