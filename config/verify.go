package config

import (
	"cmp"
	"fmt"
	"strings"
	"text/template"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
)

// AfterDeploy is what an environment does around a deploy beyond the
// deploy itself: check it, undo it, merge it, propose the next one. It is
// inlined in Environment, so its fields sit next to the others in YAML.
type AfterDeploy struct {
	// Verify checks a deploy once it has succeeded; nil trusts it.
	Verify *Verify `yaml:"verify"`
	// AutoRollback rolls back to the last verified version, once, when a
	// verification fails or the version never shows up. Needs verify.
	AutoRollback bool `yaml:"autoRollback"`
	// AutoMerge (gitops): tekbot merges its own promotion PR once GitHub
	// reports it mergeable with green checks and the reviews it requires.
	AutoMerge bool `yaml:"autoMerge"`
	// NightlyImage is an OCI repository (a template with .Project, e.g.
	// ghcr.io/tektoncd/{{.Project}}/controller) whose vYYYYMMDD-<hex>
	// tags are the nightlies; it replaces release runs on nightly clusters.
	NightlyImage string `yaml:"nightlyImage"`
	// Train proposes the newest good nightly on working days.
	Train *Train `yaml:"train"`
}

// Verify is how an environment checks a deploy: the cluster must report
// the promoted version (in the environment's infoNamespace, which drift
// reports read too), then every pipeline must succeed, all within Timeout.
type Verify struct {
	// Cluster reports the installed version in its <component>-info
	// ConfigMaps; the default is the environment's cluster.
	Cluster string `yaml:"cluster"`
	// Components must all report the version; the default is the
	// promoted project alone.
	Components []string `yaml:"components"`
	// Timeout bounds the whole check; default DefaultVerifyTimeout.
	Timeout   Duration         `yaml:"timeout"`
	Pipelines []VerifyPipeline `yaml:"pipelines"`
}

// VerifyPipeline is one verification PipelineRun.
type VerifyPipeline struct {
	PipelineRef string `yaml:"pipelineRef"`
	// Params may use {{.Project}}, {{.Version}} and {{.Environment}}.
	Params map[string]string `yaml:"params"`
	// Cluster runs it: the target or a CI cluster; the default is the
	// verify cluster. Namespace defaults to that cluster's.
	Cluster          string            `yaml:"cluster"`
	Namespace        string            `yaml:"namespace"`
	SecretWorkspaces map[string]string `yaml:"secretWorkspaces"`
}

// Train proposes a promotion of the newest good nightly of each project
// at a time of day, on working days; people approve it or nothing happens.
type Train struct {
	// At is HH:MM in TimeZone (default the rotation's).
	At       string   `yaml:"at"`
	TimeZone string   `yaml:"timezone"`
	Projects []string `yaml:"projects"`
	// WorkingDays default to the rotation's; its holidays are skipped.
	WorkingDays []string `yaml:"workingDays"`
}

// Defaults of verification. Tekton's release manifests install every
// component, and its <component>-info ConfigMap, in tekton-pipelines.
const (
	DefaultInfoNamespace = "tekton-pipelines"
	DefaultVerifyTimeout = 10 * time.Minute
)

// VerifyCluster is the cluster that reports e's installed version.
func (e *Environment) VerifyCluster() string {
	if e.Verify != nil && e.Verify.Cluster != "" {
		return e.Verify.Cluster
	}
	return e.Cluster
}

// Target is the cluster and namespace verification pipeline vp of e runs
// in: its own, or the verify cluster and that cluster's namespace.
func (vp *VerifyPipeline) Target(cfg *Config, e *Environment) (cluster, namespace string) {
	cluster = cmp.Or(vp.Cluster, e.VerifyCluster())
	namespace = vp.Namespace
	if cl := cfg.Cluster(cluster); cl != nil && namespace == "" {
		namespace = cl.Namespace
	}
	return cluster, namespace
}

// afterDeploy validates an environment's AfterDeploy fields; p is its path.
func (v *validator) afterDeploy(p string, e *Environment) {
	if vf := e.Verify; vf != nil {
		if e.VerifyCluster() == "" {
			v.add(p+".verify.cluster", "required: the cluster whose <component>-info ConfigMaps report the version")
		} else {
			v.clusterRef(p+".verify.cluster", e.VerifyCluster())
		}
		for j, c := range vf.Components {
			if !dnsLabelRE.MatchString(c) {
				v.add(fmt.Sprintf("%s.verify.components[%d]", p, j), "not a component name: %q", c)
			}
		}
		for j, vp := range vf.Pipelines {
			q := fmt.Sprintf("%s.verify.pipelines[%d]", p, j)
			if !dnsLabelRE.MatchString(vp.PipelineRef) {
				v.add(q+".pipelineRef", "not a pipeline name: %q", vp.PipelineRef)
			}
			if vp.Cluster != "" {
				v.clusterRef(q+".cluster", vp.Cluster)
			}
			if vp.Namespace != "" && !dnsLabelRE.MatchString(vp.Namespace) {
				v.add(q+".namespace", "not a valid namespace: %q", vp.Namespace)
			}
			for k, val := range vp.Params {
				v.template(q+".params."+k, val)
			}
		}
	}
	if e.AutoRollback && e.Verify == nil {
		v.add(p+".autoRollback", "needs verify: only a failed verification rolls back by itself")
	}
	if e.AutoMerge && e.Strategy != StrategyGitOps {
		v.add(p+".autoMerge", "only for the gitops strategy")
	}
	if e.NightlyImage != "" {
		var b strings.Builder
		t, err := template.New(p).Option("missingkey=error").Parse(e.NightlyImage)
		if err == nil {
			err = t.Execute(&b, map[string]string{"Project": "pipeline"})
		}
		if err == nil {
			_, err = name.NewRepository(b.String(), name.StrictValidation)
		}
		if err != nil {
			v.add(p+".nightlyImage", "must be an OCI repository, without tag or digest, like ghcr.io/tektoncd/{{.Project}}/controller: %v", err)
		}
	}
	if t := e.Train; t != nil {
		if !hhmmRE.MatchString(t.At) {
			v.add(p+".train.at", "must be HH:MM (24h), got %q", t.At)
		}
		if t.TimeZone != "" {
			if _, err := time.LoadLocation(t.TimeZone); err != nil {
				v.add(p+".train.timezone", "unknown time zone %q", t.TimeZone)
			}
		}
		for j, d := range t.WorkingDays {
			if _, ok := ParseWeekday(d); !ok {
				v.add(fmt.Sprintf("%s.train.workingDays[%d]", p, j), "not a weekday: %q", d)
			}
		}
		if len(t.Projects) == 0 {
			v.add(p+".train.projects", "required: the projects to propose")
		}
	}
}
