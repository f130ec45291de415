package config

import (
	"fmt"
	"regexp"

	"k8s.io/apimachinery/pkg/labels"
)

// Alerts configures real-time failure alerts: the runs the build captain
// cares about (nightly releases, canaries, promotion runs), watched on
// their clusters and reported in the captain channel as they fail.
type Alerts struct {
	Watch []AlertWatch `yaml:"watch"`
}

// AlertWatch selects runs on one cluster. Selector narrows what the
// apiserver sends (and what tekbot keeps in memory); Pipelines, when set,
// keeps only runs of those pipelines.
type AlertWatch struct {
	Cluster string `yaml:"cluster"`
	// Namespace defaults to the cluster's.
	Namespace string `yaml:"namespace"`
	// Selector is a Kubernetes label selector, e.g. "tekton.dev/pipeline".
	Selector  string   `yaml:"selector"`
	Pipelines []string `yaml:"pipelines"`
	// PipelineLabel names the label holding a run's pipeline name; without
	// it (or without the label on a run) the pipelineRef's name is used.
	PipelineLabel string `yaml:"pipelineLabel"`
}

// VersionNamespace is where env's cluster records the installed Tekton
// versions: InfoNamespace, or DefaultInfoNamespace (where Tekton's
// release manifests install the components).
func (e *Environment) VersionNamespace() string {
	if e.InfoNamespace == "" {
		return DefaultInfoNamespace
	}
	return e.InfoNamespace
}

// slackGroupRE matches Slack user group IDs.
var slackGroupRE = regexp.MustCompile(`^S[A-Z0-9]{2,}$`)

func (c *Config) alertDefaults() {
	for i := range c.Alerts.Watch {
		w := &c.Alerts.Watch[i]
		if cl := c.Cluster(w.Cluster); cl != nil && w.Namespace == "" {
			w.Namespace = cl.Namespace
		}
	}
}

func (v *validator) alerts() {
	for i, w := range v.cfg.Alerts.Watch {
		p := fmt.Sprintf("alerts.watch[%d]", i)
		v.clusterRef(p+".cluster", w.Cluster)
		if w.Namespace != "" && !dnsLabelRE.MatchString(w.Namespace) {
			v.add(p+".namespace", "not a valid namespace: %q", w.Namespace)
		}
		if _, err := labels.Parse(w.Selector); err != nil {
			v.add(p+".selector", "not a label selector: %v", err)
		}
		for j, name := range w.Pipelines {
			if !dnsLabelRE.MatchString(name) {
				v.add(fmt.Sprintf("%s.pipelines[%d]", p, j), "not a pipeline name: %q", name)
			}
		}
		if w.Selector == "" && len(w.Pipelines) == 0 {
			v.add(p, "needs a selector or pipelines: watching every run of a busy namespace is rarely meant")
		}
	}
	if len(v.cfg.Alerts.Watch) > 0 && v.cfg.Slack.Channels.Captain == "" {
		v.add("alerts.watch", "alerts are posted to slack.channels.captain, which is not set")
	}
	if g := v.cfg.Slack.CaptainGroup; g != "" && !slackGroupRE.MatchString(g) {
		v.add("slack.captainGroup", "not a Slack user group ID (like S012AB3CD): %q", g)
	}
	for i, e := range v.cfg.Promotion.Environments {
		if e.InfoNamespace != "" && !dnsLabelRE.MatchString(e.InfoNamespace) {
			v.add(fmt.Sprintf("promotion.environments[%d].infoNamespace", i), "not a valid namespace: %q", e.InfoNamespace)
		}
	}
}
