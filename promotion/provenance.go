package promotion

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/secure-systems-lab/go-securesystemslib/signerverifier"

	"tekbot/config"
)

// Tekton Chains provenance. With its OCI storage in the "dsse" format (the
// default), Chains attaches to each image it signed a cosign-style
// attestation: an image tagged sha256-<hex of the image's digest>.att
// whose layers are DSSE envelopes, each an in-toto statement signed with
// Chains' key. The SLSA v0.2 predicate ("slsa/v1" in Chains' config, its
// default) of a PipelineRun carries the run's labels (tekton.dev/pipeline
// names its Pipeline, set by Tekton's controller), the git commits it
// built from (materials, digest sha1), and when it finished. Only what
// the signature covers is trusted: not the registry, not the image's own
// config.

const (
	dsseMediaType     = "application/vnd.dsse.envelope.v1+json"
	inTotoPayloadType = "application/vnd.in-toto+json"
	slsaProvenance02  = "https://slsa.dev/provenance/v0.2"
	// maxEnvelope bounds what is read of one attestation layer.
	maxEnvelope = 4 << 20
)

// statement is the part of an in-toto statement with a SLSA v0.2
// provenance predicate that tekbot checks.
type statement struct {
	PredicateType string    `json:"predicateType"`
	Subject       []subject `json:"subject"`
	Predicate     struct {
		Invocation struct {
			Environment struct {
				Labels map[string]string `json:"labels"`
			} `json:"environment"`
		} `json:"invocation"`
		Metadata struct {
			BuildFinishedOn *time.Time `json:"buildFinishedOn"`
		} `json:"metadata"`
		Materials []struct {
			URI    string            `json:"uri"`
			Digest map[string]string `json:"digest"`
		} `json:"materials"`
	} `json:"predicate"`
}

// subject is an artifact a statement is about.
type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// provenance is what a verified attestation proves.
type provenance struct {
	pipeline, commit string
	finished         time.Time
}

func (p provenance) String() string {
	return fmt.Sprintf("provenance signed by Tekton Chains: pipeline `%s`, commit `%s`, finished at %s",
		p.pipeline, p.commit, p.finished.UTC().Format("2006-01-02 15:04 MST"))
}

// keyVerifier checks DSSE signatures with a configured public key.
type keyVerifier struct{ dsse.Verifier }

// KeyID is left to dsse, which derives the SSH fingerprint Chains puts
// in its signatures from the public key.
func (keyVerifier) KeyID() (string, error) { return "", nil }

func newVerifier(pem string) (dsse.Verifier, error) {
	key, err := signerverifier.LoadKey([]byte(strings.TrimSpace(pem)))
	if err != nil {
		return nil, fmt.Errorf("the provenance public key: %w", err)
	}
	var v dsse.Verifier
	switch key.KeyType {
	case signerverifier.ECDSAKeyType:
		v, err = signerverifier.NewECDSASignerVerifierFromSSLibKey(key)
	case signerverifier.ED25519KeyType:
		v, err = signerverifier.NewED25519SignerVerifierFromSSLibKey(key)
	default:
		return nil, fmt.Errorf("the provenance public key: %s keys are not supported", key.KeyType)
	}
	if err != nil {
		return nil, fmt.Errorf("the provenance public key: %w", err)
	}
	return keyVerifier{v}, nil
}

// verifyProvenance proves that image digest of repo, tagged version, was
// built by a run of env's release pipeline for project from the commit
// the version names: a Refusal says which check failed.
func verifyProvenance(ctx context.Context, env *config.Environment, repo name.Repository, digest v1.Hash, project, version string) (provenance, error) {
	var none provenance
	pipeline, err := render(cmp.Or(env.Chains.Pipeline, config.DefaultReleasePipeline), env, &Promotion{Project: project})
	if err != nil {
		return none, err
	}
	verifier, err := newVerifier(env.Chains.PublicKey)
	if err != nil {
		return none, err
	}
	envelopes, err := attestations(ctx, repo, digest)
	if err != nil {
		return none, err
	}
	if len(envelopes) == 0 {
		return none, refuse("Provenance: the image tagged `%s` has no attestation from Tekton Chains (`%s-%s.att`), so nothing proves where it was built.",
			version, digest.Algorithm, digest.Hex)
	}
	ev, err := dsse.NewEnvelopeVerifier(verifier)
	if err != nil {
		return none, err
	}
	// An image may carry several attestations (other predicates, other
	// signers): one signed provenance that passes every check suffices,
	// and otherwise the refusal names the check the closest one failed.
	var why error = refuse("Provenance: no attestation of the image tagged `%s` is signed with the configured key.", version)
	for _, envelope := range envelopes {
		_, payload, err := ev.VerifyAndDecode(ctx, envelope)
		if err != nil || envelope.PayloadType != inTotoPayloadType {
			continue
		}
		p, err := checkStatement(payload, digest, pipeline, version)
		if err == nil {
			return p, nil
		}
		why = err
	}
	return none, why
}

