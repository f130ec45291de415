package handlers

import (
	"context"
	"maps"
	"regexp"
	"slices"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

// registerDeclared adds the commands the config declares (config.Commands)
// after the built-in ones, so help, the README's tables and dispatch see
// them like any other. Config validation refuses a verb that is taken; one
// that slips through (a config not loaded with the registry's verbs) is
// logged and left out rather than replacing a built-in.
func (h *commands) registerDeclared(reg *bot.Registry) {
	if h.Config == nil {
		return
	}
	for i := range h.Config.Commands {
		c := &h.Config.Commands[i]
		var on []bot.Transport
		if c.On.GitHub() {
			on = append(on, bot.GitHub)
		}
		if c.On.Slack() {
			on = append(on, bot.Slack)
		}
		spec := &bot.Spec{
			Verb: c.Verb, Usage: declaredUsage(c), Summary: c.Help, Transports: on, DefaultAllow: c.Allow, OnMerged: c.OnMerged(),
			Handle: func(ctx context.Context, req *bot.Request) bot.Reply { return h.declared(ctx, req, c) },
		}
		if err := reg.Register(spec); err != nil && h.Log != nil {
			h.Log.Error("declared command left out", "verb", c.Verb, "err", err)
		}
	}
}

// declaredUsage is "cherry-pick <release-branch> [reason]".
func declaredUsage(c *config.Command) string {
	parts := []string{c.Verb}
	for _, a := range c.Args {
		if a.Optional {
			parts = append(parts, "["+a.Name+"]")
		} else {
			parts = append(parts, "<"+a.Name+">")
		}
	}
	return strings.Join(parts, " ")
}

// declared runs a declared command: check the arguments, wait for the
// merge if the command runs on merged PRs, and start it.
func (h *commands) declared(ctx context.Context, req *bot.Request, c *config.Command) bot.Reply {
	written := bot.Prefix(req.Caller.Transport) + declaredUsage(c)
	values, why := checkDeclaredArgs(c, req.Command.Args)
	if why != "" {
		return refused("%s Usage: `%s`", why, written)
	}
	if req.Caller.Transport != bot.GitHub {
		return h.startDeclared(ctx, req, c, values, nil)
	}
	p := req.PullRequest
	switch {
	case p == nil:
		return refused("`%s` works on a pull request: comment it on the PR.", c.Verb)
	case c.OnMerged() && p.Open:
		return h.queue(ctx, req, c, values)
	case c.OnMerged() && !p.Merged:
		return refused("This pull request was closed without merging, and `/%s` runs on merged pull requests only: nothing was started.", c.Verb)
	}
	return h.startDeclared(ctx, req, c, values, prFields(p, c))
}

// prFields are the PR's facts for c's templates. The merge commit is given
// only to a command that runs on merged PRs, once merged: before that it
// is GitHub's test merge, which the author moves with every push.
func prFields(p *bot.PullRequest, c *config.Command) *config.PRFields {
	pr := &config.PRFields{Repository: p.Repository, Number: p.Number, HeadSHA: p.HeadSHA, BaseBranch: p.BaseBranch}
	if c.OnMerged() && p.Merged {
		pr.MergeCommit = p.MergeCommitSHA
	}
	return pr
}

// startDeclared fills in the command's PipelineRun from checked values,
// confirms on production, and creates it once per request.
func (h *commands) startDeclared(ctx context.Context, req *bot.Request, c *config.Command, values []string, pr *config.PRFields) bot.Reply {
	clusterName, namespace := c.Target(h.Config)
	cluster := h.Config.Cluster(clusterName)
	if cluster == nil {
		return failed("`%s` targets cluster %s, which tekbot is not configured for; nothing was started.", c.Verb, clusterName)
	}
	args := map[string]string{}
	for i, a := range c.Args {
		args[a.Key()] = values[i]
	}
	run, why := buildDeclaredRun(c, config.TemplateData(args, pr), namespace)
	if why != "" {
		return refused("`%s` cannot start: %s. Nothing was started.", c.Verb, why)
	}
	run.Name = tekton.CommandRunName(req.ID, c.Verb, values)
	run.Annotations = map[string]string{tekton.AnnotationRequester: req.Caller.Name(), tekton.AnnotationRequestID: req.ID}
	where := cluster.Name + "/" + namespace + "/" + run.Name
	what := sprintf("`%s%s` (Pipeline %s)", bot.Prefix(req.Caller.Transport), req.Command.String(), run.Spec.PipelineRef.Name)
	if (c.Confirm || cluster.Role == config.RoleProduction) && !req.Confirmed {
		return bot.Reply{
			Outcome: bot.Pending,
			Text:    sprintf("`%s` starts Pipeline %s on cluster *%s*. Run it?", c.Verb, run.Spec.PipelineRef.Name, cluster.Name),
			Confirm: &bot.Confirm{Title: "Run " + c.Verb + "?", Text: sprintf("Start %s on cluster %s.", what, cluster.Name), Button: "Run"},
			Targets: []string{where},
		}
	}
	created, isNew, err := h.runs().CreateOnce(ctx, cluster.Name, run)
	if err != nil {
		return h.trouble(ctx, req, "the "+cluster.Name+" cluster", err, "start `"+c.Verb+"`")
	}
	reply := bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{where}}
	if !isNew {
		reply.Outcome = bot.Noop
		reply.Text = sprintf("Already started for this request: %s.", h.runLink(cluster.Name, created))
		return reply
	}
	reply.Text = sprintf("%s started %s on cluster %s: %s", req.Caller.Name(), what, cluster.Name, h.runLink(cluster.Name, created))
	return reply
}

