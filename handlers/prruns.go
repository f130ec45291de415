package handlers

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/template"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	"k8s.io/apimachinery/pkg/labels"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

// prRuns are the PipelineRuns of a PR's head commit, where they live.
type prRuns struct {
	pr      *bot.PullRequest
	repo    *config.Repository
	cluster *config.Cluster
	runs    []pipelinev1.PipelineRun
	// latest is the newest run of each pipeline: what /retest looks at.
	latest []*pipelinev1.PipelineRun
	// params override the reruns' params ("/test unit key=value").
	params map[string]string
}

// findPRRuns lists the PR's runs with the repository's label selector. A
// non-nil reply means the caller should return it.
func (h *commands) findPRRuns(ctx context.Context, req *bot.Request, pr *bot.PullRequest) (*prRuns, *bot.Reply) {
	if pr == nil {
		r := refused("This command works on a pull request: comment it on the PR.")
		return nil, &r
	}
	repo := h.Config.Repository(pr.Repository)
	if repo == nil {
		r := refused("tekbot is not configured for %s.", pr.Repository)
		return nil, &r
	}
	cluster := h.Config.Cluster(repo.Cluster)
	if cluster == nil {
		r := failed("%s's runs are on cluster %s, which tekbot is not configured for.", pr.Repository, repo.Cluster)
		return nil, &r
	}
	selector, err := renderSelector(repo.Selector, pr)
	if err != nil {
		r := h.trouble(ctx, req, "tekbot's configuration", err, "find this PR's PipelineRuns")
		return nil, &r
	}
	runs, err := h.runs().Matching(ctx, cluster.Name, repo.Namespace, selector)
	if err != nil {
		r := h.trouble(ctx, req, "the "+cluster.Name+" cluster", err, "list this PR's PipelineRuns")
		return nil, &r
	}
	return &prRuns{pr: pr, repo: repo, cluster: cluster, runs: runs, latest: tekton.Latest(runs, repo.PipelineLabel)}, nil
}

func renderSelector(tmpl string, pr *bot.PullRequest) (string, error) {
	owner, repo, _ := strings.Cut(pr.Repository, "/")
	t, err := template.New("selector").Option("missingkey=error").Parse(tmpl)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, map[string]any{
		"Owner": owner, "Repo": repo, "Repository": pr.Repository,
		"PullRequest": pr.Number, "SHA": pr.HeadSHA,
	})
	return b.String(), err
}

// selectorFinds reports whether repo's selector finds run for some PR:
// what the selector asks whatever the PR must match, and the run must
// carry each label the PR's number or head commit fills in. Rendering it
// for two made-up PRs tells the two kinds of requirement apart.
func selectorFinds(repo *config.Repository, run *pipelinev1.PipelineRun) bool {
	var reqs [2]labels.Requirements
	for i, pr := range []*bot.PullRequest{
		{Repository: repo.Name, Number: 1, HeadSHA: "a"},
		{Repository: repo.Name, Number: 2, HeadSHA: "b"},
	} {
		text, err := renderSelector(repo.Selector, pr)
		if err != nil {
			return false
		}
		sel, err := labels.Parse(text)
		if err != nil {
			return false
		}
		reqs[i], _ = sel.Requirements()
	}
	if len(reqs[0]) != len(reqs[1]) {
		return false
	}
	set := labels.Set(run.Labels)
	for i, r := range reqs[0] {
		fixed := r.Equal(reqs[1][i])
		if fixed && !r.Matches(set) || !fixed && !set.Has(r.Key()) {
			return false
		}
	}
	return true
}

func (p *prRuns) pipeline(pr *pipelinev1.PipelineRun) string {
	return tekton.Pipeline(pr, p.repo.PipelineLabel)
}

// byName picks the latest run of each named pipeline; unknown names are
// returned separately so the reply can say so.
func (p *prRuns) byName(names []string) (found []*pipelinev1.PipelineRun, unknown []string) {
	for _, n := range names {
		i := -1
		for j, pr := range p.latest {
			if strings.EqualFold(p.pipeline(pr), n) {
				i = j
			}
		}
		if i < 0 {
			unknown = append(unknown, n)
			continue
		}
		found = append(found, p.latest[i])
	}
	return found, unknown
}

// summary lists the latest runs with their states, for "nothing to do".
func (h *commands) summary(b *strings.Builder, p *prRuns) {
	for _, pr := range p.latest {
		bullet(b, "%s: %s (%s)", p.pipeline(pr), h.runLink(p.cluster.Name, pr), tekton.StateOf(pr))
	}
}

