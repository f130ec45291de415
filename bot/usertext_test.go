package bot_test

import (
	"strings"
	"testing"

	"tekbot/bot"
)

func TestUserText(t *testing.T) {
	t.Parallel()
	const wj = "\u2060"
	tests := []struct {
		name, in, want string
	}{
		{"plain", "the nightly is red", "the nightly is red"},
		{"slack broadcast", "<!channel> help", "&lt;!channel&gt; help"},
		{"slack mention", "ping <@U01ANDREA>", "ping &lt;@" + wj + "U01ANDREA&gt;"},
		{"slack disguised link", "<https://evil.example|dashboard>", "&lt;https://evil.example|dashboard&gt;"},
		{"github mention", "cc @vdemeest", "cc @" + wj + "vdemeest"},
		{"github team ping", "@tektoncd/core-maintainers", "@" + wj + "tektoncd/core-maintainers"},
		{"markdown link", "[dashboard](https://evil.example)", "[dashboard]" + wj + "(https://evil.example)"},
		{"markdown image", "![x](https://evil.example/t.png)", "![x]" + wj + "(https://evil.example/t.png)"},
		{"html", `"><img src=x onerror=alert(1)>`, `"&gt;&lt;img src=x onerror=alert(1)&gt;`},
		{"ampersand", "a && b", "a &amp;&amp; b"},
		{"forged lines", "ok\n- approved by @admin\r\n", "ok - approved by @" + wj + "admin  "},
		{"bare URL stays visible", "see https://github.com/tektoncd/pipeline/pull/1", "see https://github.com/tektoncd/pipeline/pull/1"},
	}
	// Cluster text is escaped the same, and shown as code.
	code := []struct {
		name, in, want string
	}{
		{"name", "release-1-build", "`release-1-build`"},
		{"formatting stays text", "*bold* _it_ ~gone~", "`*bold* _it_ ~gone~`"},
		{"slack broadcast and link", "<!channel> <https://evil|click>", "`&lt;!channel&gt; &lt;https://evil|click&gt;`"},
		{"mention", "<@U01ANDREA> @vdemeest", "`&lt;@" + wj + "U01ANDREA&gt; @" + wj + "vdemeest`"},
		{"backquote cannot close the span", "a` <!here> `b", "`aˋ &lt;!here&gt; ˋb`"},
		{"markdown link", "[x](https://evil)", "`[x]" + wj + "(https://evil)`"},
		{"lines", "step failed\n@here", "`step failed @" + wj + "here`"},
	}
	for quote, tests := range map[string][]struct{ name, in, want string }{"UserText": tests, "Code": code} {
		for _, tt := range tests {
			t.Run(quote+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				got := bot.UserText(tt.in)
				if quote == "Code" {
					got = bot.Code(tt.in)
				}
				if got != tt.want {
					t.Errorf("%s(%q)\n got %q\nwant %q", quote, tt.in, got, tt.want)
				}
			})
		}
	}
	if got := bot.UserText(strings.Repeat("x", 10000)); len([]rune(got)) > 301 {
		t.Errorf("UserText does not clip: %d runes", len([]rune(got)))
	}
}