// checkDeclaredArgs matches the arguments to the declared ones, in order,
// filling in defaults. why says what is wrong, naming the pattern or the
// choices a value missed.
func checkDeclaredArgs(c *config.Command, given []string) (values []string, why string) {
	if len(given) > len(c.Args) {
		return nil, sprintf("`%s` takes %d argument(s), got %d.", c.Verb, len(c.Args), len(given))
	}
	for i, a := range c.Args {
		if i >= len(given) {
			if !a.Optional {
				return nil, sprintf("`%s` needs `<%s>`.", c.Verb, a.Name)
			}
			values = append(values, a.Default)
			continue
		}
		if problem := a.Check(given[i]); problem != "" {
			return nil, sprintf("%s is not a valid %s: it %s.", bot.UserText(given[i]), a.Name, problem)
		}
		values = append(values, given[i])
	}
	return values, ""
}

// missingKeyRE finds the field a template could not fill, e.g. a merge
// commit GitHub has not computed yet.
var missingKeyRE = regexp.MustCompile(`no entry for key "([^"]+)"`)

// buildDeclaredRun fills in the command's PipelineRun from checked
// arguments and the PR's fields. why says what could not be filled in.
func buildDeclaredRun(c *config.Command, data map[string]any, namespace string) (run *pipelinev1.PipelineRun, why string) {
	render := func(field, text string) string {
		if why != "" {
			return ""
		}
		out, err := c.Render(text, data)
		switch m := missingKeyRE.FindStringSubmatch(errString(err)); {
		case m != nil:
			why = sprintf("GitHub has not given tekbot this PR's %s yet (needed for %s); try again in a minute", m[1], field)
		case err != nil:
			why = sprintf("its %s does not fill in (see `tekbot config check`)", field)
		}
		return out
	}
	run = &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Labels: map[string]string{tekton.LabelCommand: c.Verb}},
		Spec: pipelinev1.PipelineRunSpec{
			PipelineRef:     &pipelinev1.PipelineRef{Name: render("pipelineRef", c.PipelineRef)},
			TaskRunTemplate: pipelinev1.PipelineTaskRunTemplate{ServiceAccountName: c.ServiceAccount},
		},
	}
	if errs := validation.IsDNS1123Subdomain(run.Spec.PipelineRef.Name); why == "" && len(errs) > 0 {
		why = sprintf("its pipelineRef fills in as %s, which is not a Pipeline name", bot.UserText(run.Spec.PipelineRef.Name))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Params)) {
		run.Spec.Params = append(run.Spec.Params, pipelinev1.Param{Name: k, Value: *pipelinev1.NewStructuredValues(render("params."+k, c.Params[k]))})
	}
	for _, k := range slices.Sorted(maps.Keys(c.Labels)) {
		v := render("labels."+k, c.Labels[k])
		if errs := validation.IsValidLabelValue(v); why == "" && len(errs) > 0 {
			why = sprintf("label %s fills in as %s, which is not a label value", k, bot.UserText(v))
		}
		run.Labels[k] = v
	}
	for _, name := range slices.Sorted(maps.Keys(c.Workspaces)) {
		run.Spec.Workspaces = append(run.Spec.Workspaces, workspaceBinding(name, c.Workspaces[name]))
	}
	return run, why
}

func workspaceBinding(name string, w config.Workspace) pipelinev1.WorkspaceBinding {
	b := pipelinev1.WorkspaceBinding{Name: name}
	switch {
	case w.Secret != "":
		b.Secret = &corev1.SecretVolumeSource{SecretName: w.Secret}
	case w.ConfigMap != "":
		b.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: w.ConfigMap}}
	case w.PersistentVolumeClaim != "":
		b.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: w.PersistentVolumeClaim}
	default:
		b.EmptyDir = &corev1.EmptyDirVolumeSource{}
	}
	return b
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
