// Package config holds tekbot's configuration: one YAML file decoded strictly
// into typed structs and validated as a whole, so that every problem is
// reported at once with the field path and line it comes from.
package config

import (
	"slices"
	"time"
)

// Config is the whole of a tekbot.yaml file.
type Config struct {
	Server    Server     `yaml:"server"`
	Clusters  []Cluster  `yaml:"clusters"`
	People    []Person   `yaml:"people"`
	GitHub    GitHub     `yaml:"github"`
	Slack     Slack      `yaml:"slack"`
	Rotation  Rotation   `yaml:"rotation"`
	Promotion Promotion  `yaml:"promotion"`
	Policy    Policy     `yaml:"policy"`
	Dashboard *Dashboard `yaml:"dashboard"`
	State     State      `yaml:"state"`
	Alerts    Alerts     `yaml:"alerts"`
	Triage    Triage     `yaml:"triage"`
	// Commands are verbs the team declares (config/commands.go).
	Commands []Command `yaml:"commands"`
}

// State is where tekbot keeps its runtime state (request claims, rotation
// changes, page acks) so that replicas share it and restarts keep it.
type State struct {
	// Cluster defaults to the first cluster; Namespace to that cluster's.
	Cluster   string `yaml:"cluster"`
	Namespace string `yaml:"namespace"`
}

// Server is the HTTP listener that serves webhooks and probes.
type Server struct {
	// Listen is a host:port; the default ":8080" suits a container.
	Listen string `yaml:"listen"`
	// ShutdownTimeout bounds how long in-flight work may run after SIGTERM.
	ShutdownTimeout Duration `yaml:"shutdownTimeout"`
	// MaxBodyBytes caps webhook bodies; larger ones are answered 413.
	MaxBodyBytes int64 `yaml:"maxBodyBytes"`
	// ReadTimeout bounds reading a whole request, body included, and
	// WriteTimeout sending its answer; IdleTimeout closes a kept-alive
	// connection that sends nothing. A stalled client is cut off by them.
	ReadTimeout  Duration `yaml:"readTimeout"`
	WriteTimeout Duration `yaml:"writeTimeout"`
	IdleTimeout  Duration `yaml:"idleTimeout"`
	// MaxConcurrentBodies caps the webhook and Slack requests read at once
	// (before their signature is checked); more are answered 503 at once.
	MaxConcurrentBodies int `yaml:"maxConcurrentBodies"`
	// MinBodyRate, in bytes a second, is the slowest a webhook or Slack
	// body may arrive once BodyGrace has passed: a slower one is cut off,
	// and when every body slot is taken, the slowest body read for a
	// moment gives its slot to the new request, so that trickling clients
	// cannot cost a signed delivery.
	MinBodyRate int64    `yaml:"minBodyRate"`
	BodyGrace   Duration `yaml:"bodyGrace"`
	// MetricsAddr, a host:port, serves /metrics on a listener of its own
	// (e.g. reachable only from the monitoring namespace); empty serves it
	// on Listen.
	MetricsAddr string `yaml:"metricsAddr"`
	// StatusToken must be given as ?token= (or "Authorization: Bearer")
	// to read the status page at /. The page names private repositories'
	// runs and shows the audit trail, so without a token it answers 404,
	// unless StatusPublic opens it (to an OAuth proxy in front of tekbot).
	StatusToken  *Secret `yaml:"statusToken"`
	StatusPublic bool    `yaml:"statusPublic"`
}

// Role is what a cluster is for, in TEP-0066's terms.
type Role string

// The cluster roles of TEP-0066 "Dogfooding Tekton".
const (
	RoleNightly    Role = "nightly"
	RoleProduction Role = "production"
)

// Cluster is one Kubernetes cluster that runs Tekton.
type Cluster struct {
	Name string `yaml:"name"`
	Role Role   `yaml:"role"`
	// Kubeconfig and Context select a cluster from a kubeconfig file;
	// InCluster uses the pod's service account instead.
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
	InCluster  bool   `yaml:"inCluster"`
	Namespace  string `yaml:"namespace"`
	// Dashboard overrides the top-level dashboard for this cluster.
	Dashboard *Dashboard `yaml:"dashboard"`
	// Rerunnable lists the runs, besides PR runs, that `rerun` may retry
	// on a production cluster: production is deny-by-default, so a run
	// that holds credentials is never rerun for being merely unknown.
	Rerunnable []Rerunnable `yaml:"rerunnable"`
}

// Rerunnable allows reruns of a production cluster's runs in one
// namespace: the namespace is where a run provably is; Pipelines narrows
// it to runs whose pipelineRef names one of them.
type Rerunnable struct {
	Namespace string `yaml:"namespace"`
	// Pipelines empty allows every run in the namespace.
	Pipelines []string `yaml:"pipelines"`
}

