package config

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"text/template"
)

// Command is a command a team declares instead of writing Go: a verb whose
// arguments are checked against patterns, and a PipelineRun template they
// fill in. tekbot authorises, confirms, names, creates and audits the run
// as it does for its built-in commands.
type Command struct {
	Verb string `yaml:"verb"`
	// Help is the line `help` and the README show.
	Help string `yaml:"help"`
	// On is where it is offered: github (a PR comment), slack, or both.
	On Offered `yaml:"on"`
	// When says on which PRs a GitHub command runs: open (the default),
	// or merged, as Prow's cherrypicker does: asked on an open PR it
	// waits for the merge, and runs on the merged commit.
	When PRState      `yaml:"when"`
	Args []CommandArg `yaml:"args"`
	// Cluster and Namespace are where the PipelineRun is created; the
	// namespace defaults to the cluster's.
	Cluster   string `yaml:"cluster"`
	Namespace string `yaml:"namespace"`
	// PipelineRef, Params and Labels are templates: they see
	// .Args.<name> (hyphens become underscores) and, on GitHub, the PR's
	// .Repository .Owner .Repo .PullRequest .HeadSHA .BaseBranch, and
	// .MergeCommit when the command runs on merged PRs. Nothing else a
	// user types reaches the PipelineRun.
	PipelineRef string            `yaml:"pipelineRef"`
	Params      map[string]string `yaml:"params"`
	Labels      map[string]string `yaml:"labels"`
	// Workspaces bind the Pipeline's workspaces, fixed by config.
	Workspaces     map[string]Workspace `yaml:"workspaces"`
	ServiceAccount string               `yaml:"serviceAccount"`
	// Allow lists the roles that may run it; policy.allow.<verb>, if set,
	// replaces it.
	Allow []string `yaml:"allow"`
	// Confirm asks the caller to confirm first (Slack's button); commands
	// on production clusters always ask.
	Confirm bool `yaml:"confirm"`
}

// Offered is where a declared command can be run.
type Offered string

// Where a declared command is offered.
const (
	OnGitHub Offered = "github"
	OnSlack  Offered = "slack"
	OnBoth   Offered = "both"
)

// GitHub reports whether the command is offered in PR comments.
func (o Offered) GitHub() bool { return o == OnGitHub || o == OnBoth }

// Slack reports whether the command is offered in Slack.
func (o Offered) Slack() bool { return o == OnSlack || o == OnBoth }

// PRState is the state of the PRs a declared GitHub command runs on.
type PRState string

// The PRs a declared command runs on.
const (
	// WhenOpen runs on open PRs only.
	WhenOpen PRState = "open"
	// WhenMerged waits for the merge: asked on an open PR, the command is
	// queued and runs when the PR merges; asked on a merged one, it runs
	// at once. Only then is .MergeCommit known: while a PR is open,
	// GitHub's merge commit is a test merge that the author moves with
	// every push.
	WhenMerged PRState = "merged"
)

// OnMerged reports whether the command waits for its PR to merge.
func (c *Command) OnMerged() bool { return c.When == WhenMerged }

// CommandArg is one positional argument of a declared command. Its value
// must match Pattern (the whole value) or be one of Enum.
type CommandArg struct {
	Name     string   `yaml:"name"`
	Pattern  string   `yaml:"pattern"`
	Enum     []string `yaml:"enum"`
	Optional bool     `yaml:"optional"`
	// Default is an optional argument's value when it is left out.
	Default string `yaml:"default"`
}

// Workspace binds a workspace to one volume source.
type Workspace struct {
	Secret                string `yaml:"secret"`
	ConfigMap             string `yaml:"configMap"`
	PersistentVolumeClaim string `yaml:"persistentVolumeClaim"`
	EmptyDir              bool   `yaml:"emptyDir"`
}

// Key is how templates name an argument: .Args.<Key>.
func (a CommandArg) Key() string { return strings.ReplaceAll(a.Name, "-", "_") }

