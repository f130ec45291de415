package githubtest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// API is GitHub's REST description reduced to what a router needs: every
// path template with its methods and how its parameters match. It is safe
// for concurrent use.
type API struct {
	root   *node
	routes map[string]*route // by template
}

// Match is a request resolved against the description.
type Match struct {
	Method      string            // upper case, e.g. "POST"
	Template    string            // e.g. "/repos/{owner}/{repo}/issues/{issue_number}/comments"
	OperationID string            // e.g. "issues/create-comment"
	Params      map[string]string // path parameters, unescaped
}

type route struct {
	template string
	methods  map[string]string // method -> operationId
}

type segment struct {
	lit     string         // a literal segment, if param == "" and re == nil
	param   string         // a parameter filling the whole segment
	multi   bool           // the parameter may span several segments (x-multi-segment)
	integer bool           // the parameter's schema is an integer
	re      *regexp.Regexp // a segment mixing literals and parameters, e.g. {base}...{head}
	names   []string       // re's parameters, in order
}

type node struct {
	lit    map[string]*node
	params []*edge
	route  *route
}

type edge struct {
	seg   segment
	child *node
}

// An operation as the loader hands it to newAPI.
type operation struct {
	template, method, id string
	multi, integer       map[string]bool // by parameter name
}

var (
	methods   = []string{"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"}
	paramName = regexp.MustCompile(`\{([^}]+)\}`)
)

func newAPI(ops []operation) (*API, error) {
	a := &API{root: &node{}, routes: map[string]*route{}}
	for _, op := range ops {
		r := a.routes[op.template]
		if r == nil {
			n := a.root
			for _, s := range splitPath(op.template) {
				seg, err := parseSegment(s, op)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", op.template, err)
				}
				n = n.child(seg)
			}
			if n.route == nil {
				n.route = &route{template: op.template, methods: map[string]string{}}
			}
			r = n.route
			a.routes[op.template] = r
		}
		r.methods[strings.ToUpper(op.method)] = op.id
	}
	return a, nil
}

func parseSegment(s string, op operation) (segment, error) {
	names := paramName.FindAllStringSubmatch(s, -1)
	switch {
	case len(names) == 0:
		return segment{lit: s}, nil
	case len(names) == 1 && names[0][0] == s:
		n := names[0][1]
		return segment{param: n, multi: op.multi[n], integer: op.integer[n]}, nil
	}
	// Literals and parameters mixed in one segment: each parameter takes
	// at least one character, the shortest that lets the rest match.
	var re strings.Builder
	var ns []string
	re.WriteString("^")
	rest := s
	for _, m := range names {
		i := strings.Index(rest, m[0])
		re.WriteString(regexp.QuoteMeta(rest[:i]))
		re.WriteString("(.+?)")
		ns = append(ns, m[1])
		rest = rest[i+len(m[0]):]
	}
	re.WriteString(regexp.QuoteMeta(rest))
	re.WriteString("$")
	// The last group may be greedy: anchoring makes it the rest.
	return segment{re: regexp.MustCompile(re.String()), names: ns}, nil
}

func (n *node) child(seg segment) *node {
	if seg.param == "" && seg.re == nil {
		if n.lit == nil {
			n.lit = map[string]*node{}
		}
		c := n.lit[seg.lit]
		if c == nil {
			c = &node{}
			n.lit[seg.lit] = c
		}
		return c
	}
	for _, e := range n.params {
		if e.seg.param == seg.param && e.seg.multi == seg.multi && e.seg.integer == seg.integer &&
			(e.seg.re == nil) == (seg.re == nil) && (seg.re == nil || e.seg.re.String() == seg.re.String()) {
			return e.child
		}
	}
	e := &edge{seg: seg, child: &node{}}
	n.params = append(n.params, e)
	// Try the narrowest first: integers, then other single segments, then
	// mixed segments, then multi-segment parameters.
	sort.SliceStable(n.params, func(i, j int) bool { return rank(n.params[i].seg) < rank(n.params[j].seg) })
	return e.child
}

func rank(s segment) int {
	switch {
	case s.integer:
		return 0
	case s.re != nil:
		return 2
	case s.multi:
		return 3
	}
	return 1
}

