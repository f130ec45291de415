package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/tekton"
	"tekbot/test/githubtest"
)

// ghDelays are how long the bench's GitHub takes to answer each call in
// figure 8: api.github.com answers a PR read in about 50 ms near its
// datacentres and 150 ms or more across an ocean.
var ghDelays = []time.Duration{50 * time.Millisecond, 150 * time.Millisecond}

// figureGitHubDelay measures figure 8: a signed /retest to its rerun in
// the apiserver when every GitHub call takes a set delay, for a commenter
// tekbot has seen and for one it has not (both answered by the list of
// the repository's writers, read beside the first PR read). The baseline is one delay plus
// a bare Create, measured in turns with tekbot's: what a /retest costs
// that waits on GitHub once. Each /retest retries the failed run of a PR
// of its own.
func figureGitHubDelay(ctx context.Context, e *env) ([]row, error) {
	const warmup, n = 3, 30
	ns, state := "bench-ghdelay", "bench-ghdelay-state"
	for _, name := range []string{ns, state} {
		if err := createNamespace(ctx, e.prod, name); err != nil {
			return nil, err
		}
	}
	commenters := []struct {
		name string
		// login of the i'th /retest's commenter
		login func(i int) string
	}{
		{"a commenter seen before", func(int) string { return maintainer }},
		{"a first-time commenter", func(i int) string { return fmt.Sprintf("newcomer-%d", i) }},
	}
	per := warmup + n
	origs, err := seedPRs(ctx, e.prod, ns, repoName, prNumber, len(ghDelays)*len(commenters)*per)
	if err != nil {
		return nil, err
	}
	runs := e.prod.Tekton.TektonV1().PipelineRuns(ns)
	w, err := runs.Watch(ctx, metav1.ListOptions{LabelSelector: tekton.LabelRerunOf})
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	cfg := e2eConfig(ns, state)
	var rows []row
	next := 0 // the next seeded PR
	for _, delay := range ghDelays {
		for _, who := range commenters {
			var prs []repoPR
			for i := range per {
				prs = append(prs, repoPR{repoName, prNumber + next + i})
			}
			ghs := githubServer(e, prs...)
			for i := range per {
				ghs.SetPermission(owner, repoName, who.login(i), "write")
			}
			ghs.SetDelay(delay)
			replied := make(chan struct{}, 1)
			st := newSteps()
			target, stopReceiver, err := serveReceiver(ctx, e.prod, cfg, ghs.URL(), ns, st, replied)
			if err != nil {
				return nil, err
			}
			var tek, bare []float64
			for i := range per {
				pr := prNumber + next + i
				body := retestCommentBy(e, who.login(i), repoName, pr, int64(8000+next+i))
				id := fmt.Sprintf("ghdelay-%d", next+i)
				req := githubtest.WebhookRequest(e.tb, target, "issue_comment", id, webhookSecret, body)
				start := time.Now()
				if i >= warmup {
					st.begin(start)
				}
				if err = expect(req.WithContext(ctx), http.StatusAccepted); err == nil {
					err = waitCreated(ctx, w.ResultChan(), id)
				}
				took := time.Since(start)
				st.mark("the rerun's ADDED event (the figure)")
				if err == nil {
					err = waitSignal(ctx, replied, "reply")
				}
				st.end()
				if err != nil {
					break
				}
				want := tekton.RerunOf(origs[next+i], tekton.Requester{Name: "vincent", RequestID: "bare-" + id})
				want.Name = "bare-" + origs[next+i].Name
				start = time.Now()
				if _, err = runs.Create(ctx, want, metav1.CreateOptions{}); err == nil {
					err = waitCreated(ctx, w.ResultChan(), "bare-"+id)
				}
				if err != nil {
					break
				}
				if i >= warmup {
					tek, bare = append(tek, ms(took)), append(bare, ms(time.Since(start)))
				}
			}
			stopReceiver()
			if err != nil {
				return rows, fmt.Errorf("%s, GitHub answering in %s: %w", who.name, delay, err)
			}
			next += per
			e.log.Info("where a /retest's time goes with GitHub's delay: offsets from sending the delivery, medians", "delay", delay, "commenter", who.name,
				"steps", "\n"+strings.Join(st.breakdown(), "\n"))
			rows = append(rows, delayRows(delay, who.name, tek, bare)...)
		}
	}
	return rows, nil
}

// delayRows are figure 8's median and p95 for one delay and commenter:
// tekbot against one delay plus a bare Create, met when tekbot takes at
// most one delay plus two bare Creates.
func delayRows(delay time.Duration, who string, tek, bare []float64) []row {
	d := ms(delay)
	var rows []row
	for _, p := range []struct {
		name string
		of   func([]float64) float64
	}{
		{"median", median},
		{"p95", func(xs []float64) float64 { return percentileOf(xs, 95) }},
	} {
		r := row{
			Figure: fmt.Sprintf("8 /retest → rerun, GitHub answering in %s, %s (%s)", delay, who, p.name), Unit: "ms",
			Tekbot: p.of(tek), Baseline: d + p.of(bare), BaselineIs: "one GitHub delay + a bare Create",
			Target: "≤ one delay + 2× a bare Create", Note: fmt.Sprintf("%d pairs", len(tek)),
		}
		r.Ratio = r.Tekbot / r.Baseline
		r.Met = r.Tekbot <= d+2*p.of(bare)
		rows = append(rows, r)
	}
	return rows
}