// AllowsRerun reports whether the cluster's config allows rerunning a run
// of pipeline (its pipelineRef's name, "" for none) in namespace.
func (c *Cluster) AllowsRerun(namespace, pipeline string) bool {
	for _, r := range c.Rerunnable {
		if r.Namespace == namespace && (len(r.Pipelines) == 0 || slices.Contains(r.Pipelines, pipeline)) {
			return true
		}
	}
	return false
}

// Dashboard builds links to PipelineRuns in a Tekton Dashboard.
type Dashboard struct {
	// PipelineRunURL is a Go template with .Cluster, .Namespace and .Name.
	PipelineRunURL string `yaml:"pipelineRunURL"`
}

// Person is someone tekbot knows, with an identity on each transport.
type Person struct {
	Name     string `yaml:"name"`
	Slack    string `yaml:"slack"`
	GitHub   string `yaml:"github"`
	TimeZone string `yaml:"timezone"`
}

// GitHub configures the webhook receiver and the API client.
type GitHub struct {
	WebhookSecret *Secret `yaml:"webhookSecret"`
	// Token or App authenticates API calls; one of them is needed to reply.
	Token *Secret    `yaml:"token"`
	App   *GitHubApp `yaml:"app"`
	// APIURL points at GitHub Enterprise; empty means api.github.com.
	APIURL string `yaml:"apiURL"`
	// Bots lists logins whose comments are ignored besides any "[bot]"
	// account, e.g. tekbot's own user when it authenticates with a token.
	Bots         []string     `yaml:"bots"`
	Repositories []Repository `yaml:"repositories"`
	// CommentWindow is how old a comment may be, by its signed created_at,
	// and still be acted on: a replayed or long-delayed delivery of an old
	// comment is ignored. The default is DefaultCommentWindow.
	CommentWindow Duration `yaml:"commentWindow"`
}

// Trust is how long a maintainer's /ok-to-test lasts.
type Trust string

// Trust modes: per commit (Pipelines-as-Code's require-ok-to-test-sha), or
// for the whole PR, every later push included (Prow's sticky ok-to-test).
const (
	TrustCommit Trust = "commit"
	TrustPR     Trust = "pr"
)

// GitHubApp is a GitHub App installation used instead of a token.
type GitHubApp struct {
	ID             int64   `yaml:"id"`
	InstallationID int64   `yaml:"installationID"`
	PrivateKey     *Secret `yaml:"privateKey"`
}

// Repository maps a GitHub repository to where its PipelineRuns run.
type Repository struct {
	// Name is owner/repo.
	Name      string `yaml:"name"`
	Cluster   string `yaml:"cluster"`
	Namespace string `yaml:"namespace"`
	// Selector is a label selector template (.Owner, .Repo, .Repository,
	// .PullRequest, .SHA) finding a PR's PipelineRuns; the default is
	// Pipelines-as-Code's labels.
	Selector string `yaml:"selector"`
	// PipelineLabel names the label that holds a run's pipeline name, for
	// "/test <name>"; the default is Pipelines-as-Code's original-prname.
	PipelineLabel string `yaml:"pipelineLabel"`
	// TrustedTeams (org/team) may run commands on any PR and /ok-to-test.
	TrustedTeams []string `yaml:"trustedTeams"`
	// Trust says what a maintainer's /ok-to-test approves: the commit it
	// names ("commit", the default) or the PR and every later push ("pr").
	Trust Trust `yaml:"trust"`
	// Params are the params "/test <pipeline> key=value" may override:
	// name → regular expression the whole value must match.
	Params map[string]string `yaml:"params"`
	// MergeQueue, when set, has tekbot enqueue the PRs that meet it
	// (mergequeue.go); nil leaves merging to people.
	MergeQueue *MergeQueue `yaml:"mergeQueue"`
}

// SlackMode is how Slack reaches tekbot.
type SlackMode string

// Slack transports: HTTP needs a public URL, Socket Mode does not.
const (
	SlackHTTP   SlackMode = "http"
	SlackSocket SlackMode = "socket"
)

// Slack configures the Slack app.
type Slack struct {
	Mode          SlackMode     `yaml:"mode"`
	SigningSecret *Secret       `yaml:"signingSecret"`
	BotToken      *Secret       `yaml:"botToken"`
	AppToken      *Secret       `yaml:"appToken"`
	Channels      SlackChannels `yaml:"channels"`
	// CaptainGroup is the ID of a user group (@build-captain) that
	// tekbot keeps set to today's build captain.
	CaptainGroup string `yaml:"captainGroup"`
	// APIURL points the client at another Slack API (tests, proxies).
	APIURL string `yaml:"apiURL"`
}

// SlackChannels names the channels tekbot posts to, by ID.
type SlackChannels struct {
	Captain  string `yaml:"captain"`
	Releases string `yaml:"releases"`
}

