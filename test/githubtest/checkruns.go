package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
)

// checkConclusions are the conclusions POST .../check-runs accepts.
var checkConclusions = []string{"action_required", "cancelled", "failure", "neutral", "success", "skipped", "stale", "timed_out"}

// createCheckRun creates a check run as GitHub does, refusing what GitHub
// refuses: no name or head_sha, an unknown status or conclusion, a
// completed run without a conclusion, an output without title and
// summary, and (stricter than GitHub's "should") action_required without
// the details_url people are sent to.
func (s *Server) createCheckRun(c *call) {
	var body struct {
		Name       string  `json:"name"`
		HeadSHA    string  `json:"head_sha"`
		Status     string  `json:"status"`
		Conclusion string  `json:"conclusion"`
		DetailsURL string  `json:"details_url"`
		ExternalID string  `json:"external_id"`
		Output     *output `json:"output"`
	}
	if json.Unmarshal(c.body, &body) != nil {
		badJSON(c)
		return
	}
	switch {
	case body.Name == "":
		validationFailed(c, "CheckRun", "name", "missing_field")
		return
	case len(body.HeadSHA) != 40:
		validationFailed(c, "CheckRun", "head_sha", "invalid")
		return
	case body.Status != "" && !slices.Contains([]string{"queued", "in_progress", "completed"}, body.Status):
		validationFailed(c, "CheckRun", "status", "invalid")
		return
	case body.Conclusion != "" && !slices.Contains(checkConclusions, body.Conclusion):
		validationFailed(c, "CheckRun", "conclusion", "invalid")
		return
	case body.Status == "completed" && body.Conclusion == "":
		validationFailed(c, "CheckRun", "conclusion", "missing_field")
		return
	case body.Output != nil && (body.Output.Title == "" || body.Output.Summary == ""):
		validationFailed(c, "CheckRun", "output", "missing_field")
		return
	case body.Conclusion == "action_required" && body.DetailsURL == "":
		validationFailed(c, "CheckRun", "details_url", "missing_field")
		return
	}
	if body.Conclusion != "" {
		body.Status = "completed"
	}
	if body.Status == "" {
		body.Status = "queued"
	}
	s.nextID++
	cr := CheckRun{
		ID: s.nextID, Name: body.Name, HeadSHA: body.HeadSHA, Status: body.Status, Conclusion: body.Conclusion,
		DetailsURL: body.DetailsURL, ExternalID: body.ExternalID,
	}
	if body.Output != nil {
		cr.Title, cr.Summary = body.Output.Title, body.Output.Summary
	}
	owner, repo := c.p["owner"], c.p["repo"]
	s.checkRuns[fmt.Sprintf("%s#%d", lower(owner+"/"+repo), cr.ID)] = cr
	// The answer is the run as GET would serve it, with 201 Created.
	answer := httptest.NewRecorder()
	s.getCheckRun(&call{w: answer, r: c.r, p: map[string]string{"owner": owner, "repo": repo, "check_run_id": strconv.FormatInt(cr.ID, 10)}, docURL: c.docURL})
	c.w.Header().Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(http.StatusCreated)
	_, _ = c.w.Write(answer.Body.Bytes())
}

type output struct {
	Title   string `json:"title"`
	Summary string `json:"summary"`
}

// CheckRuns returns the check runs on commit sha of owner/repo, oldest
// first: the last of a name is the one GitHub shows and branch protection
// reads.
func (s *Server) CheckRuns(owner, repo, sha string) []CheckRun {
	s.mu.Lock()
	defer s.mu.Unlock()
	prefix := lower(owner+"/"+repo) + "#"
	var out []CheckRun
	for k, cr := range s.checkRuns {
		if strings.HasPrefix(k, prefix) && cr.HeadSHA == sha {
			out = append(out, cr)
		}
	}
	slices.SortFunc(out, func(a, b CheckRun) int { return int(a.ID - b.ID) })
	return out
}

// LatestCheck returns the last check run named name on commit sha, as
// GitHub shows it, and whether there is one.
func (s *Server) LatestCheck(owner, repo, sha, name string) (CheckRun, bool) {
	runs := s.CheckRuns(owner, repo, sha)
	for i := len(runs) - 1; i >= 0; i-- {
		if runs[i].Name == name {
			return runs[i], true
		}
	}
	return CheckRun{}, false
}
