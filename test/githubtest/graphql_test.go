package githubtest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestGraphQLIsCheckedAgainstGitHubsSchema: a document or variables that
// GitHub's published schema rejects are violations; valid ones are served,
// and an enqueue GitHub would refuse (stale head, no queue) is refused.
func TestGraphQLIsCheckedAgainstGitHubsSchema(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	head := strings.Repeat("ab", 20)
	s.SetPullRequest(owner, repo, PullRequest{Number: 1, HeadSHA: head, MergeQueue: true, Labels: []string{"lgtm"}})
	s.SetPullRequest(owner, repo, PullRequest{Number: 2, HeadSHA: head})
	post := func(query string, vars map[string]any) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		resp, err := http.Post(s.URL()+"graphql", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return out
	}
	const state = `query($o:String!,$n:String!,$num:Int!){repository(owner:$o,name:$n){pullRequest(number:$num){id headRefOid isMergeQueueEnabled isInMergeQueue labels(first:10){nodes{name}}}}}`
	got := post(state, map[string]any{"o": owner, "n": repo, "num": 1})
	pr := got["data"].(map[string]any)["repository"].(map[string]any)["pullRequest"].(map[string]any)
	if pr["headRefOid"] != head || pr["isMergeQueueEnabled"] != true || pr["isInMergeQueue"] != false {
		t.Fatalf("state: %v", got)
	}
	id := pr["id"].(string)
	const enqueue = `mutation($input:EnqueuePullRequestInput!){enqueuePullRequest(input:$input){mergeQueueEntry{id}}}`
	refused := []struct {
		name  string
		vars  map[string]any
		error string
	}{
		{"stale head", map[string]any{"input": map[string]any{"pullRequestId": id, "expectedHeadOid": strings.Repeat("cd", 20)}}, "expected head"},
	}
	for _, tt := range refused {
		if out := post(enqueue, tt.vars); out["errors"] == nil || !strings.Contains(strings.ToLower(out["errors"].([]any)[0].(map[string]any)["message"].(string)), tt.error) {
			t.Errorf("%s: %v", tt.name, out)
		}
	}
	if out := post(enqueue, map[string]any{"input": map[string]any{"pullRequestId": id, "expectedHeadOid": head}}); out["errors"] != nil {
		t.Fatalf("enqueue: %v", out)
	}
	if calls := s.QueueCalls(); len(calls) != 2 || calls[1] != (QueueCall{Mutation: "enqueuePullRequest", Number: 1, ExpectedHeadOid: head}) {
		t.Errorf("queue calls %+v", calls)
	}
	if len(s.Violations()) != 0 {
		t.Fatalf("valid documents were violations: %v", s.Violations())
	}
	invalid := []struct {
		query string
		vars  map[string]any
	}{
		{`query{repository(owner:"a",name:"b"){pullRequest(number:1){isQueued}}}`, nil},          // no such field
		{`mutation($input:EnqueuePullRequestInput!){enqueuePullRequest(input:$input){id}}`, nil}, // no such field, variable missing
		{enqueue, map[string]any{"input": map[string]any{"expectedHeadOid": head}}},              // pullRequestId is required
	}
	for _, tt := range invalid {
		if out := post(tt.query, tt.vars); out["errors"] == nil {
			t.Errorf("%s: answered %v", tt.query, out)
		}
	}
	if n := len(s.Violations()); n != len(invalid) {
		t.Errorf("%d violations recorded, want %d: %v", n, len(invalid), s.Violations())
	}
	s.ForgiveViolations()
}
