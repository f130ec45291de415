package promotion

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"tekbot/config"
)

// Nightlies from an image repository. Tekton no longer runs a nightly
// cluster: its nightlies are built elsewhere and published as images
// tagged vYYYYMMDD-<commit>. An environment with nightlyImage reads them
// there: the tag is the version, resolved once to the digest it points
// to, which is what the gates check, the record keeps and the deploy
// gets; canaries are checked on the nightly clusters as for release runs.
// With chains, the image's signed provenance (provenance.go) must vouch
// for it, and its soak starts when that says the build finished; without,
// when the image's config says it was built, which its publisher wrote.

// Image is a nightly image a promotion checked and deploys, by digest: a
// tag can be moved to another image, a digest cannot.
type Image struct {
	// Repository is registry/path; Digest is algorithm:hex.
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
}

// Ref is repository:tag@digest: readable, and pulled by digest.
func (i *Image) Ref(tag string) string { return i.Repository + ":" + tag + "@" + i.Digest }

// Pinned is the version as it deploys: with the digest of a nightly
// image, which a confirm dialog shows.
func (p *Promotion) Pinned() string {
	if p.Image == nil {
		return p.Version
	}
	return p.Version + " (" + p.Image.Digest + ")"
}

// deployedImage is the image version was deployed as to env, as the
// record keeps it: a rollback deploys that digest again, whatever the
// tag points to now. Nil when none is recorded (a version deployed before
// Deployed kept images, whose promotion has been pruned since).
func (b *Book) deployedImage(project, env, version string) *Image {
	if d := b.Deployed(project, env); d != nil {
		if img, ok := d.Images[version]; ok {
			return &img
		}
	}
	for _, p := range b.Promotions {
		if p.Project == project && p.Environment == env && p.Version == version && p.Image != nil && !p.State.waiting() {
			return p.Image
		}
	}
	return nil
}

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
		_, _, err := e.imageEvidence(ctx, env, project, tag)
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

// pin resolves version's tag in env's nightly image repository to the
// image it points to now, by digest.
func pin(ctx context.Context, env *config.Environment, project, version string) (name.Repository, *remote.Descriptor, *Image, error) {
	repo, err := imageRepo(env, project)
	if err != nil {
		return repo, nil, nil, err
	}
	desc, err := remote.Get(repo.Tag(version), registryOptions(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return repo, nil, nil, refuse("No image of %s is tagged `%s`, so nothing vouches for it.", project, version)
	}
	if err != nil {
		return repo, nil, nil, fmt.Errorf("reading %s:%s: %w", repo, version, err)
	}
	return repo, desc, &Image{Repository: repo.Name(), Digest: desc.Digest.String()}, nil
}

// imageEvidence is gate 3 for a version published as an image: it
// exists, is vouched for (by its signed provenance, with chains), has
// soaked since it was built, and no canary has failed since. It returns
// the image it checked, by digest.
func (e *Engine) imageEvidence(ctx context.Context, env *config.Environment, project, version string) ([]string, *Image, error) {
	repo, desc, img, err := pin(ctx, env, project, version)
	if err != nil {
		return nil, nil, err
	}
	out := []string{fmt.Sprintf("image `%s:%s` is `%s`", repo.RepositoryStr(), version, img.Digest)}
	var built time.Time
	if env.Chains != nil {
		p, err := verifyProvenance(ctx, env, repo, desc.Digest, project, version)
		if err != nil {
			return nil, nil, err
		}
		built = p.finished
		out = append(out, p.String())
	} else {
		// An index (a multi-platform image) is read for one platform,
		// whose config says when it was built.
		one, err := desc.Image()
		if err != nil {
			return nil, nil, fmt.Errorf("reading %s@%s: %w", repo, desc.Digest, err)
		}
		cf, err := one.ConfigFile()
		if err != nil {
			return nil, nil, fmt.Errorf("reading the config of %s@%s: %w", repo, desc.Digest, err)
		}
		if built = cf.Created.Time; built.IsZero() {
			return nil, nil, refuse("The image tagged `%s` does not say when it was built, so its soak cannot be measured.", version)
		}
		out = append(out, fmt.Sprintf("built at %s, as the image says (no signed provenance is required here)", built.UTC().Format("2006-01-02 15:04 MST")))
	}
	sites, err := e.canarySites(env)
	if err != nil {
		return nil, nil, err
	}
	more, err := e.soakAndCanaries(ctx, env, version, built, sites)
	return append(out, more...), img, err
}
