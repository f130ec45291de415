package main

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/config"
	"tekbot/test/kube"
	"tekbot/test/kubelet"
	"tekbot/test/poll"
	"tekbot/test/slackfake"
)

// TestLiveDutiesAreWired assembles tekbot as serve does, with Slack at a
// fake Web API, a captain group and a watched namespace, and runs the
// leader's jobs: @build-captain is set to the captain on duty, and a
// watched run that fails is alerted in the captain channel, the lines of
// its log that explain it (read through pods/log from a stand-in kubelet,
// a Secret it printed redacted) folded into the thread.
func TestLiveDutiesAreWired(t *testing.T) {
	t.Parallel()
	nightly, prod := kube.Shared(t, "nightly"), kube.Shared(t, "production")
	dir := t.TempDir()
	cfg, err := writeDevConfig(dir, nightly.Kubeconfig, prod.Kubeconfig, nil)
	if err != nil {
		t.Fatal(err)
	}
	api := slackfake.New()
	t.Cleanup(api.Stop)
	secret := filepath.Join(dir, "secrets", "slack")
	if err := os.WriteFile(secret, []byte("xoxb-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	watched := nightly.Namespace(t)
	cfg.State.Namespace = prod.Namespace(t) // claims of its own, apart from other tests
	cfg.Slack = config.Slack{
		Mode: config.SlackHTTP, BotToken: &config.Secret{File: secret}, SigningSecret: &config.Secret{File: secret},
		APIURL: api.APIURL(), CaptainGroup: "S0CAPTAINS", Channels: cfg.Slack.Channels,
	}
	cfg.Alerts.Watch = []config.AlertWatch{{Cluster: "nightly", Namespace: watched, Selector: "tekton.dev/pipeline=nightly-release"}}
	a, err := newApp(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), appOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.pool.Shutdown(context.Background()) })
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	// This replica leads at once: the test is about the leader's jobs.
	wg.Go(func() {
		a.runnables.Start(ctx, func(ctx context.Context, lead func(context.Context)) { lead(ctx) })
		a.runnables.Wait()
	})

	rot, err := cfg.Rotation.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	if captain := rot.At(time.Now()).Person; captain != "" {
		want := cfg.Person(captain).Slack
		poll.Until(t, "@build-captain set to "+captain, 30*time.Second, func() bool {
			ups := api.GroupUpdates()
			return len(ups) > 0 && ups[len(ups)-1].Group == "S0CAPTAINS" && strings.Join(ups[len(ups)-1].Users, ",") == want
		})
	}

	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly-release-1", Labels: map[string]string{"tekton.dev/pipeline": "nightly-release"}},
		Spec:       pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: "nightly-release"}},
	}
	if _, err := nightly.Tekton.TektonV1().PipelineRuns(watched).Create(ctx, pr, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// It fails as Tekton's controller ends a run: a failed TaskRun whose
	// step printed a Secret it could read, plain, base64 and URL-encoded.
	token := "nightly-publish-t0ken/+="
	leaks := []string{token, base64.StdEncoding.EncodeToString([]byte(token)), url.QueryEscape(token)}
	if _, err := nightly.Kube.CoreV1().Secrets(watched).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "publish-token"}, Data: map[string][]byte{"value": []byte(token)},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	k := kubelet.ForTest(t, nightly.Kube.CoreV1(), "node-"+watched)
	created, err := nightly.Tekton.TektonV1().PipelineRuns(watched).Get(ctx, pr.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubelet.Fail(t, nightly, k, created, "publish", "publish-token", "pushing images\n"+
		"Error: denied: token "+leaks[0]+"\n"+"auth: Basic "+leaks[1]+"\n"+"retrying https://registry.example/?t="+leaks[2]+"\n"+
		"publish.go:31: push ghcr.io/tektoncd/pipeline/controller: 403 Forbidden\n")
	if _, err := kube.SetState(ctx, nightly, watched, pr.Name, kube.Failed); err != nil {
		t.Fatal(err)
	}
	var line, excerpt slackfake.Message
	poll.Until(t, "the failure alert, and its excerpt in the thread", 30*time.Second, func() bool {
		for _, m := range api.Messages() {
			switch {
			case m.Channel != cfg.Slack.Channels.Captain || m.ThreadTS == "":
			case strings.Contains(m.Text, "`nightly-release` failed once"):
				line = m
			case strings.HasPrefix(m.Text, "Why `nightly-release-1` failed:"):
				excerpt = m
			}
		}
		return line.TS != "" && excerpt.TS != ""
	})
	if excerpt.ThreadTS != line.ThreadTS {
		t.Errorf("the excerpt is in thread %s, the alert in %s", excerpt.ThreadTS, line.ThreadTS)
	}
	for _, w := range []string{"*`publish`*: step `run` exited 1", "publish.go:31: push ghcr.io/tektoncd/pipeline/controller: 403 Forbidden", "Error: denied: token [redacted]"} {
		if !strings.Contains(excerpt.Text, w) {
			t.Errorf("the excerpt lacks %q:\n%s", w, excerpt.Text)
		}
	}
	for _, m := range api.Messages() {
		for _, l := range leaks {
			if strings.Contains(m.Text, l) {
				t.Errorf("a post shows the Secret (%q):\n%s", l, m.Text)
			}
		}
	}
}
