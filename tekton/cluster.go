// Package tekton holds tekbot's Tekton actions on PipelineRuns: find them,
// rerun, cancel, start. It knows Kubernetes and Tekton, and nothing of chat:
// handlers call it, transports never do.
package tekton

import (
	"bytes"
	"fmt"
	"text/template"

	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	tektonclient "github.com/tektoncd/pipeline/pkg/client/clientset/versioned"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"tekbot/config"
)

// Cluster is one configured cluster and its clients.
type Cluster struct {
	Name      string
	Role      config.Role
	Namespace string
	Tekton    tektonclient.Interface
	Kube      Kube
	dashboard *template.Template
	// runs are the slim indexes of watched namespaces (WatchRuns).
	runs runIndexes
	// finished is called with each finished run the indexes see
	// (OnFinished).
	finished func(*pipelinev1.PipelineRun)
}

// ClientQPS and ClientBurst bound the requests tekbot's client for one
// cluster makes. Chat commands come in bursts: fifty /retests at once make
// about 250 calls (the claim, the read and Create of each rerun, two audit
// events), which client-go's default of 5 QPS, or even 50, would queue for
// seconds. What protects the apiserver is its own priority and fairness
// (on by default since Kubernetes 1.29), which queues tekbot beside every
// other client; this limit is only a fuse against a runaway loop.
const (
	ClientQPS   = 200
	ClientBurst = 400
)

// Clusters are the configured clusters, in config order.
type Clusters struct {
	list []*Cluster
}

// NewClusters wraps already-built clusters (tests, the sandbox).
func NewClusters(cs ...*Cluster) *Clusters { return &Clusters{list: cs} }

// Connect builds clients for every configured cluster. It does not dial:
// an unreachable cluster shows up as errors on use, reported to the user,
// and in /readyz.
func Connect(cfg *config.Config) (*Clusters, error) {
	cs := &Clusters{}
	for _, cc := range cfg.Clusters {
		rc, err := restConfig(cc)
		if err != nil {
			return nil, fmt.Errorf("cluster %s: %w", cc.Name, err)
		}
		rc.QPS, rc.Burst = ClientQPS, ClientBurst
		c, err := NewCluster(cc, cfg.Dashboard, rc)
		if err != nil {
			return nil, err
		}
		cs.list = append(cs.list, c)
	}
	return cs, nil
}

// NewCluster makes the clients for one configured cluster.
func NewCluster(cc config.Cluster, dash *config.Dashboard, rc *rest.Config) (*Cluster, error) {
	c := &Cluster{Name: cc.Name, Role: cc.Role, Namespace: cc.Namespace}
	var err error
	if c.Tekton, err = tektonclient.NewForConfig(rc); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cc.Name, err)
	}
	if c.Kube, err = newKube(rc); err != nil {
		return nil, fmt.Errorf("cluster %s: %w", cc.Name, err)
	}
	if cc.Dashboard != nil {
		dash = cc.Dashboard
	}
	if dash != nil && dash.PipelineRunURL != "" {
		// Validated by config; Must documents that.
		c.dashboard = template.Must(template.New(cc.Name).Option("missingkey=error").Parse(dash.PipelineRunURL))
	}
	return c, nil
}

func restConfig(cc config.Cluster) (*rest.Config, error) {
	if cc.InCluster {
		return rest.InClusterConfig()
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: cc.Kubeconfig}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: cc.Context}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
}

// Get returns the cluster with that name, or nil.
func (cs *Clusters) Get(name string) *Cluster {
	for _, c := range cs.list {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// All returns the clusters in config order.
func (cs *Clusters) All() []*Cluster { return cs.list }

// Names lists the cluster names, for messages.
func (cs *Clusters) Names() []string {
	names := make([]string, len(cs.list))
	for i, c := range cs.list {
		names[i] = c.Name
	}
	return names
}

// URL links to a PipelineRun in the dashboard, or "" without a dashboard.
func (c *Cluster) URL(namespace, name string) string {
	if c.dashboard == nil {
		return ""
	}
	var b bytes.Buffer
	if err := c.dashboard.Execute(&b, map[string]string{"Cluster": c.Name, "Namespace": namespace, "Name": name}); err != nil {
		return ""
	}
	return b.String()
}
