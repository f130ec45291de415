package main

import (
	"context"
	"fmt"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
	"tekbot/triage"
)

// What one run's excerpt may take of a reply: a /why on GitHub may explain
// several runs in one comment (triage.GitHubLimit), and Slack renders one
// section block's worth (triage.SlackBlockLimit). Both are within what
// handlers and alerts keep of an excerpt, so neither cuts one mid-block.
const (
	githubExcerpt = 6000
	slackExcerpt  = triage.SlackBlockLimit
)

// excerpts reads failed runs' excerpts with a triage.Reader on the run's
// cluster, redacting as triage.secrets says, and renders them for where
// they are posted. It serves /why (handlers.Excerpter) and, through
// alertExcerpts, the captain's failure alerts.
type excerpts struct {
	clusters *tekton.Clusters
	readers  map[string]*triage.Reader
}

// newExcerpts builds one Reader per cluster. With triage.secrets
// "shapes" no Reader is given a SecretSource: tekbot then never reads a
// Secret, and redacts credential shapes only.
func newExcerpts(cfg *config.Config, clusters *tekton.Clusters) *excerpts {
	e := &excerpts{clusters: clusters, readers: map[string]*triage.Reader{}}
	for _, cc := range cfg.Clusters {
		c := clusters.Get(cc.Name)
		if c == nil {
			continue
		}
		var secrets triage.SecretSource
		if cfg.Triage.Secrets != config.TriageShapes {
			secrets = tekton.SecretsOf(c)
		}
		e.readers[c.Name] = triage.NewReader(tekton.LogsOf(c), secrets)
	}
	return e
}

func (e *excerpts) read(ctx context.Context, cluster, namespace, run string) (triage.Excerpt, error) {
	r := e.readers[cluster]
	if r == nil {
		return triage.Excerpt{}, fmt.Errorf("no triage reader for cluster %q", cluster)
	}
	return r.Read(ctx, namespace, run)
}

// Excerpt renders a run's excerpt for the transport that asked.
func (e *excerpts) Excerpt(ctx context.Context, cluster, namespace, run string, t bot.Transport) (string, error) {
	ex, err := e.read(ctx, cluster, namespace, run)
	if err != nil {
		return "", err
	}
	if t == bot.GitHub {
		return ex.Markdown(githubExcerpt), nil
	}
	return ex.Mrkdwn(slackExcerpt), nil
}

// alertExcerpts is the captain's alerts' view of excerpts: always Slack.
type alertExcerpts struct{ e *excerpts }

func (a alertExcerpts) Excerpt(ctx context.Context, cluster, namespace, run string) (string, error) {
	return a.e.Excerpt(ctx, cluster, namespace, run, bot.Slack)
}