// attestations reads the DSSE envelopes attached to digest in repo; none
// when there is no attestation.
func attestations(ctx context.Context, repo name.Repository, digest v1.Hash) ([]*dsse.Envelope, error) {
	tag := repo.Tag(fmt.Sprintf("%s-%s.att", digest.Algorithm, digest.Hex))
	img, err := remote.Image(tag, registryOptions(ctx)...)
	var te *transport.Error
	if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the attestations of %s@%s: %w", repo, digest, err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, fmt.Errorf("reading the attestations of %s@%s: %w", repo, digest, err)
	}
	var out []*dsse.Envelope
	for _, l := range layers {
		if mt, err := l.MediaType(); err != nil || mt != dsseMediaType {
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, fmt.Errorf("reading an attestation of %s@%s: %w", repo, digest, err)
		}
		raw, err := io.ReadAll(io.LimitReader(rc, maxEnvelope))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("reading an attestation of %s@%s: %w", repo, digest, err)
		}
		var e dsse.Envelope
		if json.Unmarshal(raw, &e) == nil {
			out = append(out, &e)
		}
	}
	return out, nil
}

// checkStatement checks a signed statement: SLSA provenance of this very
// image, by the release pipeline, from the version's commit.
func checkStatement(payload []byte, digest v1.Hash, pipeline, version string) (provenance, error) {
	var none provenance
	var s statement
	if err := json.Unmarshal(payload, &s); err != nil {
		return none, refuse("Provenance: the signed attestation of `%s` is not an in-toto statement.", version)
	}
	if s.PredicateType != slsaProvenance02 {
		return none, refuse("Provenance: the signed attestation of `%s` is %q, not SLSA v0.2 provenance (Chains' slsa/v1 format).", version, s.PredicateType)
	}
	if !slices.ContainsFunc(s.Subject, func(sub subject) bool { return sub.Digest[digest.Algorithm] == digest.Hex }) {
		return none, refuse("Provenance: the signed attestation attached to `%s` is about another image, not `%s`.", version, digest)
	}
	pred := s.Predicate
	// Chains signs PR runs too, and Tekton sets tekton.dev/pipeline of a
	// run with an embedded spec to the run's name, which a PR author
	// chooses: the pipeline label alone does not prove a release run.
	if pullRequestLabelled(pred.Invocation.Environment.Labels) {
		return none, refuse("Provenance: `%s` was built by a run Pipelines-as-Code started for a pull request, not by a release run.", version)
	}
	if got := pred.Invocation.Environment.Labels[PipelineLabel]; got != pipeline {
		return none, refuse("Provenance: `%s` was built by pipeline %+q, not the release pipeline `%s`.", version, got, pipeline)
	}
	hex := nightlyCommit(version)
	var commit string
	for _, m := range pred.Materials {
		if c := m.Digest["sha1"]; hex != "" && strings.HasPrefix(c, hex) {
			commit = c
		}
	}
	if commit == "" {
		return none, refuse("Provenance: `%s` was not built from a commit starting %s: the signed provenance names no such source.", version, hex)
	}
	if pred.Metadata.BuildFinishedOn == nil {
		return none, refuse("Provenance: the signed provenance of `%s` does not say when its build finished, so its soak cannot be measured.", version)
	}
	return provenance{pipeline: pipeline, commit: commit, finished: *pred.Metadata.BuildFinishedOn}, nil
}
