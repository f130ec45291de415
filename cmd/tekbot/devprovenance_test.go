package main

import (
	"regexp"
	"testing"
)

// TestSandboxPromotesImagesByDigestAndProvenance: in `tekbot dev`, the
// "images" environment promotes the nightlies published to the sandbox's
// registry: the dialog shows the digest and what the signed provenance
// proves, the deploy gets the image by digest, and the triggers nightly
// Chains never signed is skipped with the reason.
func TestSandboxPromotesImagesByDigestAndProvenance(t *testing.T) {
	t.Parallel()
	s := startSandbox(t, "--data", t.TempDir(), "--run-time", "300ms")
	s.waitFor(`andrea> `)

	s.send("/tekton promote pipeline nightly to images")
	digest := s.waitFor("image `tektoncd/pipeline/controller:v20261123-a1b2c3d` is `(sha256:[0-9a-f]{64})`")[1]
	s.waitFor("provenance signed by Tekton Chains: pipeline `pipeline-release`, commit `a1b2c3d0{33}`")
	s.waitFor(`Deploy pipeline v20261123-a1b2c3d \(` + regexp.QuoteMeta(digest) + `\) to images\. — type yes to press "Promote" as andrea: `)
	s.send("yes")
	s.waitForAll(`\[tekton on dogfooding\] tekton-deploy/promote-pipeline-[a-z0-9]+: succeeded`,
		"✅ pipeline `v20261123-a1b2c3d` is on images")

	s.send("/tekton promote triggers nightly to images")
	s.waitFor("skipped the newer `v20261123-e4f5a6b`: Provenance: the image tagged `v20261123-e4f5a6b` has no attestation from Tekton Chains")
	s.waitFor(`type yes to press "Promote" as andrea: `)
	s.send("no")
	s.send("quit")
}
