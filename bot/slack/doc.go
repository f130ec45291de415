// Package slack is tekbot's Slack transport: the /tekton slash command,
// app mentions and button clicks, over HTTP and Socket Mode, with the same
// handlers behind both.
package slack

import _ "github.com/slack-go/slack" // pinned at v0.35.0 by go.mod
