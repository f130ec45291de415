package config

// Triage configures failure triage: the log excerpt that /why and the
// captain's failure alerts show.
type Triage struct {
	// Secrets is how the excerpt is redacted: TriageRead (the default)
	// reads the value of every Secret the failed run could read and
	// replaces it, which takes `get` on Secrets in the runs' namespaces
	// (config/deploy/rbac-triage.yaml); TriageShapes grants no right on
	// Secrets and replaces only well-known credential shapes, so a
	// Secret of another shape printed in a log is posted as it is.
	Secrets string `yaml:"secrets"`
}

// The values of triage.secrets.
const (
	TriageRead   = "read"
	TriageShapes = "shapes"
)

func (c *Config) triageDefaults() {
	if c.Triage.Secrets == "" {
		c.Triage.Secrets = TriageRead
	}
}

func (v *validator) triage() {
	switch v.cfg.Triage.Secrets {
	case TriageRead, TriageShapes:
	default:
		v.add("triage.secrets", "must be %q or %q, not %q", TriageRead, TriageShapes, v.cfg.Triage.Secrets)
	}
}
