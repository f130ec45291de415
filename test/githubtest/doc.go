// Package githubtest is tekbot's test kit for everything GitHub: real webhook
// payloads, signed and delivered the way GitHub delivers them, and a fake
// GitHub REST server that only answers requests GitHub's own API description
// allows.
//
// The fixtures come from two npm packages that GitHub and the Octokit
// maintainers publish, installed once into a cache directory by fixtures.sh
// (see [FixturesDir]):
//
//   - @octokit/webhooks-examples 7.6.1: recorded example deliveries for every
//     webhook event (api.github.com/index.json). [Example] returns them as
//     they are; [PRComment] and [CheckRunRerequested] edit a real example only
//     where a test needs other values.
//   - @octokit/openapi 23.0.2: GitHub's REST description for api.github.com
//     (generated/api.github.com.json). [LoadAPI] turns its paths into a route
//     matcher; [Server] checks every request it receives against it.
//
// [Sign] and [WebhookRequest] produce the headers GitHub sends, so a handler
// under test verifies them with the same code it uses in production.
//
// [NewServer] starts an httptest server that speaks GitHub's REST wire format
// for the endpoints tekbot uses, keeps their state in memory, records every
// request, and fails the test at cleanup if tekbot sent a request that is not
// in GitHub's description or that the fake does not implement.
package githubtest
