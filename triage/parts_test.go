package triage

import (
	"strings"
	"testing"
)

// FuzzParts: any Secret value, however malformed a document, gives parts
// without panicking, none shorter than a Secret worth hiding.
func FuzzParts(f *testing.F) {
	for _, seed := range []string{
		`{"auths":{"r":{"auth":"cm9ib3Q6cGFzc3dvcmQ="}}}`,
		"a: &x [*x, *x]\nb: *x\n",
		"---\n- token: abcdefgh\n---\nkey: 'unterminated\n",
		"machine h login robot password\n",
		"https://u:%zz@h\nexport A=\"\"\n",
		"\xff\xfe{\"a\": 1}",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		for _, p := range parts(v) {
			if len(p) < minSecret || strings.TrimSpace(p) != p {
				t.Errorf("parts(%q) holds %q", v, p)
			}
		}
	})
}
