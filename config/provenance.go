package config

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/labels"
)

// Provenance is what may vouch for a nightly: the place its release run
// ran, and, opt-in, the signed provenance Tekton Chains attached to its
// image. It is inlined in Environment.
type Provenance struct {
	// Releases is where release PipelineRuns run; nil means every nightly
	// cluster, in its namespace.
	Releases *Releases `yaml:"releases"`
	// Chains, when set, requires of a nightly image (nightlyImage) an
	// in-toto SLSA provenance attestation signed with PublicKey.
	Chains *Chains `yaml:"chains"`
}

// Releases is a place PR authors cannot write: release runs found
// anywhere else do not count.
type Releases struct {
	// Cluster defaults to every nightly cluster; Namespace to the
	// cluster's.
	Cluster   string `yaml:"cluster"`
	Namespace string `yaml:"namespace"`
	// Selector further narrows release runs to a label only Tekton
	// Triggers sets, e.g. triggers.tekton.dev/eventlistener=nightly.
	Selector string `yaml:"selector"`
}

// Chains is the Tekton Chains provenance a nightly image must carry.
type Chains struct {
	// PublicKey is the PEM public key Chains signs with (ECDSA or
	// Ed25519, as `cosign generate-key-pair` makes).
	PublicKey string `yaml:"publicKey"`
	// Pipeline is the release Pipeline the provenance must name, a
	// template with .Project; DefaultReleasePipeline when empty.
	Pipeline string `yaml:"pipeline"`
}

// DefaultReleasePipeline names a project's release Pipeline, as Tekton's
// projects do.
const DefaultReleasePipeline = "{{.Project}}-release"

// Site is a namespace of a cluster.
type Site struct{ Cluster, Namespace string }

// ReleaseSites are the namespaces where e's release runs may be found.
func (c *Config) ReleaseSites(e *Environment) []Site {
	var r Releases
	if e.Releases != nil {
		r = *e.Releases
	}
	var out []Site
	for _, cl := range c.Clusters {
		if (r.Cluster == "" && cl.Role == RoleNightly) || cl.Name == r.Cluster {
			ns := r.Namespace
			if ns == "" {
				ns = cl.Namespace
			}
			out = append(out, Site{cl.Name, ns})
		}
	}
	return out
}

// ParsePublicKey reads a PEM public key Chains may sign with.
func ParsePublicKey(text string) (any, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, errors.New("not a PEM \"PUBLIC KEY\" block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	switch key.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey:
		return key, nil
	}
	return nil, fmt.Errorf("a %T key; Chains' keys are ECDSA or Ed25519", key)
}

// provenance validates e's Provenance; p is its path.
func (v *validator) provenance(p string, e *Environment) {
	if r := e.Releases; r != nil {
		if r.Cluster != "" {
			v.clusterRef(p+".releases.cluster", r.Cluster)
		}
		if r.Namespace != "" && !dnsLabelRE.MatchString(r.Namespace) {
			v.add(p+".releases.namespace", "not a valid namespace: %q", r.Namespace)
		}
		if _, err := labels.Parse(r.Selector); err != nil {
			v.add(p+".releases.selector", "not a label selector: %v", err)
		}
	}
	if e.NightlyImage == "" {
		v.releasesApart(p, e)
	}
	c := e.Chains
	if c == nil {
		return
	}
	if e.NightlyImage == "" {
		v.add(p+".chains", "needs nightlyImage: Chains attaches its provenance to the nightly image")
	}
	if _, err := ParsePublicKey(c.PublicKey); err != nil {
		v.add(p+".chains.publicKey", "must be a PEM public key (cosign.pub): %v", err)
	}
	var b strings.Builder
	t, err := template.New(p).Option("missingkey=error").Parse(cmp.Or(c.Pipeline, DefaultReleasePipeline))
	if err == nil {
		err = t.Execute(&b, map[string]string{"Project": "pipeline"})
	}
	if err != nil || !dnsLabelRE.MatchString(b.String()) {
		v.add(p+".chains.pipeline", "must name a Pipeline, with {{.Project}} if it varies, got %q", c.Pipeline)
	}
}

// releasesApart refuses release runs in a namespace where a repository's
// PR PipelineRuns run: a PR author could write a run that looks like a
// release there, and it would vouch for a tag they chose.
func (v *validator) releasesApart(p string, e *Environment) {
	for _, s := range v.cfg.ReleaseSites(e) {
		for i, r := range v.cfg.GitHub.Repositories {
			if r.Cluster == s.Cluster && r.Namespace == s.Namespace {
				v.add(p+".releases",
					"release runs are read from namespace %q on cluster %q, where github.repositories[%d] (%s) runs PR PipelineRuns, which a PR author could make look like a release: set releases.namespace to where only the release pipelines run",
					s.Namespace, s.Cluster, i, r.Name)
			}
		}
	}
}
