package config

import (
	"fmt"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"time"
)

type validator struct {
	cfg   *Config
	verbs []string
	errs  []FieldError
	// line finds the line of another field, for errors that name two.
	line func(path string) int
}

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

var (
	// Kubernetes DNS labels: names of clusters, namespaces, environments.
	dnsLabelRE  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)
	slackUserRE = regexp.MustCompile(`^[UW][A-Z0-9]{2,}$`)
	slackChanRE = regexp.MustCompile(`^[CGD][A-Z0-9]{2,}$`)
	githubRE    = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	repoRE      = regexp.MustCompile(`^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$`)
	hhmmRE      = regexp.MustCompile(`^([01]\d|2[0-3]):[0-5]\d$`)
	// paramRE is what Tekton accepts as a param name.
	paramRE = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_.-]*$`)
)

func (v *validator) validate() {
	v.server()
	v.clusters()
	if v.cfg.State.Cluster != "" {
		v.clusterRef("state.cluster", v.cfg.State.Cluster)
	}
	v.dashboard("dashboard", v.cfg.Dashboard)
	v.people()
	v.github()
	v.slack()
	v.rotation()
	v.promotion()
	v.alerts()
	v.triage()
	v.secretNamespaces()
	v.secretBindings()
	v.commands()
	v.policy()
}

func (v *validator) clusters() {
	seen := map[string]bool{}
	for i, c := range v.cfg.Clusters {
		p := fmt.Sprintf("clusters[%d]", i)
		switch {
		case !dnsLabelRE.MatchString(c.Name):
			v.add(p+".name", "must be a lower-case DNS label, got %q", c.Name)
		case seen[c.Name]:
			v.add(p+".name", "duplicate cluster %q", c.Name)
		}
		seen[c.Name] = true
		if c.Role != RoleNightly && c.Role != RoleProduction {
			v.add(p+".role", "must be %q or %q, got %q", RoleNightly, RoleProduction, c.Role)
		}
		switch {
		case c.InCluster && c.Kubeconfig != "":
			v.add(p+".kubeconfig", "set kubeconfig or inCluster, not both")
		case !c.InCluster && c.Kubeconfig == "":
			v.add(p+".kubeconfig", "required unless inCluster is true")
		case c.Kubeconfig != "":
			if _, err := os.Stat(c.Kubeconfig); err != nil {
				v.add(p+".kubeconfig", "cannot read kubeconfig: %v", err)
			}
		}
		if !dnsLabelRE.MatchString(c.Namespace) {
			v.add(p+".namespace", "not a valid namespace: %q", c.Namespace)
		}
		v.dashboard(p+".dashboard", c.Dashboard)
		v.rerunnable(p, c)
	}
}

// rerunnable checks a cluster's explicit rerun allowances: they exist
// only where reruns are refused by default, and never open a deploy
// namespace, where every run is a deploy that only promote repeats.
func (v *validator) rerunnable(p string, c Cluster) {
	if len(c.Rerunnable) > 0 && c.Role != RoleProduction {
		v.add(p+".rerunnable", "only for a production cluster: a %s cluster reruns any run", c.Role)
	}
	for j, r := range c.Rerunnable {
		q := fmt.Sprintf("%s.rerunnable[%d]", p, j)
		if !dnsLabelRE.MatchString(r.Namespace) {
			v.add(q+".namespace", "not a valid namespace: %q", r.Namespace)
		}
		for k, e := range v.cfg.Promotion.Environments {
			if e.Strategy == StrategyPipelineRun && e.Cluster == c.Name && e.Namespace == r.Namespace {
				v.add(q+".namespace", "%q is promotion.environments[%d].namespace: every run there is a deploy, repeated only by promote", r.Namespace, k)
			}
		}
		for k, name := range r.Pipelines {
			if !dnsLabelRE.MatchString(name) {
				v.add(fmt.Sprintf("%s.pipelines[%d]", q, k), "not a pipeline name: %q", name)
			}
		}
	}
}

func (v *validator) dashboard(path string, d *Dashboard) {
	if d == nil {
		return
	}
	v.template(path+".pipelineRunURL", d.PipelineRunURL)
}

func (v *validator) template(path, text string) {
	if _, err := template.New(path).Option("missingkey=error").Parse(text); err != nil {
		v.add(path, "bad template: %v", err)
	}
}

func (v *validator) people() {
	seen := map[string]bool{}
	for i, p := range v.cfg.People {
		path := fmt.Sprintf("people[%d]", i)
		switch {
		case strings.TrimSpace(p.Name) == "":
			v.add(path+".name", "required")
		case seen[p.Name]:
			v.add(path+".name", "duplicate person %q", p.Name)
		}
		seen[p.Name] = true
		if p.Slack != "" && !slackUserRE.MatchString(p.Slack) {
			v.add(path+".slack", "not a Slack user ID (like U012AB3CD): %q", p.Slack)
		}
		if p.GitHub != "" && !githubRE.MatchString(p.GitHub) {
			v.add(path+".github", "not a GitHub login: %q", p.GitHub)
		}
		if p.Slack == "" && p.GitHub == "" {
			v.add(path, "needs a slack user ID or a github login to be recognised")
		}
		if p.TimeZone != "" {
			if _, err := time.LoadLocation(p.TimeZone); err != nil {
				v.add(path+".timezone", "unknown time zone %q", p.TimeZone)
			}
		}
	}
}

func (v *validator) secret(path string, s *Secret, required bool) {
	if s == nil {
		if required {
			v.add(path, "required ({file: /path} or {env: NAME})")
		}
		return
	}
	if err := s.check(); err != nil {
		v.add(path, "%v", err)
	}
}

func (v *validator) github() {
	g := v.cfg.GitHub
	v.secret("github.webhookSecret", g.WebhookSecret, len(g.Repositories) > 0)
	v.secret("github.token", g.Token, false)
	if g.Token != nil && g.App != nil {
		v.add("github.app", "set token or app, not both")
	}
	if g.App != nil {
		if g.App.ID <= 0 {
			v.add("github.app.id", "required")
		}
		if g.App.InstallationID <= 0 {
			v.add("github.app.installationID", "required")
		}
		v.secret("github.app.privateKey", g.App.PrivateKey, true)
	}
	if len(g.Repositories) > 0 && g.Token == nil && g.App == nil {
		v.add("github", "needs token or app to react and reply on pull requests")
	}
	seen := map[string]bool{}
	for i, r := range g.Repositories {
		p := fmt.Sprintf("github.repositories[%d]", i)
		switch {
		case !repoRE.MatchString(r.Name):
			v.add(p+".name", "must be owner/repo, got %q", r.Name)
		case seen[r.Name]:
			v.add(p+".name", "duplicate repository %q", r.Name)
		}
		seen[r.Name] = true
		v.clusterRef(p+".cluster", r.Cluster)
		v.template(p+".selector", r.Selector)
		switch r.Trust {
		case "", TrustCommit, TrustPR:
		default:
			v.add(p+".trust", "must be %q or %q, got %q", TrustCommit, TrustPR, r.Trust)
		}
		for j, t := range r.TrustedTeams {
			if !repoRE.MatchString(t) {
				v.add(fmt.Sprintf("%s.trustedTeams[%d]", p, j), "must be org/team-slug, got %q", t)
			}
		}
		v.mergeQueue(p+".mergeQueue", r.MergeQueue)
	}
}

func (v *validator) clusterRef(path, name string) {
	if v.cfg.Cluster(name) == nil {
		v.add(path, "unknown cluster %q (clusters: %s)", name, strings.Join(v.clusterNames(), ", "))
	}
}

func (v *validator) clusterNames() []string {
	var names []string
	for _, c := range v.cfg.Clusters {
		names = append(names, c.Name)
	}
	return names
}

func (v *validator) slack() {
	s := v.cfg.Slack
	if s.Mode != SlackHTTP && s.Mode != SlackSocket {
		v.add("slack.mode", "must be %q or %q, got %q", SlackHTTP, SlackSocket, s.Mode)
	}
	if !v.cfg.SlackEnabled() {
		if s.SigningSecret != nil || s.AppToken != nil {
			v.add("slack.botToken", "required when Slack is configured")
		}
		return
	}
	v.secret("slack.botToken", s.BotToken, true)
	v.secret("slack.signingSecret", s.SigningSecret, s.Mode == SlackHTTP)
	v.secret("slack.appToken", s.AppToken, s.Mode == SlackSocket)
	for name, id := range map[string]string{"captain": s.Channels.Captain, "releases": s.Channels.Releases} {
		if id != "" && !slackChanRE.MatchString(id) {
			v.add("slack.channels."+name, "not a Slack channel ID (like C012AB3CD): %q", id)
		}
	}
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseWeekday reads "Mon", "monday" and the like.
func ParseWeekday(s string) (time.Weekday, bool) {
	s = strings.ToLower(s)
	if len(s) < 3 {
		return 0, false
	}
	d, ok := weekdays[s[:3]]
	return d, ok && strings.HasPrefix(strings.ToLower(d.String()), s)
}

func (v *validator) rotation() {
	r := v.cfg.Rotation
	if _, err := time.LoadLocation(r.TimeZone); err != nil {
		v.add("rotation.timezone", "unknown time zone %q", r.TimeZone)
	}
	if !hhmmRE.MatchString(r.Handoff) {
		v.add("rotation.handoff", "must be HH:MM (24h), got %q", r.Handoff)
	}
	for i, d := range r.WorkingDays {
		if _, ok := ParseWeekday(d); !ok {
			v.add(fmt.Sprintf("rotation.workingDays[%d]", i), "not a weekday: %q", d)
		}
	}
	v.secret("rotation.calendarToken", r.CalendarToken, false)
	if r.PagerDuty != nil {
		v.secret("rotation.pagerDuty.routingKey", r.PagerDuty.RoutingKey, true)
	}
	if len(r.Roster) == 0 {
		return
	}
	if _, err := time.Parse(time.DateOnly, r.Start); err != nil {
		v.add("rotation.start", "must be a date YYYY-MM-DD, got %q", r.Start)
	}
	for i, name := range r.Roster {
		if v.cfg.Person(name) == nil {
			v.add(fmt.Sprintf("rotation.roster[%d]", i), "unknown person %q (add them to people)", name)
		}
	}
	if r.StartPerson != "" && !slices.Contains(r.Roster, r.StartPerson) {
		v.add("rotation.startPerson", "%q is not in the roster", r.StartPerson)
	}
	for i, d := range r.Holidays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			v.add(fmt.Sprintf("rotation.holidays[%d]", i), "must be a date YYYY-MM-DD, got %q", d)
		}
	}
}

func (v *validator) promotion() {
	seen := map[string]bool{}
	for i, e := range v.cfg.Promotion.Environments {
		p := fmt.Sprintf("promotion.environments[%d]", i)
		switch {
		case !dnsLabelRE.MatchString(e.Name):
			v.add(p+".name", "must be a lower-case DNS label, got %q", e.Name)
		case seen[e.Name]:
			v.add(p+".name", "duplicate environment %q", e.Name)
		}
		seen[e.Name] = true
		switch e.Strategy {
		case StrategyPipelineRun:
			v.clusterRef(p+".cluster", e.Cluster)
			if e.PipelineRef == "" {
				v.add(p+".pipelineRef", "required for the pipelinerun strategy")
			}
			for k, val := range e.Params {
				v.template(p+".params."+k, val)
			}
		case StrategyGitOps:
			if !repoRE.MatchString(e.Repository) {
				v.add(p+".repository", "must be owner/repo, got %q", e.Repository)
			}
			if e.Path == "" {
				v.add(p+".path", "required for the gitops strategy")
			}
			v.template(p+".path", e.Path)
			if _, err := regexp.Compile(e.Pattern); err != nil || e.Pattern == "" {
				v.add(p+".pattern", "must be a regular expression matching the pinned version")
			}
		default:
			v.add(p+".strategy", "must be %q or %q, got %q", StrategyPipelineRun, StrategyGitOps, e.Strategy)
		}
		if e.NightlyParam != "" && !paramRE.MatchString(e.NightlyParam) {
			v.add(p+".nightlyParam", "not a Tekton param name: %q", e.NightlyParam)
		}
		for j, c := range e.CanaryPipelines {
			if !dnsLabelRE.MatchString(c) {
				v.add(fmt.Sprintf("%s.canaryPipelines[%d]", p, j), "not a pipeline name: %q", c)
			}
		}
		v.afterDeploy(p, &e)
		v.provenance(p, &e)
		for j, role := range e.Allow {
			if _, defined := v.cfg.Policy.Roles[role]; !defined && role != RoleEveryone {
				v.add(fmt.Sprintf("%s.allow[%d]", p, j), "unknown role %q (define it under policy.roles)", role)
			}
		}
	}
}

func (v *validator) lineOf(path string) int {
	if v.line == nil {
		return 0
	}
	return v.line(path)
}

func (v *validator) server() {
	s := v.cfg.Server
	if s.MaxConcurrentBodies < 0 {
		v.add("server.maxConcurrentBodies", "must be positive, got %d", s.MaxConcurrentBodies)
	}
	if s.MinBodyRate < 0 {
		v.add("server.minBodyRate", "must be positive (bytes a second), got %d", s.MinBodyRate)
	}
	if s.BodyGrace.Duration < 0 {
		v.add("server.bodyGrace", "must be positive, got %s", s.BodyGrace.Duration)
	}
	v.secret("server.statusToken", s.StatusToken, false)
	if s.StatusPublic && s.StatusToken != nil {
		v.add("server.statusPublic", "opens the status page to anyone, so server.statusToken would not be asked for; set one or the other")
	}
	if s.MetricsAddr == "" {
		return
	}
	if _, _, err := net.SplitHostPort(s.MetricsAddr); err != nil {
		v.add("server.metricsAddr", "must be host:port (e.g. \":9090\"), got %q", s.MetricsAddr)
	} else if s.MetricsAddr == s.Listen {
		v.add("server.metricsAddr", "is server.listen (%q); leave it empty to serve /metrics there", s.Listen)
	}
}

// secretNamespaces refuses a repository whose PR PipelineRuns share a
// namespace with a promotion environment that binds Secrets: a PipelineRun
// written by a PR author could mount the deploy credentials there.
func (v *validator) secretNamespaces() {
	for i, r := range v.cfg.GitHub.Repositories {
		for j, e := range v.cfg.Promotion.Environments {
			if e.Strategy != StrategyPipelineRun || len(e.SecretWorkspaces) == 0 || e.Cluster != r.Cluster || e.Namespace != r.Namespace {
				continue
			}
			other := fmt.Sprintf("promotion.environments[%d].namespace", j)
			if n := v.lineOf(other); n > 0 {
				other += fmt.Sprintf(" (line %d)", n)
			}
			v.add(fmt.Sprintf("github.repositories[%d].namespace", i),
				"%q on cluster %q is also %s, which binds secret workspaces (%s); PR-authored PipelineRuns there could mount them: give the environment a namespace of its own",
				r.Namespace, r.Cluster, other, strings.Join(slices.Sorted(maps.Keys(e.SecretWorkspaces)), ", "))
		}
	}
}

// secretBindings refuses a verification pipeline or a declared command
// that binds a Secret in a repository's PR namespace, as secretNamespaces
// does for environments: whatever binds it, a Secret there is one any
// PR-authored PipelineRun beside it could mount.
func (v *validator) secretBindings() {
	for i, e := range v.cfg.Promotion.Environments {
		if e.Verify == nil {
			continue
		}
		for j, vp := range e.Verify.Pipelines {
			if len(vp.SecretWorkspaces) == 0 {
				continue
			}
			cluster, namespace := vp.Target(v.cfg, &e)
			v.secretInPRNamespace(fmt.Sprintf("promotion.environments[%d].verify.pipelines[%d].secretWorkspaces", i, j),
				cluster, namespace, "secret workspaces ("+strings.Join(slices.Sorted(maps.Keys(vp.SecretWorkspaces)), ", ")+")")
		}
	}
	for i := range v.cfg.Commands {
		c := &v.cfg.Commands[i]
		cluster, namespace := c.Target(v.cfg)
		for _, name := range slices.Sorted(maps.Keys(c.Workspaces)) {
			if secret := c.Workspaces[name].Secret; secret != "" {
				v.secretInPRNamespace(fmt.Sprintf("commands[%d].workspaces.%s.secret", i, name), cluster, namespace, fmt.Sprintf("Secret %q", secret))
			}
		}
	}
}

// secretInPRNamespace reports path, which binds what in cluster/namespace,
// if that is a repository's PR namespace.
func (v *validator) secretInPRNamespace(path, cluster, namespace, what string) {
	for i, r := range v.cfg.GitHub.Repositories {
		if r.Cluster != cluster || r.Namespace != namespace {
			continue
		}
		repo := fmt.Sprintf("github.repositories[%d].namespace", i)
		if n := v.lineOf(repo); n > 0 {
			repo += fmt.Sprintf(" (line %d)", n)
		}
		v.add(path, "binds %s in %q on cluster %q, which is %s (%s), where PR-authored PipelineRuns could mount it: give it a namespace of its own",
			what, namespace, cluster, repo, r.Name)
	}
}

func (v *validator) policy() {
	pol := v.cfg.Policy
	for role, members := range pol.Roles {
		if role == RoleEveryone || role == RoleRepoWriters || role == RoleTrustedAuthors {
			v.add("policy.roles."+role, "%q is built in and cannot be redefined", role)
		}
		for i, m := range members {
			if v.cfg.Person(m) == nil {
				v.add(fmt.Sprintf("policy.roles.%s[%d]", role, i), "unknown person %q", m)
			}
		}
	}
	for verb, roles := range pol.Allow {
		if len(v.verbs) > 0 && !slices.Contains(v.verbs, verb) {
			v.add("policy.allow."+verb, "unknown command %q (commands: %s)", verb, strings.Join(v.verbs, ", "))
		}
		for i, role := range roles {
			_, defined := pol.Roles[role]
			if !defined && role != RoleEveryone && role != RoleRepoWriters && role != RoleTrustedAuthors {
				v.add(fmt.Sprintf("policy.allow.%s[%d]", verb, i), "unknown role %q", role)
			}
		}
	}
}
