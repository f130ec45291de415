package githubtest

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-github/v62/github"
)

func TestSignDocumentedVector(t *testing.T) {
	t.Parallel()
	// The example in GitHub's "Validating webhook deliveries" docs.
	got := Sign([]byte("It's a Secret to Everybody"), []byte("Hello, World!"))
	want := "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestWebhookRequestValidates(t *testing.T) {
	t.Parallel()
	secret := []byte("s3cret")
	body := PRComment(t, PRCommentOptions{Body: "/retest", Owner: "tektoncd", Repo: "pipeline", Number: 3})
	req := WebhookRequest(t, "http://tekbot.example/hooks/github", "issue_comment", "", secret, body)

	if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
		!strings.HasPrefix(req.Header.Get("User-Agent"), "GitHub-Hookshot/") ||
		req.Header.Get(HeaderHookID) == "" ||
		req.Header.Get(HeaderSignature) != SignSHA1(secret, body) ||
		req.Header.Get(HeaderSignature256) != Sign(secret, body) {
		t.Errorf("headers: %v", req.Header)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(github.DeliveryID(req)) {
		t.Errorf("delivery id %q", github.DeliveryID(req))
	}
	if got := github.WebHookType(req); got != "issue_comment" {
		t.Errorf("WebHookType = %q", got)
	}
	payload, err := github.ValidatePayload(req, secret)
	if err != nil {
		t.Fatalf("go-github rejects the signature: %v", err)
	}
	ev := parse[*github.IssueCommentEvent](t, github.WebHookType(req), payload)
	if ev.GetComment().GetBody() != "/retest" {
		t.Errorf("payload body %q", ev.GetComment().GetBody())
	}
	if got := req.Header.Get(HeaderHookTargetID); got == "" || got == fallbackInstallationTargetID && ev.GetRepo().GetID() != 186853002 {
		t.Errorf("installation target id %q, repository id %d", got, ev.GetRepo().GetID())
	}

	// The legacy SHA-1 signature alone validates too.
	req = WebhookRequest(t, "http://tekbot.example/", "issue_comment", "id-1", secret, body)
	req.Header.Del(HeaderSignature256)
	if _, err := github.ValidatePayload(req, secret); err != nil {
		t.Errorf("X-Hub-Signature alone: %v", err)
	}
	// A wrong secret or a changed body does not.
	req = WebhookRequest(t, "http://tekbot.example/", "issue_comment", "id-2", []byte("other"), body)
	if _, err := github.ValidatePayload(req, secret); err == nil {
		t.Error("a delivery signed with another secret validated")
	}
	req = WebhookRequest(t, "http://tekbot.example/", "issue_comment", "id-3", secret, body)
	req.Body = io.NopCloser(strings.NewReader(string(body) + " "))
	if _, err := github.ValidatePayload(req, secret); err == nil {
		t.Error("a changed body validated")
	}
	if req.Header.Get(HeaderDelivery) != "id-3" {
		t.Error("delivery id not kept")
	}
}
