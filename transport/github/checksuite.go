package github

import (
	"fmt"

	gh "github.com/google/go-github/v62/github"

	"tekbot/bot"
)

// decodeCheckSuite turns GitHub's "Re-run all checks" and "Re-run failed
// checks" buttons (check_suite rerequested) into "/retest": the head
// commit's failed, timed-out or cancelled runs are rerun, the rest are
// left alone, whichever button was pressed (Pipelines-as-Code reruns
// everything for both, its #1227). Whoever pressed it must be allowed to
// /retest, as if they had commented it.
func (r *Receiver) decodeCheckSuite(e *gh.CheckSuiteEvent) (*delivery, string, error) {
	repo := e.GetRepo().GetFullName()
	suite := e.GetCheckSuite()
	switch {
	case e.GetAction() != "rerequested":
		return nil, "check suite " + e.GetAction(), nil
	case len(suite.PullRequests) == 0:
		return nil, "check suite is not on a pull request", nil
	case r.Config.Repository(repo) == nil:
		return nil, "repository " + repo + " is not configured", nil
	case r.isBot(e.GetSender()):
		return nil, "re-run by a bot", nil
	}
	return &delivery{
		// Each press updates the suite: a later press is a new request.
		key:  fmt.Sprintf("github-check-suite/%s/%d/rerequested/%s", repo, suite.GetID(), suite.GetUpdatedAt().UTC().Format("20060102T150405")),
		repo: repo, number: suite.PullRequests[0].GetNumber(), login: e.GetSender().GetLogin(),
		commands: []bot.Command{{Verb: "retest", Args: []string{}}},
	}, "", nil
}
