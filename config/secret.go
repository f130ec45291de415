package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret is a credential that lives outside the config file: in a file
// (typically a mounted Kubernetes Secret) or an environment variable. Its
// value is read only when needed and never printed: String and LogValue show
// where it comes from, not what it is.
type Secret struct {
	File string `yaml:"file"`
	Env  string `yaml:"env"`
}

var errInlineSecret = errors.New("secrets are never inline: write {file: /path} or {env: NAME}")

// UnmarshalYAML refuses a plain string so that nobody commits a token.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineError(n, errInlineSecret.Error())
	}
	// Node.Decode does not inherit the strict decoder's KnownFields, so
	// check the keys here: a typo like "fiel:" must not go unnoticed.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Value != "file" && k.Value != "env" {
			return lineError(k, fmt.Sprintf("unknown field %q (a secret has file or env)", k.Value))
		}
	}
	type plain Secret
	return n.Decode((*plain)(s))
}

// Value reads the secret. Errors name the source, never the content.
func (s *Secret) Value() (string, error) {
	switch {
	case s == nil:
		return "", errors.New("not configured")
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			// The path is configuration, not a secret; the error says why.
			return "", fmt.Errorf("reading secret file: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
		return v, nil
	case s.Env != "":
		v := strings.TrimSpace(os.Getenv(s.Env))
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	default:
		return "", errors.New("needs file or env")
	}
}

// String says where the secret comes from.
func (s *Secret) String() string {
	switch {
	case s == nil:
		return "(none)"
	case s.File != "":
		return "file " + s.File
	case s.Env != "":
		return "env " + s.Env
	default:
		return "(empty)"
	}
}

// LogValue keeps a secret's value out of structured logs.
func (s *Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// lineError reports a problem at a node without aborting the decode, so the
// decoder goes on to find the file's other problems.
func lineError(n *yaml.Node, msg string) error {
	return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %s", n.Line, msg)}}
}

func (s *Secret) check() error {
	if s.File != "" && s.Env != "" {
		return errors.New("set file or env, not both")
	}
	_, err := s.Value()
	return err
}
