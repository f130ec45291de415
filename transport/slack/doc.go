// Package slack is tekbot's Slack transport: the /tekton slash command,
// app mentions and confirm-button clicks, received over HTTP (verified with
// the signing secret) or Socket Mode, with the same functions behind both.
// It answers Slack within its three seconds and runs commands in the
// worker pool; its Poster sends every message, paced per channel, retried
// on 429 and 5xx, and counted when it cannot be delivered.
package slack
