package promotion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"tekbot/config"
)

// Nightlies from an image repository. Tekton no longer runs a nightly
// cluster: its nightlies are built elsewhere and published as images
// tagged vYYYYMMDD-<commit>. An environment with nightlyImage reads them
// there: the tag is the version, the image config's "created" time is
// when it was released (the soak starts then), and canaries are checked
// on the nightly clusters as for release runs.

// maxCandidates bounds how many of the newest nightly tags "nightly"
// examines: each costs a manifest and a config read.
const maxCandidates = 10

// imageRepo is env's nightly image repository for project.
func imageRepo(env *config.Environment, project string) (name.Repository, error) {
	ref, err := render(env.NightlyImage, env, &Promotion{Project: project})
	if err != nil {
		return name.Repository{}, err
	}
	repo, err := name.NewRepository(ref, name.StrictValidation)
	if err != nil {
		return name.Repository{}, fmt.Errorf("environment %s: nightlyImage %q: %w", env.Name, ref, err)
	}
	return repo, nil
}

func registryOptions(ctx context.Context) []remote.Option {
	return []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(authn.DefaultKeychain)}
}

// resolveImage is the newest nightly tag of project's image whose image
// passes gate 3; skipped says why each newer one did not.
func (e *Engine) resolveImage(ctx context.Context, env *config.Environment, project string) (string, []string, error) {
	repo, err := imageRepo(env, project)
	if err != nil {
		return "", nil, err
	}
	tags, err := remote.List(repo, registryOptions(ctx)...)
	if err != nil {
		return "", nil, fmt.Errorf("listing the tags of %s: %w", repo, err)
	}
	// A tag from a registry is checked like one typed by a user.
	tags = slices.DeleteFunc(tags, func(t string) bool { k, err := CheckVersion(t); return err != nil || k != Nightly })
	slices.SortFunc(tags, func(a, b string) int {
		return cmp.Or(cmp.Compare(nightlyDate(b), nightlyDate(a)), cmp.Compare(b, a))
	})
	var skipped []string
	for _, tag := range tags[:min(len(tags), maxCandidates)] {
		_, err := e.imageEvidence(ctx, env, project, tag)
		var no *Refusal
		switch {
		case err == nil:
			return tag, skipped, nil
		case errors.As(err, &no):
			skipped = append(skipped, fmt.Sprintf("skipped the newer `%s`: %s", tag, no.Msg))
		default:
			return "", nil, err
		}
	}
	return "", nil, refuse("No nightly image of %s passes the gates (the %d newest `vYYYYMMDD-<commit>` tags were checked).%s",
		project, min(len(tags), maxCandidates), "\n"+bullets(skipped))
}

// imageEvidence is gate 3 for a version published as an image: it exists,
// has soaked since it was built, and no canary has failed since.
func (e *Engine) imageEvidence(ctx context.Context, env *config.Environment, project, version string) ([]string, error) {
	repo, err := imageRepo(env, project)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(repo.Tag(version), registryOptions(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil, refuse("No image of %s is tagged `%s`, so nothing vouches for it.", project, version)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s:%s: %w", repo, version, err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("reading the config of %s:%s: %w", repo, version, err)
	}
	built := cf.Created.Time
	if built.IsZero() {
		return nil, refuse("The image tagged `%s` does not say when it was built, so its soak cannot be measured.", version)
	}
	out := []string{fmt.Sprintf("image `%s:%s` built at %s", repo.RepositoryStr(), version, built.UTC().Format("2006-01-02 15:04 MST"))}
	var sites []site
	if len(env.CanaryPipelines) > 0 {
		clusters, err := e.nightlyClusters()
		if err != nil {
			return nil, err
		}
		for _, c := range clusters {
			sites = append(sites, site{c, c.Namespace})
		}
	}
	more, err := e.soakAndCanaries(ctx, env, version, built, sites)
	return append(out, more...), err
}
