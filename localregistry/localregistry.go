// Package localregistry runs an OCI registry in process, on loopback, and
// publishes nightly images to it the way Tekton's release pipeline and
// Tekton Chains do: an image under a vYYYYMMDD-<commit> tag and, signed
// with a Chains key, a cosign-style attestation (tag sha256-<hex>.att,
// one DSSE envelope per layer) of its SLSA v0.2 provenance. `tekbot dev`
// shows promotions by digest and provenance with it, and tests use it to
// check what tekbot verifies; it is go-containerregistry's registry, so
// manifests, tags and digests behave as a registry's do.
package localregistry

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"golang.org/x/crypto/ssh"
)

// Registry is an OCI registry serving on loopback until Close.
type Registry struct {
	// Host is host:port, the registry part of image references.
	Host string
	srv  *http.Server
}

// Start serves a registry on a free loopback port.
func Start() (*Registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the local registry: %w", err)
	}
	srv := &http.Server{
		Handler:           registry.New(registry.Logger(log.New(io.Discard, "", 0))),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(l) }() // ends with Close
	return &Registry{Host: l.Addr().String(), srv: srv}, nil
}

// Close stops the registry.
func (r *Registry) Close() error { return r.srv.Close() }

// Key is a Chains signing key: an ECDSA P-256 key, as `cosign
// generate-key-pair` makes.
type Key struct {
	private *ecdsa.PrivateKey
	public  string
}

// NewKey generates a key.
func NewKey() (*Key, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Key{k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, nil
}

// PublicPEM is the public key as cosign.pub holds it.
func (k *Key) PublicPEM() string { return k.public }

// Sign signs a DSSE pre-authentication encoding as cosign's ECDSA signer
// does: ASN.1 over its SHA-256.
func (k *Key) Sign(_ context.Context, data []byte) ([]byte, error) {
	sum := sha256.Sum256(data)
	return ecdsa.SignASN1(rand.Reader, k.private, sum[:])
}

// KeyID is what Chains puts in its signatures: the key's SSH fingerprint.
func (k *Key) KeyID() (string, error) {
	pk, err := ssh.NewPublicKey(&k.private.PublicKey)
	if err != nil {
		return "", err
	}
	return ssh.FingerprintSHA256(pk), nil
}

// Nightly is a nightly image to publish and what its provenance says.
type Nightly struct {
	// Repository is the path under the registry, e.g.
	// tektoncd/pipeline/controller; Tag the version.
	Repository, Tag string
	// Created is the time the image's config declares.
	Created time.Time
	// Provenance signs the image's provenance with Key, unless Key is nil.
	Key *Key
	// Pipeline ran the build (the tekton.dev/pipeline label), from
	// Commit, a git SHA-1, and finished at Finished.
	Pipeline, Commit string
	Finished         time.Time
	// Labels are more labels of the run that Chains records with
	// tekton.dev/pipeline (Pipelines-as-Code's, for a PR run).
	Labels map[string]string
}

// Publish pushes a new image under n's tag (moving the tag if it was
// there) and, with a key, its attestation; it returns the image's digest.
func (r *Registry) Publish(ctx context.Context, n Nightly) (v1.Hash, error) {
	img, err := random.Image(256, 1)
	if err == nil {
		img, err = mutate.CreatedAt(img, v1.Time{Time: n.Created})
	}
	if err != nil {
		return v1.Hash{}, err
	}
	repo, err := name.NewRepository(r.Host+"/"+n.Repository, name.Insecure)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(repo.Tag(n.Tag), img, remote.WithContext(ctx)); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s:%s: %w", repo, n.Tag, err)
	}
	digest, err := img.Digest()
	if err != nil || n.Key == nil {
		return digest, err
	}
	return digest, r.attest(ctx, repo, digest, n)
}

// attest attaches n's signed provenance to digest, as Chains' OCI storage
// does in its "dsse" format.
func (r *Registry) attest(ctx context.Context, repo name.Repository, digest v1.Hash, n Nightly) error {
	labels := map[string]string{"tekton.dev/pipeline": n.Pipeline}
	maps.Copy(labels, n.Labels)
	statement := map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": "https://slsa.dev/provenance/v0.2",
		"subject":       []any{map[string]any{"name": repo.Name(), "digest": map[string]string{digest.Algorithm: digest.Hex}}},
		"predicate": map[string]any{
			"builder":   map[string]string{"id": "https://tekton.dev/chains/v2"},
			"buildType": "tekton.dev/v1/PipelineRun",
			"invocation": map[string]any{
				"parameters":  map[string]string{"versionTag": n.Tag, "gitRevision": n.Commit},
				"environment": map[string]any{"labels": labels},
			},
			"metadata": map[string]any{
				"buildStartedOn":  n.Finished.Add(-20 * time.Minute).UTC(),
				"buildFinishedOn": n.Finished.UTC(),
			},
			"materials": []any{map[string]any{"uri": "git+https://github.com/tektoncd/pipeline.git", "digest": map[string]string{"sha1": n.Commit}}},
		},
	}
	payload, err := json.Marshal(statement)
	if err != nil {
		return err
	}
	signer, err := dsse.NewEnvelopeSigner(n.Key)
	if err != nil {
		return err
	}
	envelope, err := signer.SignPayload(ctx, "application/vnd.in-toto+json", payload)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(envelope)
	if err != nil {
		return err
	}
	const dsseType = types.MediaType("application/vnd.dsse.envelope.v1+json")
	att, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1), mutate.Addendum{
		Layer:       static.NewLayer(raw, dsseType),
		MediaType:   dsseType,
		Annotations: map[string]string{"dev.cosignproject.cosign/signature": "", "predicateType": "https://slsa.dev/provenance/v0.2"},
	})
	if err != nil {
		return err
	}
	tag := repo.Tag(fmt.Sprintf("%s-%s.att", digest.Algorithm, digest.Hex))
	if err := remote.Write(tag, att, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("pushing the attestation %s: %w", tag, err)
	}
	return nil
}
