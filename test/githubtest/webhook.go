package githubtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// Headers of a webhook delivery, as GitHub names them.
const (
	HeaderEvent                  = "X-GitHub-Event"
	HeaderDelivery               = "X-GitHub-Delivery"
	HeaderHookID                 = "X-GitHub-Hook-ID"
	HeaderHookTargetID           = "X-GitHub-Hook-Installation-Target-ID"
	HeaderHookTargetType         = "X-GitHub-Hook-Installation-Target-Type"
	HeaderSignature              = "X-Hub-Signature"     // sha1=..., legacy
	HeaderSignature256           = "X-Hub-Signature-256" // sha256=...
	HookshotUserAgent            = "GitHub-Hookshot/3b6a6b4"
	FakeHookID                   = "487651372"
	FakeInstallationTargetType   = "repository"
	fallbackInstallationTargetID = "186853002" // Codertocat/Hello-World
)

// Sign returns the X-Hub-Signature-256 value GitHub sends for body:
// "sha256=" and the hex HMAC-SHA256 of the body keyed with the webhook secret.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// SignSHA1 returns the legacy X-Hub-Signature value: "sha1=" and the hex
// HMAC-SHA1 of the body. GitHub still sends it beside X-Hub-Signature-256.
func SignSHA1(secret, body []byte) string {
	m := hmac.New(sha1.New, secret)
	m.Write(body)
	return "sha1=" + hex.EncodeToString(m.Sum(nil))
}

// WebhookRequest returns a delivery of body to url as GitHub sends it: a POST
// with Content-Type application/json, the event, delivery and hook headers,
// both signatures (none if secret is nil, as for a hook without a secret) and
// Hookshot's User-Agent. An empty deliveryID gets a random GUID like
// GitHub's. The installation target is the payload's repository.
func WebhookRequest(tb testing.TB, url, event, deliveryID string, secret, body []byte) *http.Request {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatalf("githubtest: WebhookRequest: %v", err)
	}
	if deliveryID == "" {
		deliveryID = NewDeliveryID()
	}
	h := req.Header
	h.Set("Accept", "*/*")
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", HookshotUserAgent)
	h.Set(HeaderEvent, event)
	h.Set(HeaderDelivery, deliveryID)
	h.Set(HeaderHookID, FakeHookID)
	h.Set(HeaderHookTargetID, repositoryID(body))
	h.Set(HeaderHookTargetType, FakeInstallationTargetType)
	if secret != nil {
		h.Set(HeaderSignature, SignSHA1(secret, body))
		h.Set(HeaderSignature256, Sign(secret, body))
	}
	return req
}

// NewDeliveryID returns a random GUID in the form of X-GitHub-Delivery.
func NewDeliveryID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func repositoryID(body []byte) string {
	var p struct {
		Repository struct {
			ID json.Number `json:"id"`
		} `json:"repository"`
	}
	if json.Unmarshal(body, &p) == nil {
		if _, err := strconv.ParseInt(p.Repository.ID.String(), 10, 64); err == nil {
			return p.Repository.ID.String()
		}
	}
	return fallbackInstallationTargetID
}
