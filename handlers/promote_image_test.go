package handlers_test

import (
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"tekbot/bot"
	"tekbot/config"
)

// ociRegistry is an in-process OCI registry on loopback holding one image
// per tag, each built at the given time.
func ociRegistry(t *testing.T, repo string, built map[string]time.Time) string {
	t.Helper()
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	for tag, at := range built {
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		if img, err = mutate.CreatedAt(img, v1.Time{Time: at}); err != nil {
			t.Fatal(err)
		}
		ref, err := name.NewTag(host + "/" + repo + ":" + tag)
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
	}
	return host
}

func TestPromoteNightlyFromAnImageRegistry(t *testing.T) {
	t.Parallel()
	const (
		old    = "v20261121-aaaaaaa"
		second = "v20261122-bbbbbbb"
		newest = "v20261123-ccccccc"
	)
	now := time.Now()
	host := ociRegistry(t, "tektoncd/pipeline/controller", map[string]time.Time{
		old:      now.Add(-72 * time.Hour),
		second:   now.Add(-48 * time.Hour),
		newest:   now.Add(-time.Hour), // too young for a day's soak
		"latest": now,                 // not a nightly tag
	})
	env := dogfooding()
	env.SoakPeriod = config.Duration{Duration: 24 * time.Hour}
	env.NightlyImage = host + "/tektoncd/{{.Project}}/controller"
	w := newPromoWorld(t, nil, env)

	asked := w.slack("andrea", "promote pipeline nightly", false, "i1")
	if asked.Outcome != bot.Pending || asked.Confirm == nil {
		t.Fatalf("ask: %s %q", asked.Outcome, asked.Text)
	}
	for _, want := range []string{
		"`none recorded` → `" + second + "`",
		"image `tektoncd/pipeline/controller:" + second + "` is `sha256:",
		"built at " + now.Add(-48*time.Hour).UTC().Format("2006-01-02 15:04") + " UTC, as the image says",
		"soaked 48h", "(at least 24h0m0s)",
		"skipped the newer `" + newest + "`: `" + newest + "` is still soaking: dogfooding needs 24h0m0s since its release",
	} {
		if !strings.Contains(asked.Text, want) {
			t.Errorf("reply lacks %q:\n%s", want, asked.Text)
		}
	}
	if strings.Contains(asked.Text, host) {
		t.Errorf("the reply shows the registry's address:\n%s", asked.Text)
	}
	done := w.slack("andrea", "promote pipeline nightly", true, "i1")
	runs := w.deploys()
	if done.Outcome != bot.Done || len(runs) != 1 || params(&runs[0])["version"] != second {
		t.Fatalf("confirm: %s %q, %d deploys", done.Outcome, done.Text, len(runs))
	}
	// Asked by name, the young one is refused with the same reason.
	r := w.slack("vincent", "promote pipeline "+newest, false, "i2")
	if r.Outcome != bot.Refused || !strings.Contains(r.Text, "is still soaking") {
		t.Errorf("young tag: %s %q", r.Outcome, r.Text)
	}
	if r := w.slack("vincent", "promote pipeline v20261124-ddddddd", false, "i3"); r.Outcome != bot.Refused || !strings.Contains(r.Text, "No image of pipeline is tagged") {
		t.Errorf("missing tag: %s %q", r.Outcome, r.Text)
	}
}
