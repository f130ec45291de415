package bot_test

import (
	"testing"

	"tekbot/bot"
)

func TestLink(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, url, want string }{
		{"unit-1", "https://dash.example/#/namespaces/ci/pipelineruns/unit-1", "[unit-1](https://dash.example/#/namespaces/ci/pipelineruns/unit-1)"},
		{"unit-1", "", "`unit-1`"},
	} {
		if got := bot.Link(tt.name, tt.url); got != tt.want {
			t.Errorf("Link(%q, %q) = %q, want %q", tt.name, tt.url, got, tt.want)
		}
	}
}
