package main

import (
	"strings"
	"testing"
)

// TestConfigCheckSummarySaysWhoMayPage: the summary's policy lines come
// from the Specs the handlers ask the Policy about, so a verb that gates
// part of what it does (paging, marking days off, /why on a PR) is not shown as open to
// everyone, and policy.allow changes what the summary says as it changes
// who may. It also shows the triage mode.
func TestConfigCheckSummarySaysWhoMayPage(t *testing.T) {
	t.Parallel()
	const promote = "    promote: [release-managers]\n"
	tests := []struct {
		name, from, to string
		want           []string
	}{
		{"defaults", promote, promote, []string{
			"  page         page: maintainers, repo-writers (default); page urgent: maintainers (default); the rest: everyone\n",
			"  captain      captain off: maintainers (default); the rest: everyone\n",
			"  status       everyone (read-only)\n",
			// /why's public reply on a PR holds log lines: whoever may /retest.
			"  why          why on a PR: repo-writers, maintainers, trusted-authors (default); the rest: everyone\n",
			"triage: secrets read (every reachable Secret's value and credential shapes redacted)\n",
		}},
		{"policy.allow.why", promote, promote + "    why: [maintainers]\n", []string{
			"  why          why on a PR: maintainers; the rest: everyone\n",
		}},
		{"triage.secrets shapes", "  secrets: read\n", "  secrets: shapes\n", []string{
			"triage: secrets shapes (credential shapes redacted, no Secret read)\n",
		}},
		{"policy.allow", promote, promote + "    page: [release-managers]\n    captain: [release-managers]\n", []string{
			"  page         page: release-managers; page urgent: release-managers; the rest: everyone\n",
			"  captain      captain off: release-managers; the rest: everyone\n",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runCLI(t, "", "config", "check", "-f", exampleWith(t, tt.from, tt.to))
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("the summary lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
