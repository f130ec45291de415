package config

import (
	"path/filepath"
	"time"
)

// Defaults that make a small config file enough.
const (
	DefaultListen = ":8080"
	// DefaultShutdownTimeout outlasts the minute a GitHub call waits for a
	// rate limit to lift: a command accepted with 202 and waiting on the
	// limit when SIGTERM comes is still run, as GitHub will not redeliver it.
	DefaultShutdownTimeout = 75 * time.Second
	// DefaultMaxBodyBytes fits GitHub's largest issue_comment payloads (a
	// 65,536-character comment is ~260 KB escaped) with room to spare.
	DefaultMaxBodyBytes = 1 << 20
	// A stalled connection is closed within DefaultTimeout, whichever way
	// it stalls: sending the request, reading the answer, or idle.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxConcurrentBodies, each up to maxBodyBytes, bounds what
	// unauthenticated clients can make tekbot hold (~32 MiB); webhooks
	// are read in milliseconds, so honest traffic never nears it.
	DefaultMaxConcurrentBodies = 32
	// DefaultMinBodyRate and DefaultBodyGrace: GitHub and Slack send a
	// body in one go; a client sending less than 1 KiB a second after two
	// seconds is holding a slot, not sending a webhook.
	DefaultMinBodyRate = 1024
	DefaultBodyGrace   = 2 * time.Second
	// DefaultSelector finds a PR's runs by Pipelines-as-Code's labels.
	DefaultSelector = "pipelinesascode.tekton.dev/repository={{.Repo}}," +
		"pipelinesascode.tekton.dev/pull-request={{.PullRequest}}," +
		"pipelinesascode.tekton.dev/sha={{.SHA}}"
	DefaultPipelineLabel = "pipelinesascode.tekton.dev/original-prname"
	DefaultHandoff       = "09:00"
	DefaultEscalateAfter = 15 * time.Minute
	// DefaultCommentWindow: GitHub delivers a comment within seconds, so a
	// comment older than this is a replay or a manual redelivery of
	// something long past.
	DefaultCommentWindow = 10 * time.Minute
)

// TrustMode is the repository's trust, TrustCommit unless set.
func (r *Repository) TrustMode() Trust {
	if r.Trust == "" {
		return TrustCommit
	}
	return r.Trust
}

// MaxCommentAge is CommentWindow, or its default.
func (g *GitHub) MaxCommentAge() time.Duration {
	if g.CommentWindow.Duration <= 0 {
		return DefaultCommentWindow
	}
	return g.CommentWindow.Duration
}

// DefaultWorkingDays is Monday to Friday.
var DefaultWorkingDays = []string{"Mon", "Tue", "Wed", "Thu", "Fri"}

func (c *Config) applyDefaults() {
	if c.Server.Listen == "" {
		c.Server.Listen = DefaultListen
	}
	if c.Server.ShutdownTimeout.Duration == 0 {
		c.Server.ShutdownTimeout.Duration = DefaultShutdownTimeout
	}
	if c.Server.MaxBodyBytes == 0 {
		c.Server.MaxBodyBytes = DefaultMaxBodyBytes
	}
	for _, d := range []*Duration{&c.Server.ReadTimeout, &c.Server.WriteTimeout, &c.Server.IdleTimeout} {
		if d.Duration == 0 {
			d.Duration = DefaultTimeout
		}
	}
	if c.Server.MaxConcurrentBodies == 0 {
		c.Server.MaxConcurrentBodies = DefaultMaxConcurrentBodies
	}
	if c.Server.MinBodyRate == 0 {
		c.Server.MinBodyRate = DefaultMinBodyRate
	}
	if c.Server.BodyGrace.Duration == 0 {
		c.Server.BodyGrace.Duration = DefaultBodyGrace
	}
	for i := range c.Clusters {
		if c.Clusters[i].Namespace == "" {
			c.Clusters[i].Namespace = "default"
		}
	}
	for i := range c.GitHub.Repositories {
		r := &c.GitHub.Repositories[i]
		if r.Selector == "" {
			r.Selector = DefaultSelector
		}
		if r.PipelineLabel == "" {
			r.PipelineLabel = DefaultPipelineLabel
		}
		if r.Namespace == "" {
			if cl := c.Cluster(r.Cluster); cl != nil {
				r.Namespace = cl.Namespace
			}
		}
	}
	if c.State.Cluster == "" && len(c.Clusters) > 0 {
		c.State.Cluster = c.Clusters[0].Name
	}
	if cl := c.Cluster(c.State.Cluster); cl != nil && c.State.Namespace == "" {
		c.State.Namespace = cl.Namespace
	}
	if c.Slack.Mode == "" {
		c.Slack.Mode = SlackHTTP
	}
	if c.Rotation.Handoff == "" {
		c.Rotation.Handoff = DefaultHandoff
	}
	if c.Rotation.TimeZone == "" {
		c.Rotation.TimeZone = "UTC"
	}
	if len(c.Rotation.WorkingDays) == 0 {
		c.Rotation.WorkingDays = DefaultWorkingDays
	}
	if c.Rotation.EscalateAfter.Duration == 0 {
		c.Rotation.EscalateAfter.Duration = DefaultEscalateAfter
	}
	c.alertDefaults()
	c.triageDefaults()
	for i := range c.Promotion.Environments {
		e := &c.Promotion.Environments[i]
		if e.Namespace == "" {
			if cl := c.Cluster(e.Cluster); cl != nil {
				e.Namespace = cl.Namespace
			}
		}
	}
}

// resolvePaths makes file paths relative to the config file's folder, as a
// reader of the file would expect.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	for i := range c.Clusters {
		abs(&c.Clusters[i].Kubeconfig)
	}
	for _, s := range []*Secret{c.GitHub.WebhookSecret, c.GitHub.Token, c.Slack.SigningSecret, c.Slack.BotToken, c.Slack.AppToken, c.Rotation.CalendarToken, c.Server.StatusToken} {
		if s != nil {
			abs(&s.File)
		}
	}
	if c.GitHub.App != nil && c.GitHub.App.PrivateKey != nil {
		abs(&c.GitHub.App.PrivateKey.File)
	}
	if pd := c.Rotation.PagerDuty; pd != nil && pd.RoutingKey != nil {
		abs(&pd.RoutingKey.File)
	}
}

// Cluster returns the cluster with that name, or nil.
func (c *Config) Cluster(name string) *Cluster {
	for i := range c.Clusters {
		if c.Clusters[i].Name == name {
			return &c.Clusters[i]
		}
	}
	return nil
}

// Person returns the person with that name, or nil.
func (c *Config) Person(name string) *Person {
	for i := range c.People {
		if c.People[i].Name == name {
			return &c.People[i]
		}
	}
	return nil
}

// Repository returns the configuration of owner/repo, or nil.
func (c *Config) Repository(fullName string) *Repository {
	for i := range c.GitHub.Repositories {
		if c.GitHub.Repositories[i].Name == fullName {
			return &c.GitHub.Repositories[i]
		}
	}
	return nil
}

// SlackEnabled reports whether the file configures a Slack app.
func (c *Config) SlackEnabled() bool { return c.Slack.BotToken != nil }

// GitHubEnabled reports whether the file configures the GitHub webhook.
func (c *Config) GitHubEnabled() bool { return c.GitHub.WebhookSecret != nil }