// rerun reruns each run and reports what happened.
func (h *commands) rerun(ctx context.Context, req *bot.Request, p *prRuns, targets []*pipelinev1.PipelineRun, unknown []string, skipped string) bot.Reply {
	var b strings.Builder
	reply := bot.Reply{Outcome: bot.Noop, Public: true}
	by := requester(req)
	if len(targets) > 0 {
		b.WriteString(sprintf("Rerunning for %s:\n", shortSHA(p.pr.HeadSHA)))
	}
	var errs, refusals int
	var reran []*pipelinev1.PipelineRun
	for _, orig := range targets {
		if why := h.deployOf(p.cluster, orig); why != "" {
			refusals++
			bullet(&b, "%s: %s", p.pipeline(orig), promoteInstead(orig.Name, why))
			continue
		}
		run, created, err := h.runs().Rerun(ctx, p.cluster.Name, orig, by, p.params)
		if err != nil {
			errs++
			bullet(&b, "%s: could not rerun %s: %s", p.pipeline(orig), orig.Name, h.troubleWords(ctx, req, "the "+p.cluster.Name+" cluster", err))
			continue
		}
		reply.Targets = append(reply.Targets, p.cluster.Name+"/"+run.Namespace+"/"+run.Name)
		note := "was " + string(tekton.StateOf(orig))
		switch {
		case created, by.Made(run) && run.Name != orig.Name:
			// Also made by this request when another delivery of it,
			// handled elsewhere at the same moment, created it first.
			reply.Outcome = bot.Done
		default:
			note = alreadyRerun(run, req)
		}
		bullet(&b, "%s: %s (%s)", p.pipeline(orig), h.runLink(p.cluster.Name, run), note)
		reran = append(reran, orig)
	}
	h.rerunVerdicts(ctx, req, &b, p, reran) // after every Create: never in their way
	for _, n := range unknown {
		bullet(&b, "%s: no such pipeline for this commit", bot.UserText(n))
	}
	if len(targets) == 0 {
		switch {
		case len(p.latest) == 0:
			b.WriteString(sprintf("No PipelineRuns found for commit %s on cluster %s; nothing to rerun.", shortSHA(p.pr.HeadSHA), p.cluster.Name))
		default:
			if skipped == "" {
				skipped = "no pipeline by that name; this commit's pipelines are"
			}
			b.WriteString(sprintf("Nothing to rerun for %s: %s:\n", shortSHA(p.pr.HeadSHA), skipped))
			h.summary(&b, p)
		}
		if len(unknown) > 0 {
			reply.Outcome = bot.Refused
		}
	}
	if refusals > 0 && reply.Outcome == bot.Noop {
		reply.Outcome = bot.Refused
	}
	if errs > 0 {
		reply.Outcome = bot.Failed
	}
	reply.Text = strings.TrimRight(b.String(), "\n")
	return reply
}

// prNumberMark stands for the PR number while a selector is rendered, to
// find which of its labels holds the number.
const prNumberMark = 987654321

// PullRequestsOf finds repo's PRs that ran commit sha, from tekbot's run
// index: the runs matching the repository's selector without its PR
// number carry that number in the label the selector puts it in. It
// implements transport/github's CommitPulls, for re-run buttons on a
// fork's PR, which GitHub sends with no PR; a selector without the PR
// number finds none.
func (d *Deps) PullRequestsOf(ctx context.Context, repo, sha string) ([]int, error) {
	r := d.Config.Repository(repo)
	if r == nil {
		return nil, nil
	}
	rendered, err := renderSelector(r.Selector, &bot.PullRequest{Repository: repo, Number: prNumberMark, HeadSHA: sha})
	if err != nil {
		return nil, fmt.Errorf("rendering %s's selector: %w", repo, err)
	}
	sel, err := labels.Parse(rendered)
	if err != nil {
		return nil, fmt.Errorf("parsing %s's selector: %w", repo, err)
	}
	reqs, _ := sel.Requirements()
	numberLabel, rest := "", labels.NewSelector()
	for _, req := range reqs {
		if v, _ := req.Values().PopAny(); v == strconv.Itoa(prNumberMark) {
			numberLabel = req.Key()
			continue
		}
		rest = rest.Add(req)
	}
	if numberLabel == "" {
		return nil, nil
	}
	runs, err := d.runs().Matching(ctx, r.Cluster, r.Namespace, rest.String())
	if err != nil {
		return nil, err
	}
	var numbers []int
	for _, run := range runs {
		if n, err := strconv.Atoi(run.Labels[numberLabel]); err == nil && !slices.Contains(numbers, n) {
			numbers = append(numbers, n)
		}
	}
	return numbers, nil
}
