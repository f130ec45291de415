package config

import (
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"
)

// UnmarshalYAML reads a Go duration string such as "15m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return lineError(n, "not a duration (like 90s or 15m)")
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return lineError(n, fmt.Sprintf("not a duration (like 90s or 15m): %q", s))
	}
	if v < 0 {
		return lineError(n, fmt.Sprintf("must not be negative: %q", s))
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the duration back as a string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }
