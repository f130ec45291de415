package promotion

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"text/template"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"tekbot/config"
	"tekbot/tekton"
)

// Labels on deploy PipelineRuns: the in-flight gate selects by them, and
// they tell a human browsing the cluster what a run deploys.
const (
	LabelProject     = "tekbot.dev/promote-project"
	LabelVersion     = "tekbot.dev/promote-version"
	LabelEnvironment = "tekbot.dev/promote-environment"
	LabelRequester   = "tekbot.dev/promote-requester"
	// AnnotationApprover names the second person, under the two-person
	// rule (the requester is tekton.AnnotationRequester).
	AnnotationApprover = "tekbot.dev/approved-by"
)

// digest hashes parts, NUL-separated so that ("ab","c") and ("a","bc")
// differ.
func digest(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p + "\x00"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// runName derives the deploy PipelineRun's name from the promotion and its
// nonce, so a double click, a retry or a second replica meets
// AlreadyExists instead of deploying twice, and nobody who knows the
// promotion's ID (a train's is known days ahead) can create it first.
// Projects have at most 30 characters: it fits a DNS label.
func runName(p *Promotion) string {
	return "promote-" + p.Project + "-" + digest(p.ID, p.Environment, p.Nonce)[:10]
}

// branchName is the gitops branch, derived from the promotion likewise.
func branchName(p *Promotion) string {
	return fmt.Sprintf("tekbot/promote-%s-%s-%s", p.Project, p.Version, digest(p.ID, p.Environment, p.Nonce)[:8])
}

// target notes where p deploys to, before anything is created, so that a
// crash between the claim and the deploy leaves a trail to follow. The
// nonce its names derive from is drawn here, once: it is in the record
// before anything bears those names.
func (e *Engine) target(env *config.Environment, p *Promotion) {
	if p.Nonce == "" {
		p.Nonce = rand.Text()
	}
	switch env.Strategy {
	case config.StrategyPipelineRun:
		p.Cluster, p.Namespace, p.PipelineRun = env.Cluster, env.Namespace, runName(p)
		if c := e.Clusters.Get(env.Cluster); c != nil {
			p.URL = c.URL(p.Namespace, p.PipelineRun)
		}
	case config.StrategyGitOps:
		p.Repository, p.Branch = env.Repository, branchName(p)
	}
}

// deploy creates p's deploy; created is false when an earlier attempt
// had created it.
func (e *Engine) deploy(ctx context.Context, env *config.Environment, p *Promotion) (created bool, err error) {
	switch env.Strategy {
	case config.StrategyPipelineRun:
		return e.createRun(ctx, env, p)
	case config.StrategyGitOps:
		return e.openPR(ctx, env, p)
	}
	return false, fmt.Errorf("environment %s: unknown strategy %q", env.Name, env.Strategy)
}

// render fills a config template with the promotion's values, which the
// gates have checked: a project name, a tag and a DNS label, and for a
// nightly image the digest checked (Digest) and ImageRef, the image by
// tag and digest; both are empty without one.
func render(text string, env *config.Environment, p *Promotion) (string, error) {
	t, err := template.New("").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("environment %s: template %q: %w", env.Name, text, err)
	}
	values := map[string]string{"Project": p.Project, "Version": p.Version, "Environment": env.Name, "Digest": "", "ImageRef": ""}
	if p.Image != nil {
		values["Digest"], values["ImageRef"] = p.Image.Digest, p.Image.Ref(p.Version)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, values); err != nil {
		return "", fmt.Errorf("environment %s: template %q: %w", env.Name, text, err)
	}
	return b.String(), nil
}

// deployRun builds the deploy PipelineRun of p from env's template, under
// the name the record holds.
func deployRun(env *config.Environment, p *Promotion) (*pipelinev1.PipelineRun, error) {
	labels := map[string]string{LabelProject: p.Project, LabelEnvironment: env.Name}
	return promotionRun(env, p, p.PipelineRun, env.Namespace, env.PipelineRef, labels, env.Params, env.SecretWorkspaces)
}

// promotionRun builds a PipelineRun that acts for p (a deploy or a
// verification): labelled with its version and requester, annotated with
// its request, its params rendered from templates.
func promotionRun(env *config.Environment, p *Promotion, name, namespace, pipeline string, labels, params, secrets map[string]string) (*pipelinev1.PipelineRun, error) {
	pr := &pipelinev1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: namespace,
			Labels:    maps.Clone(labels),
			Annotations: map[string]string{
				tekton.AnnotationRequester: p.RequestedBy,
				tekton.AnnotationRequestID: p.ID,
			},
		},
		Spec: pipelinev1.PipelineRunSpec{PipelineRef: &pipelinev1.PipelineRef{Name: pipeline}},
	}
	pr.Labels[LabelVersion] = p.Version
	if p.ApprovedBy != "" {
		pr.Annotations[AnnotationApprover] = p.ApprovedBy
	}
	// People's names are free text; a label only when it can be one.
	if len(validation.IsValidLabelValue(p.RequestedBy)) == 0 {
		pr.Labels[LabelRequester] = p.RequestedBy
	}
	for _, name := range slices.Sorted(maps.Keys(params)) {
		v, err := render(params[name], env, p)
		if err != nil {
			return nil, err
		}
		pr.Spec.Params = append(pr.Spec.Params, pipelinev1.Param{Name: name, Value: *pipelinev1.NewStructuredValues(v)})
	}
	for _, ws := range slices.Sorted(maps.Keys(secrets)) {
		pr.Spec.Workspaces = append(pr.Spec.Workspaces, pipelinev1.WorkspaceBinding{
			Name: ws, Secret: &corev1.SecretVolumeSource{SecretName: secrets[ws]},
		})
	}
	return pr, nil
}

func (e *Engine) createRun(ctx context.Context, env *config.Environment, p *Promotion) (bool, error) {
	c := e.Clusters.Get(env.Cluster)
	if c == nil {
		return false, fmt.Errorf("environment %s: unknown cluster %q", env.Name, env.Cluster)
	}
	pr, err := deployRun(env, p)
	if err != nil {
		return false, err
	}
	return createOwn(ctx, c, pr)
}

// foreignError: something stands under a name tekbot derived for a
// promotion (a run, a branch, the head of its PR), and tekbot cannot
// prove it made it for that promotion. Its message is for people.
type foreignError struct{ msg string }

func (f *foreignError) Error() string { return f.msg }

// createOwn creates pr, whose name is derived from the promotion it acts
// for. created is false when the run under that name is tekbot's own for
// the same promotion (a retry, another replica): its request annotation
// names the promotion, and its spec is what the cluster makes of pr,
// asked with a dry run so that Tekton's defaulting applies as the
// cluster configures it. Anything else there is a *foreignError: a name
// is no proof of who made a run.
func createOwn(ctx context.Context, c *tekton.Cluster, pr *pipelinev1.PipelineRun) (created bool, err error) {
	got, created, err := c.CreateOnce(ctx, pr)
	if err != nil || created {
		return created, err
	}
	foreign := &foreignError{fmt.Sprintf("the PipelineRun `%s` on %s was not made by tekbot for this promotion", pr.Name, c.Name)}
	if got.Annotations[tekton.AnnotationRequestID] != pr.Annotations[tekton.AnnotationRequestID] {
		return false, foreign
	}
	probe := pr.DeepCopy()
	probe.Name, probe.GenerateName = "", "tekbot-probe-"
	want, err := c.Tekton.TektonV1().PipelineRuns(pr.Namespace).Create(ctx, probe, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		return false, fmt.Errorf("checking PipelineRun %s/%s/%s against what tekbot would create: %w", c.Name, pr.Namespace, pr.Name, err)
	}
	if !equality.Semantic.DeepEqual(got.Spec, want.Spec) {
		return false, foreign
	}
	return false, nil
}

// openPR pins p's version in the environment's file on a new branch and
// opens a pull request. Each step finds what an earlier attempt did.
func (e *Engine) openPR(ctx context.Context, env *config.Environment, p *Promotion) (bool, error) {
	if p.PullRequest != 0 {
		return false, nil
	}
	if e.Repos == nil {
		return false, errors.New("the gitops strategy needs GitHub, and it is not configured")
	}
	path, err := render(env.Path, env, p)
	if err != nil {
		return false, err
	}
	re, err := regexp.Compile(env.Pattern)
	if err != nil {
		return false, fmt.Errorf("environment %s: pattern: %w", env.Name, err)
	}
	repo, title := env.Repository, fmt.Sprintf("Promote %s %s to %s", p.Project, p.Version, p.Environment)
	if p.Commit == "" {
		if err := e.commit(ctx, p, repo, path, title, re); err != nil {
			return false, err
		}
	}
	number, url, err := e.Repos.OpenPullRequest(ctx, repo, p.Branch, p.Base, title, prBody(p, path))
	if err != nil {
		return false, err
	}
	// An open PR from the branch may be someone else's, opened between
	// the commit and this call: it is taken only if it is what tekbot
	// would merge.
	st, err := e.Repos.PullRequestStatus(ctx, repo, number)
	if err != nil {
		return false, err
	}
	if why := ownPR(p, number, st); why != "" {
		return false, &foreignError{why}
	}
	p.PullRequest, p.URL = number, url
	err = e.update(ctx, func(b *Book) error {
		if q := b.find(p.ID); q != nil {
			q.PullRequest, q.URL = number, url
		}
		return nil
	})
	return true, err
}

// commit pins p's version on a new branch and records the commit: the
// only head tekbot will merge. A branch that exists already is not
// tekbot's, whatever its name: tekbot records its commit before anything
// else is built on the branch. The file is read and pinned before the
// branch is created, so that "nothing to change" leaves no branch behind.
func (e *Engine) commit(ctx context.Context, p *Promotion, repo, path, title string, pattern *regexp.Regexp) error {
	base, sha, err := e.Repos.DefaultBranch(ctx, repo)
	if err != nil {
		return err
	}
	// Read on the base branch: should it have moved on from sha, the
	// commit below replaces this blob or GitHub refuses it.
	content, blob, err := e.Repos.File(ctx, repo, base, path)
	if err != nil {
		return err
	}
	pinned, err := pinVersion(content, pattern, p.Version)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", path, repo, err)
	}
	if bytes.Equal(pinned, content) {
		return refuse("`%s` in %s pins `%s` already: there is nothing to change.", path, repo, p.Version)
	}
	created, err := e.Repos.CreateBranch(ctx, repo, p.Branch, sha)
	switch {
	case err != nil:
		return err
	case !created:
		return &foreignError{fmt.Sprintf("the branch `%s` of %s exists, but tekbot recorded no commit of its own on it", p.Branch, repo)}
	}
	msg := fmt.Sprintf("%s\n\nAsked by %s through tekbot (request %s).", title, p.RequestedBy, p.ID)
	commit, parents, err := e.Repos.CommitFile(ctx, repo, p.Branch, path, msg, pinned, blob)
	if err != nil {
		return err
	}
	// The contents API commits onto the branch's head: anyone who pushed
	// to the new branch before it would have their commit under
	// tekbot's, which the head check alone would pass.
	if !slices.Equal(parents, []string{sha}) {
		return &foreignError{fmt.Sprintf("the commit tekbot wrote on `%s` of %s is not on `%.7s`, where tekbot created the branch: someone pushed to it first", p.Branch, repo, sha)}
	}
	p.Commit, p.Base = commit, base
	return e.update(ctx, func(b *Book) error {
		if q := b.find(p.ID); q != nil {
			q.Commit, q.Base = commit, base
		}
		return nil
	})
}

// ownPR says why pull request number is not tekbot's promotion PR for p,
// or "" if it is: its head is the commit tekbot wrote, on tekbot's branch
// of the repository itself (not a fork's), and it merges into the branch
// tekbot started from.
func ownPR(p *Promotion, number int, st PullRequestStatus) string {
	pr := fmt.Sprintf("%s#%d", p.Repository, number)
	switch {
	case p.Commit == "":
		return fmt.Sprintf("tekbot recorded no commit of its own for %s", pr)
	case st.Head != p.Commit:
		return fmt.Sprintf("the head of %s is `%.7s`, a commit tekbot did not write (tekbot's is `%.7s`)", pr, st.Head, p.Commit)
	case !strings.EqualFold(st.HeadRepo, p.Repository) || st.HeadRef != p.Branch:
		return fmt.Sprintf("%s comes from `%s:%s`, not from tekbot's branch `%s`", pr, st.HeadRepo, st.HeadRef, p.Branch)
	case st.Base != p.Base:
		return fmt.Sprintf("%s merges into `%s`, not into `%s`", pr, st.Base, p.Base)
	}
	return ""
}

func prBody(p *Promotion, path string) string {
	approved := ""
	if p.ApprovedBy != "" {
		approved = fmt.Sprintf(" and approved by **%s** (two-person rule)", p.ApprovedBy)
	}
	return fmt.Sprintf("Promotes **%s** to **%s**: `%s` → `%s`, pinned in `%s`.\n\nAsked by **%s**%s through tekbot.\n\nEvidence:\n%s\n\nThis change was made by tekbot (request `%s`); it changes the pinned version only.",
		p.Project, p.Environment, orNone(p.From), p.Version, path, p.RequestedBy, approved, bullets(p.Evidence), p.ID)
}

// pinVersion replaces the version that pattern finds in content: its
// first group if it has one, else the whole match, at every match. The
// rest of the file is left byte for byte, so the diff is the version.
func pinVersion(content []byte, pattern *regexp.Regexp, version string) ([]byte, error) {
	matches := pattern.FindAllSubmatchIndex(content, -1)
	if len(matches) == 0 {
		return nil, fmt.Errorf("the pattern %q matches nothing, so there is no pinned version to replace", pattern)
	}
	var out bytes.Buffer
	last := 0
	for _, m := range matches {
		start, end := m[0], m[1]
		if len(m) >= 4 && m[2] >= 0 {
			start, end = m[2], m[3]
		}
		out.Write(content[last:start])
		out.WriteString(version)
		last = end
	}
	out.Write(content[last:])
	return out.Bytes(), nil
}
