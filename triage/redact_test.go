package triage

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t/to+ken&value=xyz"
	long := strings.Repeat("0123456789abcdef", 8) // wraps when base64-encoded at 76 columns
	b64 := base64.StdEncoding.EncodeToString([]byte(long))
	key := "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\nAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----"
	for _, tc := range []struct {
		name, in string
		values   []string
		gone     []string
		kept     []string
	}{
		{name: "plain", in: "token is " + secret + " ok", values: []string{secret}, gone: []string{secret}, kept: []string{"token is ", " ok"}},
		{name: "base64 std padded", in: "x " + base64.StdEncoding.EncodeToString([]byte(secret)), values: []string{secret}, gone: []string{base64.StdEncoding.EncodeToString([]byte(secret))}},
		{name: "base64 url raw", in: "x " + base64.RawURLEncoding.EncodeToString([]byte(secret)), values: []string{secret}, gone: []string{base64.RawURLEncoding.EncodeToString([]byte(secret))}},
		{name: "base64 inside basic auth", in: "Authorization: Zm9v " + base64.StdEncoding.EncodeToString([]byte("user:"+secret)), values: []string{secret}, gone: []string{base64.StdEncoding.EncodeToString([]byte("user:" + secret))[8:36]}},
		{name: "query-escaped", in: "GET /?t=" + url.QueryEscape(secret), values: []string{secret}, gone: []string{url.QueryEscape(secret)}},
		{name: "path-escaped", in: "GET /" + url.PathEscape(secret), values: []string{secret}, gone: []string{url.PathEscape(secret)}},
		{name: "split across lines", in: "part " + secret[:10] + "\n" + secret[10:] + " end", values: []string{secret}, gone: []string{secret[:10], secret[10:]}, kept: []string{"part ", " end"}},
		{name: "base64 wrapped at 76", in: b64[:76] + "\n" + b64[76:] + "\n", values: []string{long}, gone: []string{b64[:76], b64[76:]}},
		{name: "multi-line value's lines", in: "line two is abcdefghijkl here", values: []string{"first line 1234\nabcdefghijkl\n"}, gone: []string{"abcdefghijkl"}},
		{name: "too short to redact", in: "the value is abc", values: []string{"abc"}, kept: []string{"abc"}},
		{name: "GitHub classic token", in: "token ghp_" + strings.Repeat("A1b2", 9), gone: []string{"ghp_"}},
		{name: "GitHub fine-grained", in: "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz", gone: []string{"github_pat_"}},
		{name: "GitHub installation", in: "ghs_" + strings.Repeat("x", 36), gone: []string{"ghs_"}},
		{name: "Slack bot token", in: "SLACK=xoxb-123456789012-abcdefghijkl", gone: []string{"xoxb-"}, kept: []string{"SLACK="}},
		{name: "Slack app token", in: "xapp-1-A0123456789-0123456789-abcdef", gone: []string{"xapp-"}},
		{name: "AWS key id", in: "id AKIAIOSFODNN7EXAMPLE.", gone: []string{"AKIAIOSFODNN7EXAMPLE"}, kept: []string{"id ", "."}},
		{name: "AWS secret key", in: "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", gone: []string{"wJalrXUtnFEMI"}},
		{name: "GCP API key", in: "key=AIzaSyA-1234567890abcdefghijklmnopqrstu", gone: []string{"AIzaSy"}},
		{name: "GCP key file", in: `{"private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n", "x": 1}`, gone: []string{"MIIE"}, kept: []string{`"x": 1`}},
		{name: "PEM block", in: "before\n" + key + "\nafter", gone: []string{"b3BlbnNzaC1", "AAAAtzc2gtZW", "BEGIN"}, kept: []string{"before\n", "\nafter"}},
		{name: "PEM block cut short", in: "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA", gone: []string{"MIIEpAIBAAKCAQEA"}},
		{name: "credentials in a URL", in: "cloning https://x-access-token:abc123def@github.com/o/r", gone: []string{"abc123def"}, kept: []string{"github.com/o/r"}},
		{name: "bearer header", in: "Authorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6", gone: []string{"eyJhbGciOiJSUzI1NiIsImtpZCI6"}},
		{name: "service-account token", in: "token: eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJrdWJlcm5ldGVzIn0.c2lnbmF0dXJl end", gone: []string{"eyJpc3MiOiJrdWJlcm5ldGVzIn0", "c2lnbmF0dXJl"}, kept: []string{"token: ", " end"}},
		{name: "nothing secret", in: "--- FAIL: TestX (0.01s)", kept: []string{"--- FAIL: TestX (0.01s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var values [][]byte
			for _, v := range tc.values {
				values = append(values, []byte(v))
			}
			got := newRedactor(values).Redact(tc.in)
			for _, g := range tc.gone {
				if strings.Contains(got, g) {
					t.Errorf("Redact(%q) = %q: still holds %q", tc.in, got, g)
				}
			}
			for _, k := range tc.kept {
				if !strings.Contains(got, k) {
					t.Errorf("Redact(%q) = %q: lost %q", tc.in, got, k)
				}
			}
			if len(tc.gone) > 0 && !strings.Contains(got, Redacted) {
				t.Errorf("Redact(%q) = %q: no %s marker", tc.in, got, Redacted)
			}
			if strings.Count(got, "\n") != strings.Count(tc.in, "\n") {
				t.Errorf("Redact(%q) = %q: lines not kept", tc.in, got)
			}
		})
	}
}
