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
			checkRedact(t, tc.values, tc.in, tc.gone, tc.kept)
		})
	}
}

// checkRedact redacts in with values' redactor: gone must not be in the
// result, kept must, and lines stay lines.
func checkRedact(t *testing.T, values []string, in string, gone, kept []string) {
	t.Helper()
	var vs [][]byte
	for _, v := range values {
		vs = append(vs, []byte(v))
	}
	got := newRedactor(vs).Redact(in)
	for _, g := range gone {
		if strings.Contains(got, g) {
			t.Errorf("Redact(%q) = %q: still holds %q", in, got, g)
		}
	}
	for _, k := range kept {
		if !strings.Contains(got, k) {
			t.Errorf("Redact(%q) = %q: lost %q", in, got, k)
		}
	}
	if len(gone) > 0 && !strings.Contains(got, Redacted) {
		t.Errorf("Redact(%q) = %q: no %s marker", in, got, Redacted)
	}
	if strings.Count(got, "\n") != strings.Count(in, "\n") {
		t.Errorf("Redact(%q) = %q: lines not kept", in, got)
	}
}

// TestRedactStructured: a field of a structured Secret printed on its
// own is hidden, in each form a whole value is: Tekton's credential init
// writes these files into ~/.docker, ~/.git-credentials and the like.
func TestRedactStructured(t *testing.T) {
	t.Parallel()
	const (
		dockerPass = "d0cker-pa55word"
		gitPass    = "g1t p@ss/word"
		netrcPass  = "netrc-s3cret"
		kubeToken  = "kube-t0ken-abcdef0123456789"
		envToken   = "env-t0ken-9876"
	)
	auth := base64.StdEncoding.EncodeToString([]byte("robot:" + dockerPass))
	docker := `{"auths":{"registry.example.com":{"username":"robot","password":"` + dockerPass + `","auth":"` + auth + `"}}}`
	shortAuth := `{"auths":{"r.example.com":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("robot:abc123")) + `"}}}`
	gitCreds := "https://bot:" + url.PathEscape(gitPass) + "@github.com\n"
	netrc := "machine github.com\n  login robot-user\n  password " + netrcPass + "\n"
	kubeconfig := "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: " + kubeToken + "\n"
	env := "# deploy\nexport API_TOKEN=\"" + envToken + "\"\nDEBUG=true\n"
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name, value string
		in          string
		gone, kept  []string
	}{
		{name: "docker password", value: docker, in: "login failed for robot with " + dockerPass + " at registry.example.com",
			gone: []string{dockerPass}, kept: []string{"login failed for robot with ", " at registry.example.com"}},
		{name: "docker auth", value: docker, in: `Authorization: X ` + auth, gone: []string{auth}},
		{name: "docker auth decoded", value: docker, in: "creds robot:" + dockerPass + " refused", gone: []string{"robot:" + dockerPass}, kept: []string{"creds ", " refused"}},
		{name: "docker password base64", value: docker, in: "p=" + b64(dockerPass), gone: []string{b64(dockerPass)}},
		{name: "docker password URL-encoded", value: docker, in: "GET /?p=" + url.QueryEscape(dockerPass), gone: []string{url.QueryEscape(dockerPass)}},
		{name: "docker password split across lines", value: docker, in: "x " + dockerPass[:7] + "\n" + dockerPass[7:] + " y", gone: []string{dockerPass[:7], dockerPass[7:]}},
		{name: "docker auth's short password", value: shortAuth, in: "password abc123 wrong", gone: []string{"abc123"}, kept: []string{"password ", " wrong"}},
		{name: "git-credentials password", value: gitCreds, in: "fatal: password " + gitPass + " rejected", gone: []string{gitPass}, kept: []string{"fatal: password ", " rejected"}},
		{name: "git-credentials password as stored", value: gitCreds, in: "using " + url.PathEscape(gitPass), gone: []string{url.PathEscape(gitPass)}},
		{name: "git-credentials user:pass base64", value: gitCreds, in: "Authorization: Basic " + b64("bot:"+gitPass), gone: []string{b64("bot:" + gitPass)}},
		{name: "netrc password", value: netrc, in: "auth with " + netrcPass + " failed", gone: []string{netrcPass}, kept: []string{" failed"}},
		{name: "kubeconfig token", value: kubeconfig, in: "error: token " + kubeToken + " expired", gone: []string{kubeToken}, kept: []string{"error: token ", " expired"}},
		{name: "kubeconfig's short words kept", value: kubeconfig, in: "Config v1 for user ci", kept: []string{"Config v1 for user ci"}},
		{name: "env file value", value: env, in: "curl -H 'X: " + envToken + "'", gone: []string{envToken}},
		{name: "env file's short value kept", value: env, in: "DEBUG is true", kept: []string{"DEBUG is true"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkRedact(t, []string{tc.value}, tc.in, tc.gone, tc.kept)
		})
	}
}

// TestRedactTail: a log read from the middle may start with the end of a
// value that began in the lines not read; only a tail is searched so.
func TestRedactTail(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("0123456789abcdef", 8)
	b64 := base64.StdEncoding.EncodeToString([]byte(long)) // wraps at 76
	red := newRedactor([][]byte{[]byte(long)})
	for _, tc := range []struct {
		name, in  string
		tail      bool
		gone      string
		wantShown bool
	}{
		{name: "wrapped base64's last line, at a tail's start", in: b64[76:] + "\n--- FAIL: x\n", tail: true, gone: b64[76:]},
		{name: "the value's end, at a tail's start", in: long[40:] + " rest\nnext\n", tail: true, gone: long[40:]},
		{name: "a whole log is not searched so", in: b64[76:] + "\n", gone: b64[76:], wantShown: true},
		{name: "shorter than a piece worth hiding", in: long[len(long)-5:] + " ok\n", tail: true, gone: long[len(long)-5:], wantShown: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := red.Redact(tc.in)
			if tc.tail {
				got = red.RedactTail(tc.in)
			}
			if shown := strings.Contains(got, tc.gone); shown != tc.wantShown {
				t.Errorf("redacting %q (tail %v) = %q: shows %q %v, want %v", tc.in, tc.tail, got, tc.gone, shown, tc.wantShown)
			}
			if strings.Count(got, "\n") != strings.Count(tc.in, "\n") {
				t.Errorf("lines not kept: %q", got)
			}
		})
	}
}
