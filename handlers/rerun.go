package handlers

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

func (h *commands) rerunSpec() *bot.Spec {
	return &bot.Spec{
		Verb:         "rerun",
		Usage:        "rerun <pipelinerun|dashboard URL|PR URL> [on <cluster>]",
		Summary:      "rerun a PipelineRun, or a PR's failed ones; on a production cluster only PR runs and those its config allows, and asks first",
		Transports:   onSlack,
		DefaultAllow: []string{"maintainers"},
		Handle:       h.rerunCommand,
	}
}

var (
	prURLRE        = regexp.MustCompile(`^https://github\.com/([A-Za-z0-9-]+/[A-Za-z0-9._-]+)/pull/(\d+)(?:[/?#].*)?$`)
	dashboardRunRE = regexp.MustCompile(`/namespaces/([a-z0-9-]+)/pipelineruns/([a-z0-9.-]+)(?:[/?#].*)?$`)
	// Kubernetes object names; anything else is refused before it reaches
	// the apiserver or a reply.
	objectNameRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)
)

const rerunUsage = "Usage: `rerun <pipelinerun|dashboard URL|PR URL> [on <cluster>]`"

func (h *commands) rerunCommand(ctx context.Context, req *bot.Request) bot.Reply {
	args := req.Command.Args
	var clusterName string
	switch {
	case len(args) == 1:
	case len(args) == 3 && strings.EqualFold(args[1], "on"):
		clusterName = args[2]
		if h.Config.Cluster(clusterName) == nil {
			return refused("Unknown cluster %s. Clusters: %s.", bot.UserText(clusterName), h.clusterNames())
		}
	default:
		return refused(rerunUsage)
	}
	target := args[0]
	if m := prURLRE.FindStringSubmatch(target); m != nil {
		n, _ := strconv.Atoi(m[2])
		return h.rerunPR(ctx, req, m[1], n)
	}
	namespace, name, ok := runTarget(target)
	if !ok {
		return refused("%s is not a PipelineRun name, dashboard link or PR link. %s", bot.UserText(target), rerunUsage)
	}
	cluster, orig, reply := h.locate(ctx, req, clusterName, namespace, name)
	if reply != nil {
		return *reply
	}
	if why := h.deployOf(cluster, orig); why != "" {
		return refused("%s", promoteInstead(orig.Name, why))
	}
	if cluster.Role == config.RoleProduction && !h.mayRerunOnProduction(cluster, orig) {
		return refused("%s", notRerunnable(cluster, orig))
	}
	where := fmt.Sprintf("%s/%s/%s", cluster.Name, orig.Namespace, orig.Name)
	if cluster.Role == config.RoleProduction && !req.Confirmed {
		return bot.Reply{
			Outcome: bot.Pending,
			Text:    fmt.Sprintf("`%s` is on the production cluster *%s*. Rerun it?", orig.Name, cluster.Name),
			Confirm: &bot.Confirm{
				Title:  "Rerun on production?",
				Text:   fmt.Sprintf("Rerun %s (%s) on the production cluster %s.", orig.Name, tekton.StateOf(orig), cluster.Name),
				Button: "Rerun",
			},
			Targets: []string{where},
		}
	}
	run, created, err := h.runs().Rerun(ctx, cluster.Name, orig, requester(req), nil)
	if err != nil {
		return h.trouble(ctx, req, "the "+cluster.Name+" cluster", err, "rerun "+orig.Name)
	}
	reply2 := bot.Reply{Outcome: bot.Done, Public: true, Targets: []string{cluster.Name + "/" + run.Namespace + "/" + run.Name}}
	if !created {
		reply2.Outcome = bot.Noop
		reply2.Text = fmt.Sprintf("%s was %s: %s.", where, alreadyRerun(run, req), h.runLink(cluster.Name, run))
		return reply2
	}
	reply2.Text = fmt.Sprintf("%s reran %s (was %s): %s", req.Caller.Name(), where, tekton.StateOf(orig), h.runLink(cluster.Name, run))
	return reply2
}

