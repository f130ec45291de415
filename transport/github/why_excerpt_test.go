package github_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/handlers"
	"tekbot/test/kube"
	"tekbot/test/kubelet"
	"tekbot/test/poll"
	"tekbot/test/testenv"
	"tekbot/triage"
)

// whyToken is a Secret the failed step could read, and printed.
const whyToken = "pr-ci-t0ken/with+odd=chars"

// ghToken has a GitHub token's shape: redacted in either mode.
var ghToken = "ghp_" + strings.Repeat("a1B2", 9)

// /why on a PR, through the signed webhook, on runs whose logs the real
// apiserver serves from a stand-in kubelet: a maintainer gets each failed
// run's verdict and the lines of its log that explain it, with the
// Secret it printed (plain, base64, URL-encoded) redacted, or with
// triage.secrets: shapes, only the credential-shaped; a commenter who may
// not /retest gets a refusal that posts no log line.
func TestWhyOnAPRPostsTheExcerptForWhoMayRetest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	reader := e.history()
	ctx := context.Background()
	k := kubelet.ForTest(t, e.cluster.Kube.CoreV1(), "node-"+e.ns)
	if _, err := e.cluster.Kube.CoreV1().Secrets(e.ns).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "ci-token"}, Data: map[string][]byte{"value": []byte(whyToken)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	log := numberedLog(120, map[int]string{
		40: "    queue_test.go:88: got 3 items, want 4",
		41: "--- FAIL: TestQueueOrder (0.01s)",
		42: "Error: push with " + whyToken,
		43: "Error: header " + base64.StdEncoding.EncodeToString([]byte(whyToken)),
		44: "Error: fetching https://ci.example/?t=" + url.QueryEscape(whyToken),
		45: "Error: cloning with " + ghToken,
	})
	run := e.seed("unit-tests", kube.Running, false)
	kubelet.Fail(t, e.cluster, k, run, "unit", "ci-token", log)
	if _, err := kube.SetState(ctx, e.cluster, e.ns, run.Name, kube.Failed); err != nil {
		t.Fatal(err)
	}
	e.seed("build", kube.Succeeded, false)

	poll.Until(t, "the failure is in the history", 30*time.Second, func() bool {
		v, err := reader.Judge(ctx, repoName, "unit-tests", "")
		return err == nil && strings.HasPrefix(v.String(), "new")
	})
	for i, tc := range []struct {
		who string
		// shapes is triage.secrets: shapes (no Secret read).
		shapes bool
		// want are in the reply; never, never.
		want, never []string
	}{
		{who: maintainer,
			want: []string{"`unit-tests`", "failed: new", "**`unit`**: step `run` exited 1",
				"queue_test.go:88: got 3 items, want 4", "--- FAIL: TestQueueOrder", "Error: push with " + triage.Redacted},
			never: []string{whyToken, base64.StdEncoding.EncodeToString([]byte(whyToken)), url.QueryEscape(whyToken), ghToken}},
		// What the README warns of: without reading Secrets only
		// shapes are hidden, and a Secret of no known shape is posted.
		{who: maintainer, shapes: true,
			want:  []string{"queue_test.go:88: got 3 items, want 4", "Error: push with " + whyToken, "Error: cloning with " + triage.Redacted},
			never: []string{ghToken}},
		{who: contributor,
			want:  []string{"Sorry, you may not run `why` on a PR. Who may: "},
			never: []string{"queue_test.go", "TestQueueOrder", "Error:"}},
	} {
		o := e.options()
		o.Deps = func(d *handlers.Deps) {
			d.Verdicts = reader
			d.Excerpts = triage.NewReaders(e.clusters.All(), !tc.shapes)
		}
		r := testenv.NewReplica(t, o) // a drained replica takes no more
		before := e.comments()
		if code, msg := r.Deliver(t, "issue_comment", fmt.Sprintf("why-excerpt-%d", i), e.comment(tc.who, "/why", int64(3100+i))); code != http.StatusAccepted {
			t.Fatalf("/why by %s: %d %s", tc.who, code, msg)
		}
		r.Drain(t)
		comments := e.gh.Comments(owner, repoName, prNumber)
		if len(comments) != before+1 {
			t.Fatalf("/why by %s: want one reply, got %+v", tc.who, comments[before:])
		}
		body := comments[before].Body
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("/why by %s: the reply lacks %q:\n%s", tc.who, w, body)
			}
		}
		for _, n := range tc.never {
			if strings.Contains(body, n) {
				t.Errorf("/why by %s: the reply shows %q:\n%s", tc.who, n, body)
			}
		}
	}
}

// numberedLog is a log of n numbered lines, with lines replaced.
func numberedLog(n int, lines map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if l, ok := lines[i]; ok {
			b.WriteString(l + "\n")
			continue
		}
		b.WriteString("ok line " + strings.Repeat("x", i%7) + "\n")
	}
	return b.String()
}
