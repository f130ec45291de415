package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// A JSON-schema-lite check of the Server's responses against the response
// schemas of GitHub's REST description: types, required properties, enums,
// nullability, $ref, allOf, oneOf/anyOf (any branch), arrays and nested
// objects. It keeps the fake honest about GitHub's wire format.

type testSpec struct {
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas   map[string]json.RawMessage `json:"schemas"`
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"components"`

	mu      sync.Mutex
	decoded map[string]map[string]any
}

var fullSpec struct {
	once sync.Once
	spec *testSpec
	err  error
}

func loadTestSpec(t testing.TB) *testSpec {
	t.Helper()
	file := fixturePath(t, OpenAPIFile)
	fullSpec.once.Do(func() {
		data, err := os.ReadFile(file)
		if err != nil {
			fullSpec.err = err
			return
		}
		sp := &testSpec{decoded: map[string]map[string]any{}}
		fullSpec.err = json.Unmarshal(data, sp)
		fullSpec.spec = sp
	})
	if fullSpec.err != nil {
		t.Fatal(fullSpec.err)
	}
	return fullSpec.spec
}

func (sp *testSpec) decode(key string, raw json.RawMessage) map[string]any {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if v, ok := sp.decoded[key]; ok {
		return v
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		panic(err)
	}
	sp.decoded[key] = v
	return v
}

func (sp *testSpec) resolve(s map[string]any) map[string]any {
	for {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		if name, ok := strings.CutPrefix(ref, "#/components/schemas/"); ok {
			s = sp.decode("schema:"+name, sp.Components.Schemas[name])
		} else if name, ok := strings.CutPrefix(ref, "#/components/responses/"); ok {
			s = sp.decode("response:"+name, sp.Components.Responses[name])
		} else {
			panic("unknown $ref " + ref)
		}
	}
}

// responseSchema returns the JSON schema of an operation's response with
// status, whether the status is described, and whether it has a JSON body.
func (sp *testSpec) responseSchema(method, template string, status int) (schema map[string]any, described bool) {
	op := sp.decode("op:"+method+" "+template, sp.Paths[template][strings.ToLower(method)])
	responses, _ := op["responses"].(map[string]any)
	r, ok := responses[strconv.Itoa(status)].(map[string]any)
	if !ok {
		return nil, false
	}
	r = sp.resolve(r)
	content, _ := r["content"].(map[string]any)
	js, _ := content["application/json"].(map[string]any)
	schema, _ = js["schema"].(map[string]any)
	return schema, true
}

func (sp *testSpec) validate(s map[string]any, v any, at string) []string {
	s = sp.resolve(s)
	if v == nil {
		if s["nullable"] == true || len(s) == 0 || typeAllows(s, "null") {
			return nil
		}
		// Nullable may sit on an allOf/oneOf/anyOf branch.
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			if bs, ok := s[k].([]any); ok {
				for _, b := range bs {
					if sp.validate(b.(map[string]any), nil, at) == nil {
						return nil
					}
				}
			}
		}
		return []string{at + ": null, but the schema is not nullable"}
	}
	var errs []string
	if all, ok := s["allOf"].([]any); ok {
		for _, b := range all {
			errs = append(errs, sp.validate(b.(map[string]any), v, at)...)
		}
	}
	for _, k := range []string{"oneOf", "anyOf"} {
		if bs, ok := s[k].([]any); ok {
			var first []string
			okAny := false
			for _, b := range bs {
				e := sp.validate(b.(map[string]any), v, at)
				if e == nil {
					okAny = true
					break
				}
				if first == nil {
					first = e
				}
			}
			if !okAny {
				errs = append(errs, fmt.Sprintf("%s: matches no %s branch (first: %v)", at, k, first))
			}
		}
	}
	switch t := v.(type) {
	case string:
		if !typeAllows(s, "string") {
			return append(errs, fmt.Sprintf("%s: string %q, want %v", at, t, s["type"]))
		}
		if enum, ok := s["enum"].([]any); ok {
			found := false
			for _, e := range enum {
				found = found || e == t
			}
			if !found {
				errs = append(errs, fmt.Sprintf("%s: %q not in %v", at, t, enum))
			}
		}
	case bool:
		if !typeAllows(s, "boolean") {
			errs = append(errs, fmt.Sprintf("%s: boolean, want %v", at, s["type"]))
		}
	case float64:
		if !typeAllows(s, "number") && !(typeAllows(s, "integer") && t == math.Trunc(t)) {
			errs = append(errs, fmt.Sprintf("%s: number %v, want %v", at, t, s["type"]))
		}
	case []any:
		if !typeAllows(s, "array") {
			return append(errs, fmt.Sprintf("%s: array, want %v", at, s["type"]))
		}
		if items, ok := s["items"].(map[string]any); ok {
			for i, e := range t {
				errs = append(errs, sp.validate(items, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case map[string]any:
		if !typeAllows(s, "object") {
			return append(errs, fmt.Sprintf("%s: object, want %v", at, s["type"]))
		}
		if req, ok := s["required"].([]any); ok {
			for _, k := range req {
				if _, ok := t[k.(string)]; !ok {
					errs = append(errs, fmt.Sprintf("%s: missing required %q", at, k))
				}
			}
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k].(map[string]any); ok {
				errs = append(errs, sp.validate(ps, t[k], at+"."+k)...)
			}
		}
	}
	return errs
}

// typeAllows reports whether the schema's type admits want (a schema
// without a type admits anything).
func typeAllows(s map[string]any, want string) bool {
	switch t := s["type"].(type) {
	case nil:
		return want != "null"
	case string:
		return t == want || t == "number" && want == "integer"
	case []any:
		for _, x := range t {
			if x == want {
				return true
			}
		}
	}
	return false
}

// validatingTransport checks every response from the Server against the
// description, failing the test on a mismatch.
type validatingTransport struct {
	t    *testing.T
	spec *testSpec
	api  *API
}

func (v validatingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		return resp, err
	}
	path := strings.TrimPrefix(req.URL.EscapedPath(), "/api/v3")
	m, err := v.api.Match(req.Method, path)
	if err != nil {
		return resp, nil // the Server records it as a violation
	}
	what := fmt.Sprintf("%s %s -> %d", req.Method, path, resp.StatusCode)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		v.t.Errorf("%s: Content-Type %q", what, ct)
	}
	schema, described := v.spec.responseSchema(req.Method, m.Template, resp.StatusCode)
	if !described {
		if resp.StatusCode < 300 {
			v.t.Errorf("%s: status not in the description of %s", what, m.OperationID)
		}
		return resp, nil
	}
	if schema == nil {
		if len(body) > 0 && resp.StatusCode < 300 {
			v.t.Errorf("%s: body where the description has none", what)
		}
		return resp, nil
	}
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		v.t.Errorf("%s: body is not JSON: %v", what, err)
		return resp, nil
	}
	for _, e := range v.spec.validate(schema, doc, "body") {
		v.t.Errorf("%s: %s", what, e)
	}
	return resp, nil
}

func TestValidatorCatchesMistakes(t *testing.T) {
	t.Parallel()
	sp := loadTestSpec(t)
	schema, ok := sp.responseSchema("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", 200)
	if !ok || schema == nil {
		t.Fatal("no schema for team membership")
	}
	if e := sp.validate(schema, map[string]any{"url": "u", "role": "member", "state": "active"}, "body"); e != nil {
		t.Errorf("valid body refused: %v", e)
	}
	e := sp.validate(schema, map[string]any{"url": "u", "role": "owner"}, "body")
	if len(e) != 2 {
		t.Errorf("want a missing state and a bad enum, got %v", e)
	}
}
