package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// FieldError is one problem in a config file.
type FieldError struct {
	Path string // e.g. github.repositories[0].cluster
	Line int    // 0 when unknown
	Msg  string
}

func (e FieldError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in a config file, in file order.
type Errors struct {
	File string
	List []FieldError
}

func (e *Errors) Error() string {
	lines := make([]string, 0, len(e.List)+1)
	lines = append(lines, fmt.Sprintf("%s: %d problem(s):", e.File, len(e.List)))
	for _, fe := range e.List {
		lines = append(lines, "  "+fe.Error())
	}
	return strings.Join(lines, "\n")
}

// Option adjusts loading.
type Option func(*loader)

// KnownVerbs lets validation check policy.allow against the command registry,
// which lives in package bot (config must not depend on it).
func KnownVerbs(verbs ...string) Option {
	return func(l *loader) { l.verbs = verbs }
}

type loader struct {
	verbs []string
}

// Load reads, decodes and validates the file at path. Relative file paths in
// it (kubeconfigs, secret files) are taken relative to the file's folder.
func Load(path string, opts ...Option) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	return Parse(data, path, opts...)
}

// Parse decodes and validates a config file's contents; name is used in
// errors and to resolve relative paths.
func Parse(data []byte, name string, opts ...Option) (*Config, error) {
	l := &loader{}
	for _, o := range opts {
		o(l)
	}
	errs := &Errors{File: name}

	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		errs.List = append(errs.List, FieldError{Line: lineOfYAMLError(err.Error()), Msg: stripLine(err.Error())})
		return nil, errs
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			errs.List = append(errs.List, FieldError{Line: lineOfYAMLError(err.Error()), Msg: stripLine(err.Error())})
			return nil, errs
		}
		for _, msg := range te.Errors {
			line := lineOfYAMLError(msg)
			errs.List = append(errs.List, FieldError{Line: line, Path: pathAtLine(&root, line), Msg: friendlyDecodeError(stripLine(msg))})
		}
	}

	cfg.applyDefaults()
	dir, err := filepath.Abs(filepath.Dir(name))
	if err != nil {
		return nil, fmt.Errorf("resolving config folder: %w", err)
	}
	cfg.resolvePaths(dir)
	v := &validator{cfg: &cfg, verbs: l.verbs, line: func(path string) int { return lineOfPath(&root, path) }}
	v.validate()
	for _, fe := range v.errs {
		fe.Line = lineOfPath(&root, fe.Path)
		errs.List = append(errs.List, fe)
	}
	if len(errs.List) > 0 {
		sort.SliceStable(errs.List, func(i, j int) bool { return errs.List[i].Line < errs.List[j].Line })
		return nil, errs
	}
	return &cfg, nil
}

var lineRE = regexp.MustCompile(`line (\d+): `)

func lineOfYAMLError(msg string) int {
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func stripLine(msg string) string {
	msg = strings.TrimPrefix(msg, "yaml: ")
	if loc := lineRE.FindStringIndex(msg); loc != nil {
		msg = msg[:loc[0]] + msg[loc[1]:]
	}
	return strings.TrimPrefix(msg, "yaml: ")
}

var unknownFieldRE = regexp.MustCompile(`^field (\S+) not found in type \S+$`)

func friendlyDecodeError(msg string) string {
	if m := unknownFieldRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("unknown field %q", m[1])
	}
	return msg
}

// pathAtLine names the deepest mapping key or sequence item on line, so that
// a decoder error (which knows only the line) points at a field.
func pathAtLine(root *yaml.Node, line int) string {
	var best string
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := joinPath(path, k.Value)
				if k.Line == line {
					best = p
				}
				walk(v, p)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				if c.Line == line && best == "" {
					best = p
				}
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return best
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

var segmentRE = regexp.MustCompile(`[^.\[\]]+|\[\d+\]`)

// lineOfPath finds the line of the node at a validator path such as
// github.repositories[1].cluster, falling back to the nearest parent.
func lineOfPath(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, seg := range segmentRE.FindAllString(path, -1) {
		var next *yaml.Node
		if strings.HasPrefix(seg, "[") {
			i, _ := strconv.Atoi(strings.Trim(seg, "[]"))
			if n.Kind == yaml.SequenceNode && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		} else if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}
