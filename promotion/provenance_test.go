package promotion

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"tekbot/config"
	"tekbot/localregistry"
	"tekbot/test/registrytest"
)

// TestVerifyProvenanceRefusesAnAttestationOfAnotherImage: an attestation
// is signed, but about the image it names; copied next to another image
// (a PR build pushed under a nightly tag), it vouches for nothing.
func TestVerifyProvenanceRefusesAnAttestationOfAnotherImage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg, key := registrytest.Start(t), registrytest.Key(t)
	const version = "v20261124-4f2b9c1"
	good := localregistry.Nightly{Repository: "tektoncd/pipeline/controller", Tag: version, Key: key,
		Pipeline: "pipeline-release", Commit: "4f2b9c1e8d7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c", Finished: time.Now()}
	signed, err := reg.Publish(ctx, good)
	if err != nil {
		t.Fatal(err)
	}
	forged := good
	forged.Key = nil
	unsigned, err := reg.Publish(ctx, forged) // the tag now points here
	if err != nil {
		t.Fatal(err)
	}
	repo, err := name.NewRepository(reg.Host + "/tektoncd/pipeline/controller")
	if err != nil {
		t.Fatal(err)
	}
	att := func(d fmt.Stringer) name.Tag { return repo.Tag(strings.Replace(d.String(), ":", "-", 1) + ".att") }
	img, err := remote.Image(att(signed))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(att(unsigned), img); err != nil {
		t.Fatal(err)
	}
	env := &config.Environment{Name: "dogfooding", Provenance: config.Provenance{Chains: &config.Chains{PublicKey: key.PublicPEM()}}}

	if _, err := verifyProvenance(ctx, env, repo, signed, "pipeline", version); err != nil {
		t.Fatalf("the signed image: %v", err)
	}
	_, err = verifyProvenance(ctx, env, repo, unsigned, "pipeline", version)
	var no *Refusal
	if !errors.As(err, &no) || !strings.Contains(no.Msg, "is about another image, not `"+unsigned.String()+"`") {
		t.Errorf("the copied attestation: %v", err)
	}
}
