package main

import "testing"

// TestSandboxHold: /hold, a stranger's /unhold, the holder's, and labels,
// from the terminal: the PR shows the label and the tekbot/hold check.
func TestSandboxHold(t *testing.T) {
	t.Parallel()
	s := startSandbox(t, "--data", t.TempDir())
	s.send("/hold waiting on #12")
	s.waitFor(`This PR is held: held by @afrittoli on .*, because: waiting on #12`)
	s.send("label lgtm")
	s.send("pr")
	s.waitForAll(`labels: do-not-merge/hold, lgtm`, `check tekbot/hold on 4f2b9c1: action_required, Held by @afrittoli`)
	s.send("as sam")
	s.send("/unhold")
	s.waitFor(`you may not lift this hold. Who may: @afrittoli \(who held it\)`)
	s.send("as andrea")
	s.send("/unhold")
	s.waitFor(`The hold is lifted.`)
	s.send("unlabel lgtm")
	s.send("pr")
	s.waitForAll(`labels: none`, `check tekbot/hold on 4f2b9c1: success, Not held`)
	s.send("quit")
}
