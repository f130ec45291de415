package github_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
