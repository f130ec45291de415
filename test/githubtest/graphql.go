package githubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
)

// GraphQLSchemaFile is GitHub's published GraphQL schema inside the
// directory [FixturesDir] returns.
const GraphQLSchemaFile = "node_modules/@octokit/graphql-schema/schema.graphql"

var schemaOnce struct {
	once   sync.Once
	schema *ast.Schema
	err    error
}

// LoadGraphQLSchema parses GitHub's GraphQL schema (@octokit/graphql-schema)
// once per process.
func LoadGraphQLSchema(tb testing.TB) *ast.Schema {
	tb.Helper()
	file := fixturePath(tb, GraphQLSchemaFile)
	schemaOnce.once.Do(func() {
		data, err := os.ReadFile(file)
		if err != nil {
			schemaOnce.err = err
			return
		}
		schemaOnce.schema, schemaOnce.err = parseGraphQLSchema(string(data))
	})
	if schemaOnce.err != nil {
		tb.Fatalf("githubtest: loading GitHub's GraphQL schema: %v", schemaOnce.err)
	}
	return schemaOnce.schema
}

// parseGraphQLSchema parses and validates a schema. GitHub's published
// schema defines a few fields twice, identically (e.g.
// EnterpriseOwnerInfo.repositoryDeployKeySetting); the first definition is
// kept, as GitHub's own tools do, and any other conflict is an error.
func parseGraphQLSchema(text string) (*ast.Schema, error) {
	sd, err := parser.ParseSchemas(validator.Prelude, &ast.Source{Name: GraphQLSchemaFile, Input: text})
	if err != nil {
		return nil, err
	}
	for _, def := range append(sd.Definitions, sd.Extensions...) {
		seen := map[string]*ast.FieldDefinition{}
		kept := def.Fields[:0]
		for _, f := range def.Fields {
			if first := seen[f.Name]; first != nil {
				if first.Type.String() != f.Type.String() || len(first.Arguments) != len(f.Arguments) {
					return nil, fmt.Errorf("%s.%s is defined twice, differently", def.Name, f.Name)
				}
				continue
			}
			seen[f.Name] = f
			kept = append(kept, f)
		}
		def.Fields = kept
	}
	return validator.ValidateSchemaDocument(sd)
}

// QueueCall is one merge queue mutation the Server received.
type QueueCall struct {
	Mutation string // "enqueuePullRequest" or "dequeuePullRequest"
	Number   int
	// ExpectedHeadOid is what an enqueue pinned ("" if nothing).
	ExpectedHeadOid string
}

// serveGraphQL answers POST /graphql as GitHub does: a document that is
// not valid against GitHub's schema (or variables that do not fit it) is
// answered with GraphQL errors and recorded as a violation, which fails
// the test. Valid documents are served for the fields implemented here:
//
//	query    repository(owner, name) { pullRequest(number) { id number state
//	         headRefOid isInMergeQueue isMergeQueueEnabled labels(first) { nodes { name } } } }
//	query    repository(owner, name) { pullRequests(states: [OPEN], first) { nodes { …the same } } }
//	mutation enqueuePullRequest(input: {pullRequestId, expectedHeadOid})
//	mutation dequeuePullRequest(input: {id})
//
// Any other field is answered with an error and recorded as unimplemented.
// It is called with s.mu held and reports what the request was.
func (s *Server) serveGraphQL(w http.ResponseWriter, body []byte) (violation, unimplemented string) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		writeGraphQL(w, http.StatusBadRequest, map[string]any{"message": "Problems parsing JSON"})
		return "body is not JSON", ""
	}
	doc, errs := gqlparser.LoadQueryWithRules(s.graphQL, req.Query, nil) // nil: the default rules
	if len(errs) > 0 {
		writeGraphQLErrors(w, errs.Error())
		return "not valid against GitHub's GraphQL schema: " + errs.Error(), ""
	}
	if len(doc.Operations) != 1 {
		writeGraphQLErrors(w, "one operation per request")
		return "", "more than one operation"
	}
	op := doc.Operations[0]
	vars, err := validator.VariableValues(s.graphQL, op, req.Variables)
	if err != nil {
		writeGraphQLErrors(w, err.Error())
		return "variables not valid against GitHub's GraphQL schema: " + err.Error(), ""
	}
	data := map[string]any{}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			writeGraphQLErrors(w, "githubtest: fragments at the top are not implemented")
			return "", "fragment at the top level"
		}
		v, errText := s.resolveRoot(op.Operation, f, f.ArgumentMap(vars))
		if errText != "" {
			writeGraphQLErrors(w, errText)
			if strings.HasPrefix(errText, "githubtest:") {
				return "", errText
			}
			return "", ""
		}
		data[f.Alias] = project(f.SelectionSet, v, vars)
	}
	writeGraphQL(w, http.StatusOK, map[string]any{"data": data})
	return "", ""
}

func writeGraphQLErrors(w http.ResponseWriter, msg string) {
	writeGraphQL(w, http.StatusOK, map[string]any{"data": nil, "errors": []any{map[string]any{"message": msg}}})
}

