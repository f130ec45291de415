package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"tekbot/config"
	"tekbot/test/githubtest"
	"tekbot/transport/github"
)

// TestGitHubAppAuthentication: with App credentials, tekbot signs a JWT
// with the App's key, exchanges it for an installation token (as
// ghinstallation does against GitHub), and calls the API with that token.
func TestGitHubAppAuthentication(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "app.pem")
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(keyFile, pemKey, 0o600); err != nil {
		t.Fatal(err)
	}
	var sawJWT bool
	s.Handle(http.MethodPost, "/app/installations/{installation_id}/access_tokens", func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		sawJWT = strings.HasPrefix(auth, "Bearer ") && strings.Count(auth, ".") == 2 && r.PathValue("installation_id") == "4242"
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"token":"ghs_installation","expires_at":%q,"permissions":{},"repository_selection":"all"}`, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	})
	s.SetPermission("tektoncd", "pipeline", "vdemeest", "write")

	api, err := github.NewAPI(config.GitHub{
		APIURL: s.URL(),
		App:    &config.GitHubApp{ID: 1234, InstallationID: 4242, PrivateKey: &config.Secret{File: keyFile}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ok, err := api.CanWrite(context.Background(), "tektoncd/pipeline", "vdemeest")
	if err != nil || !ok {
		t.Fatalf("CanWrite with the installation token: %v %v", ok, err)
	}
	if !sawJWT {
		t.Error("the installation token was not requested with the App's JWT")
	}
	calls := 0
	for _, r := range s.Requests() {
		if !strings.Contains(r.Path, "/permission") {
			continue
		}
		calls++
		if !strings.HasSuffix(r.Header.Get("Authorization"), " ghs_installation") {
			t.Errorf("API call authenticated with %q, want the installation token", r.Header.Get("Authorization"))
		}
	}
	if calls != 1 {
		t.Errorf("%d permission calls recorded, want 1", calls)
	}
}

// TestBurstsReuseConnectionsToGitHub: over HTTP/1.1, a burst of reads
// needs a connection each; the next burst finds them kept open instead of
// dialling again (Go's default keeps two).
func TestBurstsReuseConnectionsToGitHub(t *testing.T) {
	t.Parallel()
	s := githubtest.NewServer(t)
	s.SetPullRequest("tektoncd", "pipeline", githubtest.PullRequest{Number: 7})
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("ghs_test"), 0o600); err != nil {
		t.Fatal(err)
	}
	api, err := github.NewAPI(config.GitHub{APIURL: s.URL(), Token: &config.Secret{File: tokenFile}})
	if err != nil {
		t.Fatal(err)
	}
	const burst = 32
	readAll := func() {
		var wg sync.WaitGroup
		errs := make([]error, burst)
		for i := range burst {
			wg.Go(func() { _, errs[i] = api.Get(context.Background(), "tektoncd/pipeline", 7) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
	}
	readAll()
	first := s.Connections()
	readAll()
	// A connection is put back a moment after its response is read, so a
	// few of the second burst may still dial; with two kept, nearly all do.
	if again := s.Connections() - first; again > burst/4 {
		t.Errorf("the second burst of %d reads opened %d new connections (the first opened %d)", burst, again, first)
	}
}
