package githubtest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestWriteStringIsEncodingJSONs checks the plain strings' shortcut against
// encoding/json without HTML escaping, which GitHub's bodies match.
func TestWriteStringIsEncodingJSONs(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "octocat", "https://api.github.com/repos/tektoncd/pipeline/pulls/7", "{/number}",
		`say "hi"`, `back\slash`, "tab\there", "line\nbreak", "\x01", "\x7f",
		"<b>&amp;</b>", "héllo", "line\u2028separator", "\xff not UTF-8",
	} {
		var got, want bytes.Buffer
		writeString(&got, s)
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if w := bytes.TrimSuffix(want.Bytes(), []byte("\n")); !bytes.Equal(got.Bytes(), w) {
			t.Errorf("writeString(%q) = %s, want %s", s, got.Bytes(), w)
		}
	}
}