// writeGraphQL writes a GraphQL answer: plain maps, whose key order
// GraphQL clients do not depend on (writeJSON keeps REST's order).
func writeGraphQL(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// resolveRoot returns a top-level field's value as nested maps, or an
// error in GitHub's words ("githubtest: …" when not implemented).
func (s *Server) resolveRoot(op ast.Operation, f *ast.Field, args map[string]any) (map[string]any, string) {
	switch {
	case op == ast.Query && f.Name == "repository":
		owner, _ := args["owner"].(string)
		name, _ := args["name"].(string)
		return map[string]any{
			"pullRequest": func(a map[string]any) any {
				pr, ok := s.pulls[issueKey(owner, name, intArg(a["number"]))]
				if !ok {
					return nil
				}
				return s.graphQLPull(owner, name, pr)
			},
			// pullRequests(states: [OPEN], first: n): the open ones, by number.
			"pullRequests": func(a map[string]any) any {
				var open []PullRequest
				for k, pr := range s.pulls {
					if strings.HasPrefix(k, lower(owner+"/"+name)+"#") && pr.State != "closed" && !pr.Merged {
						open = append(open, pr)
					}
				}
				slices.SortFunc(open, func(a, b PullRequest) int { return a.Number - b.Number })
				nodes := []any{}
				for _, pr := range open[:min(len(open), intArg(a["first"]))] {
					nodes = append(nodes, s.graphQLPull(owner, name, pr))
				}
				return map[string]any{"nodes": nodes}
			},
		}, ""
	case op == ast.Mutation && (f.Name == "enqueuePullRequest" || f.Name == "dequeuePullRequest"):
		input, _ := args["input"].(map[string]any)
		id, _ := input["pullRequestId"].(string)
		if f.Name == "dequeuePullRequest" {
			id, _ = input["id"].(string)
		}
		k, pr, ok := s.pullByNodeID(id)
		if !ok {
			return nil, fmt.Sprintf("Could not resolve to a node with the global id of '%s'", id)
		}
		expected, _ := input["expectedHeadOid"].(string)
		s.queueCalls = append(s.queueCalls, QueueCall{Mutation: f.Name, Number: pr.Number, ExpectedHeadOid: expected})
		owner, repo, _ := strings.Cut(strings.SplitN(k, "#", 2)[0], "/")
		head := s.pullHead(owner, repo, pr)
		switch {
		case f.Name == "dequeuePullRequest" && !pr.InMergeQueue:
			return nil, "Pull request is not in the merge queue"
		case f.Name == "enqueuePullRequest" && !pr.MergeQueue:
			return nil, "Pull request's base branch does not have a merge queue"
		case f.Name == "enqueuePullRequest" && expected != "" && expected != head:
			return nil, "Head sha didn't match expected head sha"
		}
		pr.InMergeQueue = f.Name == "enqueuePullRequest"
		s.pulls[k] = pr
		entry := map[string]any{"id": nodeID("015:MergeQueueEntry", fakeID(k)), "position": 1, "state": "QUEUED"}
		return map[string]any{"mergeQueueEntry": entry, "clientMutationId": nil}, ""
	}
	return nil, "githubtest: " + string(op) + " field " + f.Name + " is not implemented"
}

// graphQLPull is a PR as GraphQL shows the fields implemented.
func (s *Server) graphQLPull(owner, repo string, pr PullRequest) map[string]any {
	state := "OPEN"
	switch {
	case pr.Merged:
		state = "MERGED"
	case pr.State == "closed":
		state = "CLOSED"
	}
	labels := []any{}
	for _, l := range s.labels[issueKey(owner, repo, pr.Number)] {
		labels = append(labels, map[string]any{"name": l})
	}
	return map[string]any{
		"id":                  pullNodeID(owner, repo, pr.Number),
		"number":              pr.Number,
		"state":               state,
		"headRefOid":          s.pullHead(owner, repo, pr),
		"isInMergeQueue":      pr.InMergeQueue,
		"isMergeQueueEnabled": pr.MergeQueue,
		"labels":              map[string]any{"nodes": labels},
	}
}

// intArg reads an Int argument, written inline or coerced from JSON.
func intArg(v any) int {
	switch n := v.(type) {
	case int64:
		return int(n)
	case int:
		return n
	case float64:
		return int(n)
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	}
	return 0
}

func pullNodeID(owner, repo string, number int) string {
	return nodeID("011:PullRequest", fakeID(fmt.Sprintf("pr:%s#%d", lower(owner+"/"+repo), number)))
}

func (s *Server) pullHead(owner, repo string, pr PullRequest) string {
	if pr.HeadSHA != "" {
		return pr.HeadSHA
	}
	return fakeSHA(fmt.Sprintf("%s#%d head", lower(owner+"/"+repo), pr.Number))
}

func (s *Server) pullByNodeID(id string) (string, PullRequest, bool) {
	for k, pr := range s.pulls {
		owner, repo, _ := strings.Cut(strings.SplitN(k, "#", 2)[0], "/")
		if pullNodeID(owner, repo, pr.Number) == id {
			return k, pr, true
		}
	}
	return "", PullRequest{}, false
}

// project keeps of v what the selection asks for, under the names (or
// aliases) it asks them by. A value that is a func takes the field's
// arguments (a field with arguments, such as pullRequest(number)).
func project(sel ast.SelectionSet, v any, vars map[string]any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = project(sel, e, vars)
		}
		return out
	case map[string]any:
		if len(sel) == 0 {
			return v
		}
		out := map[string]any{}
		for _, s := range sel {
			f, ok := s.(*ast.Field)
			if !ok {
				continue
			}
			val := v[f.Name]
			if fn, ok := val.(func(map[string]any) any); ok {
				val = fn(f.ArgumentMap(vars))
			}
			out[f.Alias] = project(f.SelectionSet, val, vars)
		}
		return out
	}
	return v
}

// QueueCalls returns the merge queue mutations received so far, in order.
func (s *Server) QueueCalls() []QueueCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]QueueCall(nil), s.queueCalls...)
}
