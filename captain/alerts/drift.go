package alerts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/tekton"
)

// Promoted reads what tekbot last promoted: "project/environment" →
// version (the promotion record, promotion).
type Promoted interface {
	Promoted(ctx context.Context) (map[string]string, error)
}

// Versions are promoted versions already at hand (a Book just read).
type Versions map[string]string

// Promoted returns v.
func (v Versions) Promoted(context.Context) (map[string]string, error) { return v, nil }

// Observation is what an environment's cluster reports it runs of a
// project, beside what tekbot last promoted there. A hand-applied release,
// a GitOps sync or a rollback from elsewhere makes them differ: drift.
type Observation struct {
	Project, Environment, Cluster string
	Promoted                      string
	// Observed is the version the cluster reports, "" if the component
	// is not installed where tekbot looked.
	Observed string
	// Err says the cluster could not be read (for the log, not for chat).
	Err error
}

// Drifted reports whether the cluster runs something else than what was
// promoted. An unreadable cluster is not drift: it is unknown.
func (o Observation) Drifted() bool { return o.Err == nil && o.Observed != o.Promoted }

// Reported says in a few words what the cluster reports. Anyone who can
// edit the ConfigMap writes the version, so it is shown as code.
func (o Observation) Reported() string {
	switch {
	case o.Err != nil:
		return "cluster could not be read"
	case o.Observed == "":
		return "cluster reports it not installed"
	}
	return "cluster reports " + bot.Code(o.Observed)
}

// String is the observation as a chat line.
func (o Observation) String() string {
	s := fmt.Sprintf("%s on %s: %s, tekbot last promoted %s", o.Project, o.Environment, o.Reported(), bot.Code(o.Promoted))
	if o.Drifted() {
		s = ":warning: drift: " + s
	}
	return s
}

// Observer reads each environment's installed versions with
// tekton.(*Cluster).InstalledVersion.
type Observer struct {
	Environments []config.Environment
	Clusters     *tekton.Clusters
	Promoted     Promoted
}

// Observe compares, for every project/environment tekbot promoted to,
// what the environment's cluster reports. Environments without a cluster
// (some GitOps ones) cannot be observed and are left out.
func (o *Observer) Observe(ctx context.Context) ([]Observation, error) {
	promoted, err := o.Promoted.Promoted(ctx)
	if err != nil {
		return nil, err
	}
	var out []Observation
	for _, key := range slices.Sorted(maps.Keys(promoted)) {
		project, envName, _ := strings.Cut(key, "/")
		i := slices.IndexFunc(o.Environments, func(e config.Environment) bool { return e.Name == envName })
		if i < 0 {
			continue
		}
		env := &o.Environments[i]
		c := o.Clusters.Get(env.Cluster)
		if c == nil {
			continue
		}
		ob := Observation{Project: project, Environment: envName, Cluster: c.Name, Promoted: promoted[key]}
		ob.Observed, ob.Err = c.InstalledVersion(ctx, env.VersionNamespace(), project)
		if errors.Is(ob.Err, tekton.ErrNotInstalled) {
			ob.Err = nil
		}
		out = append(out, ob)
	}
	return out, nil
}

// Find returns the observation of project in env, if any.
func Find(obs []Observation, project, env string) (Observation, bool) {
	i := slices.IndexFunc(obs, func(o Observation) bool { return o.Project == project && o.Environment == env })
	if i < 0 {
		return Observation{}, false
	}
	return obs[i], true
}

// Poster posts a message to a channel.
type Poster interface {
	Post(ctx context.Context, channel, text string) error
}

// DriftWatch posts each new drift to the releases channel, once across
// replicas: the claim is keyed by what was promoted and what is observed,
// so a further change is news again.
type DriftWatch struct {
	Observer *Observer
	Poster   Poster
	Channel  string
	Claims   bot.Claimer
	Log      *slog.Logger

	sent once
}

// Tick observes every environment and posts the drift not posted before.
func (d *DriftWatch) Tick(ctx context.Context) error {
	obs, err := d.Observer.Observe(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, o := range obs {
		if o.Err != nil {
			d.Log.Warn("reading installed versions", "cluster", o.Cluster, "project", o.Project, "err", o.Err)
		}
		if !o.Drifted() {
			continue
		}
		key := fmt.Sprintf("drift/%s/%s/%s/%s", o.Project, o.Environment, o.Promoted, o.Observed)
		errs = append(errs, d.sent.do(ctx, d.Claims, d.Log, key, func() error {
			return d.Poster.Post(ctx, d.Channel, o.String()+". Something other than tekbot changed it (a hand-applied release, a GitOps sync, a rollback); `/tekton promotions` shows the rest.")
		}))
	}
	return errors.Join(errs...)
}
