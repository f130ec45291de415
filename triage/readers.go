package triage

import (
	"context"
	"fmt"

	"tekbot/bot"
	"tekbot/tekton"
)

// What one run's excerpt may take of a reply: a /why on GitHub may explain
// several runs in one comment (GitHubLimit), and Slack renders one
// section block's worth (SlackBlockLimit). Both are within what handlers
// and alerts keep of an excerpt, so neither cuts one mid-block.
const (
	githubRunLimit = 6000
	slackRunLimit  = SlackBlockLimit
)

// Readers reads failed runs' excerpts with a Reader on the run's
// cluster and renders them for where they are posted: it is what /why
// (handlers.Excerpter) and the captain's failure alerts read.
type Readers struct {
	readers map[string]*Reader
}

// NewReaders builds one Reader per cluster. With readSecrets false
// (triage.secrets: shapes) no Reader is given a SecretSource: tekbot then
// never reads a Secret, and redacts credential shapes only.
func NewReaders(clusters []*tekton.Cluster, readSecrets bool) *Readers {
	cs := &Readers{readers: map[string]*Reader{}}
	for _, c := range clusters {
		var secrets SecretSource
		if readSecrets {
			secrets = tekton.SecretsOf(c)
		}
		cs.readers[c.Name] = NewReader(tekton.LogsOf(c), secrets)
	}
	return cs
}

// Excerpt renders a run's excerpt for transport t: Markdown for GitHub,
// mrkdwn for Slack.
func (cs *Readers) Excerpt(ctx context.Context, cluster, namespace, run string, t bot.Transport) (string, error) {
	r := cs.readers[cluster]
	if r == nil {
		return "", fmt.Errorf("no cluster %q to read the log of %s/%s", cluster, namespace, run)
	}
	ex, err := r.Read(ctx, namespace, run)
	if err != nil {
		return "", err
	}
	if t == bot.GitHub {
		return ex.Markdown(githubRunLimit), nil
	}
	return ex.Mrkdwn(slackRunLimit), nil
}