// Check says why a value is not acceptable for the argument, or "" if it
// is. The message names the pattern or the choices, for the reply.
func (a CommandArg) Check(value string) string {
	if len(a.Enum) > 0 {
		if slices.Contains(a.Enum, value) {
			return ""
		}
		return fmt.Sprintf("must be one of %s", strings.Join(a.Enum, ", "))
	}
	if re, err := anchored(a.Pattern); err == nil && re.MatchString(value) {
		return ""
	}
	return fmt.Sprintf("must match `%s`", a.Pattern)
}

// anchored compiles a pattern that must match a whole value, so that
// "release-v1.2.x; rm -rf /" does not pass for its prefix.
func anchored(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// MatchParam reports whether value is acceptable for an overridable param
// of a repository (Repository.Params), matching the whole value.
func (r *Repository) MatchParam(name, value string) (ok, allowed bool) {
	pattern, allowed := r.Params[name]
	if !allowed {
		return false, false
	}
	re, err := anchored(pattern)
	return err == nil && re.MatchString(value), true
}

// Target is the cluster and namespace a command's PipelineRun goes to.
func (c *Command) Target(cfg *Config) (cluster, namespace string) {
	namespace = c.Namespace
	if cl := cfg.Cluster(c.Cluster); cl != nil && namespace == "" {
		namespace = cl.Namespace
	}
	return c.Cluster, namespace
}

// PRFields are the facts of the PR a GitHub command was given on.
type PRFields struct {
	Repository string // owner/repo
	Number     int
	HeadSHA    string
	BaseBranch string
	// MergeCommit is the merged commit, given only for commands that
	// run on merged PRs: an open PR's is a test merge the author can move.
	MergeCommit string
}

// TemplateData is what a declared command's templates see: the checked
// arguments under .Args and, on GitHub, the PR's fields. A PR field GitHub
// left empty is absent, so a template using it fails instead of rendering
// an empty value.
func TemplateData(args map[string]string, pr *PRFields) map[string]any {
	data := map[string]any{"Args": args}
	if pr == nil {
		return data
	}
	owner, repo, _ := strings.Cut(pr.Repository, "/")
	for k, val := range map[string]string{
		"Repository": pr.Repository, "Owner": owner, "Repo": repo,
		"HeadSHA": pr.HeadSHA, "BaseBranch": pr.BaseBranch, "MergeCommit": pr.MergeCommit,
	} {
		if val != "" {
			data[k] = val
		}
	}
	data["PullRequest"] = pr.Number
	return data
}

// Render fills in one of the command's templates. With missingkey=error a
// template naming an argument that was not declared fails.
func (c *Command) Render(text string, data map[string]any) (string, error) {
	t, err := template.New(c.Verb).Option("missingkey=error").Parse(text)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", err
	}
	return b.String(), nil
}