// Rotation is the build-captain rotation.
type Rotation struct {
	TimeZone    string   `yaml:"timezone"`
	Handoff     string   `yaml:"handoff"`
	WorkingDays []string `yaml:"workingDays"`
	Start       string   `yaml:"start"`
	StartPerson string   `yaml:"startPerson"`
	Roster      []string `yaml:"roster"`
	Holidays    []string `yaml:"holidays"`
	RunbookURL  string   `yaml:"runbookURL"`
	LogURL      string   `yaml:"logURL"`
	// EscalateAfter is how long a page waits for an ack before the backup
	// is paged.
	EscalateAfter Duration `yaml:"escalateAfter"`
	// CalendarToken, if set, must be given as ?token= to read the
	// /calendar.ics feed; without it the feed is open.
	CalendarToken *Secret `yaml:"calendarToken"`
	// PagerDuty, if set, also opens a PagerDuty incident for each page.
	PagerDuty *PagerDuty `yaml:"pagerDuty"`
}

// PagerDuty is a PagerDuty service's Events API v2 integration.
type PagerDuty struct {
	RoutingKey *Secret `yaml:"routingKey"`
	// URL defaults to PagerDuty's Events API v2 endpoint.
	URL string `yaml:"url"`
}

// Promotion lists where releases may be promoted to.
type Promotion struct {
	Environments []Environment `yaml:"environments"`
}

// Strategy is how a promotion deploys.
type Strategy string

// Promotion strategies: a Tekton PipelineRun, or a pull request to a GitOps repo.
const (
	StrategyPipelineRun Strategy = "pipelinerun"
	StrategyGitOps      Strategy = "gitops"
)

// Environment is one promotion target.
type Environment struct {
	Name     string   `yaml:"name"`
	Cluster  string   `yaml:"cluster"`
	Strategy Strategy `yaml:"strategy"`
	// Namespace is where the deploy PipelineRun is created.
	Namespace string `yaml:"namespace"`
	// PipelineRef, Params and Workspaces make the deploy PipelineRun; values
	// may use {{.Project}}, {{.Version}} and {{.Environment}}.
	PipelineRef string            `yaml:"pipelineRef"`
	Params      map[string]string `yaml:"params"`
	// SecretWorkspaces binds workspace name → Secret name.
	SecretWorkspaces map[string]string `yaml:"secretWorkspaces"`
	// GitOps strategy: the repository, file template and version pattern.
	Repository string `yaml:"repository"`
	Path       string `yaml:"path"`
	Pattern    string `yaml:"pattern"`
	// SoakPeriod is how long a nightly must have run before it may go.
	SoakPeriod Duration `yaml:"soakPeriod"`
	// TwoPersonRule requires a second authorised approver.
	TwoPersonRule bool `yaml:"twoPersonRule"`
	// NightlyParam names the param of a project's release PipelineRun
	// (<project>-release, on the nightly clusters) that holds the tag it
	// released; empty means DefaultNightlyParam.
	NightlyParam string `yaml:"nightlyParam"`
	// CanaryPipelines are pipelines on the nightly clusters that must not
	// have failed since a version's release run finished.
	CanaryPipelines []string `yaml:"canaryPipelines"`
	// Allow, when set, narrows who may promote here to these roles, on
	// top of policy.allow.promote: e.g. staging for maintainers,
	// production for release managers alone.
	Allow []string `yaml:"allow"`
	// InfoNamespace is where the cluster's Tekton components keep their
	// <component>-info ConfigMaps; empty means DefaultInfoNamespace.
	InfoNamespace string `yaml:"infoNamespace"`
	// AfterDeploy: verification, automatic rollback, auto-merge, nightly
	// images and the promotion train (verify.go).
	AfterDeploy `yaml:",inline"`
	// Provenance: where release evidence may come from (provenance.go).
	Provenance `yaml:",inline"`
}

// DefaultNightlyParam is the param Tekton's release pipelines take the
// version tag in.
const DefaultNightlyParam = "versionTag"

// Policy says who may run which command.
type Policy struct {
	// Roles maps a role name to the people (config names) who hold it.
	Roles map[string][]string `yaml:"roles"`
	// Allow maps a command verb to the roles that may run it. Besides the
	// roles above it may name "everyone" and, for GitHub, "repo-writers"
	// (write, maintain or admin on the repository) and "trusted-authors"
	// (the author of a PR that is trusted).
	Allow map[string][]string `yaml:"allow"`
}

// Built-in policy roles that are not listed under policy.roles.
const (
	RoleEveryone       = "everyone"
	RoleRepoWriters    = "repo-writers"
	RoleTrustedAuthors = "trusted-authors"
)

// Duration is a time.Duration written as "90s" or "15m" in YAML.
type Duration struct{ time.Duration }
