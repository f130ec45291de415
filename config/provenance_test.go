package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func publicPEM(t *testing.T, key any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// indent makes a PEM block a YAML block scalar under publicKey.
func indent(pemText string) string {
	return "|\n" + "          " + strings.ReplaceAll(strings.TrimSpace(pemText), "\n", "\n          ") + "\n"
}

func TestReleaseEvidenceMustComeFromWherePRAuthorsCannotWrite(t *testing.T) {
	t.Parallel()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// validBase runs the repository's PR PipelineRuns in the nightly
	// cluster's namespace, as config/deploy does.
	env := func(extra string) string {
		return validBase + `promotion:
  environments:
    - name: prod
      cluster: nightly
      strategy: pipelinerun
      pipelineRef: install-tekton-release
` + extra
	}
	const image = "      nightlyImage: ghcr.io/tektoncd/{{.Project}}/controller\n"
	tests := []struct {
		name, body, wantPath, wantMsg string
	}{
		{"releases read from the PR namespace", env(""), "promotion.environments[0].releases",
			`release runs are read from namespace "default" on cluster "nightly", where github.repositories[0] (tektoncd/pipeline) runs PR PipelineRuns`},
		{"a trigger label does not make a PR namespace safe", env("      releases: {selector: triggers.tekton.dev/eventlistener=nightly}\n"),
			"promotion.environments[0].releases", "a PR author could make look like a release"},
		{"releases in a namespace of their own", env("      releases: {namespace: tekton-nightly, selector: triggers.tekton.dev/eventlistener=nightly}\n"), "", ""},
		{"nightly images need no release namespace", env(image), "", ""},
		{"unknown releases cluster", env("      releases: {cluster: prd, namespace: tekton-nightly}\n"), "promotion.environments[0].releases.cluster", `unknown cluster "prd"`},
		{"bad selector", env("      releases: {namespace: tekton-nightly, selector: 'a b'}\n"), "promotion.environments[0].releases.selector", "not a label selector"},
		{"chains provenance", env(image + "      chains:\n        publicKey: " + indent(publicPEM(t, &ec.PublicKey))), "", ""},
		{"chains without a nightly image", env("      releases: {namespace: tekton-nightly}\n      chains:\n        publicKey: " + indent(publicPEM(t, &ec.PublicKey))),
			"promotion.environments[0].chains", "needs nightlyImage"},
		{"chains key is not PEM", env(image + "      chains: {publicKey: cosign.pub}\n"), "promotion.environments[0].chains.publicKey", "must be a PEM public key"},
		{"chains key is RSA", env(image + "      chains:\n        publicKey: " + indent(publicPEM(t, &rs.PublicKey))), "promotion.environments[0].chains.publicKey", "ECDSA or Ed25519"},
		{"chains pipeline is not a name", env(image + "      chains:\n        pipeline: '{{.Project}} release'\n        publicKey: " + indent(publicPEM(t, &ec.PublicKey))),
			"promotion.environments[0].chains.pipeline", "must name a Pipeline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(writeConfig(t, tt.body))
			if tt.wantPath == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) != 1 || errs.List[0].Path != tt.wantPath || !strings.Contains(errs.List[0].Msg, tt.wantMsg) {
				t.Fatalf("want only %s: %q, got %v", tt.wantPath, tt.wantMsg, err)
			}
		})
	}
}