// runTarget reads a run named as "name", "namespace/name" or a dashboard
// link; ok is false for anything else, before it reaches the apiserver.
func runTarget(target string) (namespace, name string, ok bool) {
	name = target
	if m := dashboardRunRE.FindStringSubmatch(target); m != nil {
		namespace, name = m[1], m[2]
	} else if ns, n, cut := strings.Cut(target, "/"); cut {
		namespace, name = ns, n
	}
	ok = objectNameRE.MatchString(name) && (namespace == "" || objectNameRE.MatchString(namespace))
	return namespace, name, ok
}

// locate finds a PipelineRun by name on the named cluster, or on whichever
// single cluster has it.
func (h *commands) locate(ctx context.Context, req *bot.Request, clusterName, namespace, name string) (*config.Cluster, *pipelinev1.PipelineRun, *bot.Reply) {
	var clusters []*config.Cluster
	for i := range h.Config.Clusters {
		if c := &h.Config.Clusters[i]; clusterName == "" || c.Name == clusterName {
			clusters = append(clusters, c)
		}
	}
	type hit struct {
		c  *config.Cluster
		pr *pipelinev1.PipelineRun
	}
	var hits []hit
	var errs []error
	var unread []string // clusters that could not be asked
	for _, c := range clusters {
		ns := namespace
		if ns == "" {
			ns = c.Namespace
		}
		pr, err := h.runs().Run(ctx, c.Name, ns, name)
		switch {
		case err == nil:
			hits = append(hits, hit{c, pr})
		case !apierrors.IsNotFound(err):
			errs = append(errs, err)
			unread = append(unread, c.Name)
		}
	}
	var r bot.Reply
	switch {
	case len(hits) == 1:
		return hits[0].c, hits[0].pr, nil
	case len(hits) > 1:
		r = refused("`%s` exists on several clusters; add `on <cluster>` (%s).", name, h.clusterNames())
	case len(errs) > 0:
		r = h.trouble(ctx, req, "the "+strings.Join(unread, " and ")+" cluster", errors.Join(errs...), "look for "+name)
	default:
		r = refused("No PipelineRun `%s` on %s.", name, h.clusterNames())
	}
	return nil, nil, &r
}

func (h *commands) rerunPR(ctx context.Context, req *bot.Request, repo string, number int) bot.Reply {
	if h.PullRequests == nil {
		return failed("GitHub is not configured, so tekbot cannot read %s#%d.", repo, number)
	}
	pr, err := h.PullRequests.Get(ctx, repo, number)
	if err != nil {
		return h.trouble(ctx, req, "GitHub", err, sprintf("read %s#%d", repo, number))
	}
	p, stop := h.findPRRuns(ctx, req, pr)
	if stop != nil {
		return *stop
	}
	var retry []*pipelinev1.PipelineRun
	for _, run := range p.latest {
		if tekton.StateOf(run).Retryable() {
			retry = append(retry, run)
		}
	}
	return h.rerun(ctx, req, p, retry, nil, "no latest run failed, timed out or was cancelled")
}

// clusterNames lists the configured clusters, for messages.
func (h *commands) clusterNames() string {
	names := make([]string, len(h.Config.Clusters))
	for i, c := range h.Config.Clusters {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}

// alreadyRerun says why a rerun was not made: reruns are named after the
// run they retry, so this request, or another asking to retry the same run
// (a second delivery, a Slack rerun, another replica), made it first.
func alreadyRerun(run *pipelinev1.PipelineRun, req *bot.Request) string {
	switch by := run.Annotations[tekton.AnnotationRequester]; {
	case requester(req).Made(run):
		return "already rerun for this request"
	case by != "":
		return "already rerun by " + by
	default:
		return "already rerun"
	}
}

// requester is who asks, as written on the runs a request makes.
func requester(req *bot.Request) tekton.Requester {
	return tekton.Requester{Name: req.Caller.Name(), RequestID: req.ID, Key: req.Key}
}