var (
	// Declared verbs look like built-in ones (bot's grammar).
	verbRE = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	argRE  = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	// labelKeyRE is a Kubernetes label key: an optional DNS prefix, a name.
	labelKeyRE = regexp.MustCompile(`^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
)

// commandsNamespace is the verb that prefixes tekbot's commands in PR
// comments (bot.Namespace): it cannot be declared.
const commandsNamespace = "tekbot"

// sampleData is what validation renders templates with: a value for each
// declared argument and, for GitHub commands, the PR's fields.
func sampleData(c *Command) map[string]any {
	args := map[string]string{}
	for _, a := range c.Args {
		args[a.Key()] = "x"
	}
	var pr *PRFields
	if c.On == OnGitHub {
		pr = &PRFields{Repository: "o/r", Number: 1, HeadSHA: "sha", BaseBranch: "main"}
		if c.OnMerged() {
			pr.MergeCommit = "sha"
		}
	}
	return TemplateData(args, pr)
}

func (v *validator) commands() {
	for i, r := range v.cfg.GitHub.Repositories {
		for name, pattern := range r.Params {
			p := fmt.Sprintf("github.repositories[%d].params.%s", i, name)
			if !paramRE.MatchString(name) {
				v.add(p, "not a Tekton param name: %q", name)
			}
			if _, err := anchored(pattern); err != nil || pattern == "" {
				v.add(p, "must be a regular expression that the whole value must match")
			}
		}
	}
	seen := map[string]bool{}
	for i := range v.cfg.Commands {
		c := &v.cfg.Commands[i]
		p := fmt.Sprintf("commands[%d]", i)
		switch {
		case !verbRE.MatchString(c.Verb):
			v.add(p+".verb", "must be lower-case letters, digits and hyphens, got %q", c.Verb)
		case c.Verb == commandsNamespace || slices.Contains(v.verbs, c.Verb):
			v.add(p+".verb", "%q is a built-in command", c.Verb)
		case seen[c.Verb]:
			v.add(p+".verb", "duplicate command %q", c.Verb)
		}
		seen[c.Verb] = true
		if strings.TrimSpace(c.Help) == "" {
			v.add(p+".help", "required: the line help shows")
		}
		if !c.On.GitHub() && !c.On.Slack() {
			v.add(p+".on", "must be %q, %q or %q, got %q", OnGitHub, OnSlack, OnBoth, c.On)
		}
		switch c.When {
		case "", WhenOpen:
		case WhenMerged:
			if c.On != OnGitHub {
				v.add(p+".when", "%q waits for a pull request to merge: offer the command on %q only", WhenMerged, OnGitHub)
			}
		default:
			v.add(p+".when", "must be %q or %q, got %q", WhenOpen, WhenMerged, c.When)
		}
		v.commandArgs(p, c)
		v.commandTarget(p, c)
		v.commandTemplates(p, c)
		v.commandAccess(p, c)
	}
	// policy.allow may name declared verbs.
	if len(v.verbs) > 0 {
		for _, c := range v.cfg.Commands {
			v.verbs = append(v.verbs, c.Verb)
		}
	}
}

func (v *validator) commandArgs(p string, c *Command) {
	names := map[string]bool{}
	optional := false
	for j, a := range c.Args {
		ap := fmt.Sprintf("%s.args[%d]", p, j)
		switch {
		case !argRE.MatchString(a.Name):
			v.add(ap+".name", "must be lower-case words joined by hyphens, got %q", a.Name)
		case names[a.Key()]:
			v.add(ap+".name", "duplicate argument %q", a.Name)
		}
		names[a.Key()] = true
		switch {
		case (a.Pattern == "") == (len(a.Enum) == 0):
			v.add(ap, "needs a pattern or an enum (one of them): arguments reach a PipelineRun only once checked")
		case a.Pattern != "":
			if _, err := anchored(a.Pattern); err != nil {
				v.add(ap+".pattern", "not a regular expression: %v", err)
			}
		}
		if a.Default != "" {
			if !a.Optional {
				v.add(ap+".default", "only an optional argument has a default")
			} else if why := a.Check(a.Default); why != "" {
				v.add(ap+".default", "%q %s", a.Default, why)
			}
		}
		if optional && !a.Optional {
			v.add(ap+".optional", "a required argument cannot follow an optional one")
		}
		optional = optional || a.Optional
	}
}

func (v *validator) commandTarget(p string, c *Command) {
	cl := v.cfg.Cluster(c.Cluster)
	if cl == nil {
		v.clusterRef(p+".cluster", c.Cluster)
		return
	}
	_, ns := c.Target(v.cfg)
	if !dnsLabelRE.MatchString(ns) {
		v.add(p+".namespace", "not a valid namespace: %q", ns)
	}
	if env := v.secretEnvironment(c.Cluster, ns); env != "" {
		if n := v.lineOf(env); n > 0 {
			env += fmt.Sprintf(" (line %d)", n)
		}
		v.add(p+".namespace", "%q on cluster %q is also %s, which binds secret workspaces; a command's PipelineRuns there could mount them: give the command another namespace", ns, c.Cluster, env)
	}
	// GitHub has no confirm button: a command that must be confirmed is
	// offered in Slack only.
	needsConfirm := c.Confirm || cl.Role == RoleProduction
	if needsConfirm && c.On.GitHub() {
		v.add(p+".on", "a command on a production cluster, or with confirm, is confirmed with Slack's button: offer it on slack, or target a nightly cluster")
	}
}

// secretEnvironment names the promotion environment whose deploy
// PipelineRuns bind Secrets in cluster/namespace, or "".
func (v *validator) secretEnvironment(cluster, namespace string) string {
	for j, e := range v.cfg.Promotion.Environments {
		if e.Strategy == StrategyPipelineRun && len(e.SecretWorkspaces) > 0 && e.Cluster == cluster && e.Namespace == namespace {
			return fmt.Sprintf("promotion.environments[%d].namespace", j)
		}
	}
	return ""
}

func (v *validator) commandTemplates(p string, c *Command) {
	data := sampleData(c)
	render := func(path, text string) {
		if _, err := c.Render(text, data); err != nil {
			v.add(path, "bad template: %v (templates see %s)", err, templateFields(c))
		}
	}
	if c.PipelineRef == "" {
		v.add(p+".pipelineRef", "required: the Pipeline to run")
	}
	render(p+".pipelineRef", c.PipelineRef)
	for k, val := range c.Params {
		if !paramRE.MatchString(k) {
			v.add(p+".params."+k, "not a Tekton param name")
		}
		render(p+".params."+k, val)
	}
	for k, val := range c.Labels {
		if !labelKeyRE.MatchString(k) || strings.HasPrefix(k, "tekbot.dev/") || strings.HasPrefix(k, "tekton.dev/") {
			v.add(p+".labels."+k, "not a label key tekbot may set")
		}
		render(p+".labels."+k, val)
	}
	for name, w := range c.Workspaces {
		set := 0
		for _, s := range []string{w.Secret, w.ConfigMap, w.PersistentVolumeClaim} {
			if s != "" {
				set++
			}
		}
		if w.EmptyDir {
			set++
		}
		if set != 1 {
			v.add(p+".workspaces."+name, "needs exactly one of secret, configMap, persistentVolumeClaim, emptyDir")
		}
	}
}

// templateFields lists what a command's templates may use, for errors.
func templateFields(c *Command) string {
	var fields []string
	for _, a := range c.Args {
		fields = append(fields, ".Args."+a.Key())
	}
	if c.On == OnGitHub {
		fields = append(fields, ".Repository", ".Owner", ".Repo", ".PullRequest", ".HeadSHA", ".BaseBranch")
	}
	if c.OnMerged() {
		fields = append(fields, ".MergeCommit")
	}
	if len(fields) == 0 {
		return "nothing: declare arguments under args"
	}
	list := strings.Join(fields, " ")
	if c.On == OnGitHub && !c.OnMerged() {
		list += "; .MergeCommit only with `when: merged`"
	}
	return list
}

func (v *validator) commandAccess(p string, c *Command) {
	if _, ok := v.cfg.Policy.Allow[c.Verb]; !ok && len(c.Allow) == 0 {
		v.add(p+".allow", "required: the roles that may run it (or policy.allow.%s)", c.Verb)
	}
	for j, role := range c.Allow {
		_, defined := v.cfg.Policy.Roles[role]
		if !defined && role != RoleEveryone && role != RoleRepoWriters && role != RoleTrustedAuthors {
			v.add(fmt.Sprintf("%s.allow[%d]", p, j), "unknown role %q (define it under policy.roles)", role)
		}
	}
}