func splitPath(p string) []string {
	p = strings.TrimPrefix(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// Match resolves a request: method and escaped path (r.URL.EscapedPath(),
// without any query). Where several templates fit, the most specific wins:
// at each segment a literal beats a parameter, and a multi-segment
// parameter takes as few segments as it can. The error says whether no
// template fits the path or none of those that do has the method.
func (a *API) Match(method, escapedPath string) (Match, error) {
	method = strings.ToUpper(method)
	raw := splitPath(escapedPath)
	segs := make([]string, len(raw))
	for i, s := range raw {
		u, err := url.PathUnescape(s)
		if err != nil {
			return Match{}, fmt.Errorf("%s %s: bad escape in path: %v", method, escapedPath, err)
		}
		segs[i] = u
	}
	var pathOnly []string // templates that fit the path but lack the method
	params := map[string]string{}
	var found *route
	var search func(n *node, i int) bool
	search = func(n *node, i int) bool {
		if i == len(segs) {
			if n.route == nil {
				return false
			}
			if _, ok := n.route.methods[method]; ok {
				found = n.route
				return true
			}
			pathOnly = append(pathOnly, n.route.template)
			return false
		}
		if c := n.lit[segs[i]]; c != nil && search(c, i+1) {
			return true
		}
		for _, e := range n.params {
			s := e.seg
			if segs[i] == "" {
				break // parameters are never empty
			}
			switch {
			case s.re != nil:
				m := s.re.FindStringSubmatch(segs[i])
				if m == nil {
					continue
				}
				for k, name := range s.names {
					params[name] = m[k+1]
				}
				if search(e.child, i+1) {
					return true
				}
				for _, name := range s.names {
					delete(params, name)
				}
			case s.multi:
				for j := i + 1; j <= len(segs); j++ {
					if segs[j-1] == "" {
						break
					}
					params[s.param] = strings.Join(segs[i:j], "/")
					if search(e.child, j) {
						return true
					}
				}
				delete(params, s.param)
			default:
				if s.integer && !digits.MatchString(segs[i]) {
					continue
				}
				params[s.param] = segs[i]
				if search(e.child, i+1) {
					return true
				}
				delete(params, s.param)
			}
		}
		return false
	}
	if search(a.root, 0) {
		return Match{Method: method, Template: found.template, OperationID: found.methods[method], Params: params}, nil
	}
	if len(pathOnly) > 0 {
		r := a.routes[pathOnly[0]]
		var ms []string
		for m := range r.methods {
			ms = append(ms, m)
		}
		sort.Strings(ms)
		return Match{}, fmt.Errorf("%s %s: GitHub's REST description has %s only with %s", method, escapedPath, r.template, strings.Join(ms, ", "))
	}
	return Match{}, fmt.Errorf("%s %s: no path in GitHub's REST description matches", method, escapedPath)
}

// Has reports whether the description has the operation method template,
// e.g. ("POST", "/repos/{owner}/{repo}/issues/{issue_number}/labels").
func (a *API) Has(method, template string) bool {
	r := a.routes[template]
	if r == nil {
		return false
	}
	_, ok := r.methods[strings.ToUpper(method)]
	return ok
}

// Operations returns the number of operations (method and path) described.
func (a *API) Operations() int {
	n := 0
	for _, r := range a.routes {
		n += len(r.methods)
	}
	return n
}

// The subset of an OpenAPI document the loader decodes: encoding/json skips
// everything else (descriptions, schemas, examples) without building it.
type specParam struct {
	Ref          string `json:"$ref"`
	Name         string `json:"name"`
	In           string `json:"in"`
	MultiSegment bool   `json:"x-multi-segment"`
	Schema       struct {
		Type string `json:"type"`
	} `json:"schema"`
}

type specOp struct {
	OperationID string      `json:"operationId"`
	Parameters  []specParam `json:"parameters"`
}

type specPathItem struct {
	Parameters []specParam `json:"parameters"`
	Get        *specOp     `json:"get"`
	Put        *specOp     `json:"put"`
	Post       *specOp     `json:"post"`
	Delete     *specOp     `json:"delete"`
	Patch      *specOp     `json:"patch"`
	Head       *specOp     `json:"head"`
	Options    *specOp     `json:"options"`
	Trace      *specOp     `json:"trace"`
}

type specDoc struct {
	Paths      map[string]specPathItem `json:"paths"`
	Components struct {
		Parameters map[string]specParam `json:"parameters"`
	} `json:"components"`
}

func parseSpec(data []byte) (*API, error) {
	var doc specDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if len(doc.Paths) == 0 {
		return nil, fmt.Errorf("no paths")
	}
	resolve := func(p specParam) specParam {
		if name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/"); ok {
			return doc.Components.Parameters[name]
		}
		return p
	}
	var ops []operation
	for tmpl, item := range doc.Paths {
		for i, op := range []*specOp{item.Get, item.Put, item.Post, item.Delete, item.Patch, item.Head, item.Options, item.Trace} {
			if op == nil {
				continue
			}
			o := operation{template: tmpl, method: methods[i], id: op.OperationID, multi: map[string]bool{}, integer: map[string]bool{}}
			for _, p := range append(append([]specParam{}, item.Parameters...), op.Parameters...) {
				p = resolve(p)
				if p.In != "path" {
					continue
				}
				o.multi[p.Name] = o.multi[p.Name] || p.MultiSegment
				o.integer[p.Name] = p.Schema.Type == "integer"
			}
			ops = append(ops, o)
		}
	}
	// One template may be described with different parameter details per
	// method; the route tree is per template, so merge them (a parameter is
	// multi-segment if any operation says so, integer only if all do).
	byTmpl := map[string]operation{}
	for _, o := range ops {
		m, ok := byTmpl[o.template]
		if !ok {
			byTmpl[o.template] = operation{template: o.template, multi: o.multi, integer: o.integer}
			continue
		}
		for n, v := range o.multi {
			m.multi[n] = m.multi[n] || v
		}
		for n, v := range o.integer {
			m.integer[n] = m.integer[n] && v
		}
	}
	for i := range ops {
		m := byTmpl[ops[i].template]
		ops[i].multi, ops[i].integer = m.multi, m.integer
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].template < ops[j].template })
	return newAPI(ops)
}

var apiOnce struct {
	once sync.Once
	api  *API
	err  error
}

// LoadAPI returns the route matcher for @octokit/openapi's
// generated/api.github.com.json, built once per process (decoding only the
// paths, their methods and their path parameters).
func LoadAPI(tb testing.TB) *API {
	tb.Helper()
	file := fixturePath(tb, OpenAPIFile)
	apiOnce.once.Do(func() {
		data, err := os.ReadFile(file)
		if err != nil {
			apiOnce.err = err
			return
		}
		apiOnce.api, apiOnce.err = parseSpec(data)
		if apiOnce.err != nil {
			apiOnce.err = fmt.Errorf("%s: %w", file, apiOnce.err)
		}
	})
	if apiOnce.err != nil {
		tb.Fatalf("githubtest: loading GitHub's REST description: %v", apiOnce.err)
	}
	return apiOnce.api
}
