package main

import (
	"cmp"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
)

// loadConfig loads a config file, checking policy verbs against the
// registry.
func loadConfig(path string) (*config.Config, error) {
	verbs := handlers.NewRegistry(&handlers.Deps{}).Verbs()
	return config.Load(path, config.KnownVerbs(verbs...))
}

func configCheckCommand(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("config check", "config check -f tekbot.yaml", stderr)
	file := fs.String("f", "tekbot.yaml", "config file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(*file)
	var errs *config.Errors
	if errors.As(err, &errs) {
		fmt.Fprintln(stderr, err)
		return exitCode(1)
	}
	if err != nil {
		return err
	}
	describeConfig(stdout, *file, cfg)
	return nil
}

// describeConfig prints what tekbot understood, secrets by source only.
func describeConfig(w io.Writer, file string, cfg *config.Config) {
	fmt.Fprintf(w, "%s: OK\n\n", file)
	fmt.Fprintf(w, "server: listen %s, shutdown timeout %s, max body %d bytes\n", cfg.Server.Listen, cfg.Server.ShutdownTimeout, cfg.Server.MaxBodyBytes)
	fmt.Fprintf(w, "state: cluster %s, namespace %s\n", cfg.State.Cluster, cfg.State.Namespace)
	fmt.Fprintf(w, "clusters (%d):\n", len(cfg.Clusters))
	for _, c := range cfg.Clusters {
		where := "in-cluster"
		if !c.InCluster {
			where = "kubeconfig " + c.Kubeconfig
			if c.Context != "" {
				where += " context " + c.Context
			}
		}
		fmt.Fprintf(w, "  %-12s %-10s namespace %-16s %s\n", c.Name, c.Role, c.Namespace, where)
	}
	fmt.Fprintf(w, "people (%d):\n", len(cfg.People))
	for _, p := range cfg.People {
		fmt.Fprintf(w, "  %-12s slack %-12s github %-16s %s\n", p.Name, orDash(p.Slack), orDash(p.GitHub), orDash(p.TimeZone))
	}
	if cfg.GitHubEnabled() {
		fmt.Fprintf(w, "github: webhook secret from %s, auth %s\n", cfg.GitHub.WebhookSecret, githubAuth(cfg))
		for _, r := range cfg.GitHub.Repositories {
			fmt.Fprintf(w, "  %s → %s/%s, runs by %q, trusted teams %s\n", r.Name, r.Cluster, r.Namespace, r.Selector, orDash(strings.Join(r.TrustedTeams, ", ")))
		}
	} else {
		fmt.Fprintln(w, "github: off (no webhookSecret)")
	}
	if cfg.SlackEnabled() {
		fmt.Fprintf(w, "slack: %s mode, bot token from %s, captain channel %s, releases channel %s\n", cfg.Slack.Mode, cfg.Slack.BotToken, orDash(cfg.Slack.Channels.Captain), orDash(cfg.Slack.Channels.Releases))
	} else {
		fmt.Fprintln(w, "slack: off (no botToken)")
	}
	if r := cfg.Rotation; len(r.Roster) > 0 {
		fmt.Fprintf(w, "rotation: %s from %s starting with %s, handoff %s %s on %s, %d holidays\n", strings.Join(r.Roster, ", "), r.Start, orDash(r.StartPerson), r.Handoff, r.TimeZone, strings.Join(r.WorkingDays, ","), len(r.Holidays))
	} else {
		fmt.Fprintln(w, "rotation: off (empty roster)")
	}
	for _, e := range cfg.Promotion.Environments {
		fmt.Fprintf(w, "promotion %s: %s strategy on %s\n", e.Name, e.Strategy, orDash(e.Cluster))
		fmt.Fprintf(w, "  evidence: %s\n", describeEvidence(cfg, &e))
	}
	fmt.Fprintf(w, "triage: secrets %s\n", triageMode(cfg.Triage.Secrets))
	describeCommands(w, cfg)
	reg := handlers.NewRegistry(&handlers.Deps{Config: cfg})
	fmt.Fprintln(w, "policy:")
	for _, s := range reg.Specs() {
		fmt.Fprintf(w, "  %-12s %s\n", s.Verb, whoMay(cfg, s))
	}
}

// whoMay says who may run a command, from the Specs the Policy is asked
// about: the verb's own, or the gates its handler checks itself (a
// read-only verb may still gate part of what it does, as page does).
func whoMay(cfg *config.Config, s *bot.Spec) string {
	if len(s.Gates) > 0 {
		var parts []string
		for _, g := range s.Gates {
			parts = append(parts, g.Usage+": "+roles(cfg, g))
		}
		return strings.Join(append(parts, "the rest: everyone"), "; ")
	}
	if s.ReadOnly {
		return "everyone (read-only)"
	}
	return roles(cfg, s)
}

func roles(cfg *config.Config, s *bot.Spec) string {
	who := strings.Join(bot.PolicyFor(cfg).Roles(s), ", ")
	if _, ok := cfg.Policy.Allow[s.Verb]; !ok {
		who += " (default)"
	}
	return who
}

// triageMode says what a triage.secrets mode hides of the posted logs.
func triageMode(mode string) string {
	if mode == config.TriageShapes {
		return mode + " (credential shapes redacted, no Secret read)"
	}
	return mode + " (every reachable Secret's value and credential shapes redacted)"
}

func githubAuth(cfg *config.Config) string {
	if cfg.GitHub.Token != nil {
		return "token from " + cfg.GitHub.Token.String()
	}
	if cfg.GitHub.App != nil {
		return fmt.Sprintf("app %d installation %d, key from %s", cfg.GitHub.App.ID, cfg.GitHub.App.InstallationID, cfg.GitHub.App.PrivateKey)
	}
	return "none"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// describeCommands lists the declared commands: where they are offered,
// what they start and where.
func describeCommands(w io.Writer, cfg *config.Config) {
	if len(cfg.Commands) == 0 {
		fmt.Fprintln(w, "commands: none declared")
		return
	}
	fmt.Fprintf(w, "commands (%d):\n", len(cfg.Commands))
	for _, c := range cfg.Commands {
		cluster, ns := c.Target(cfg)
		var args []string
		for _, a := range c.Args {
			rule := "pattern " + a.Pattern
			if len(a.Enum) > 0 {
				rule = "one of " + strings.Join(a.Enum, "|")
			}
			args = append(args, a.Name+": "+rule)
		}
		confirm := ""
		if cl := cfg.Cluster(cluster); c.Confirm || (cl != nil && cl.Role == config.RoleProduction) {
			confirm = ", confirmed first"
		}
		if c.OnMerged() {
			confirm += ", once the PR merges"
		}
		fmt.Fprintf(w, "  %-12s on %s: Pipeline %s on %s/%s%s; args %s\n", c.Verb, c.On, c.PipelineRef, cluster, ns, confirm, orDash(strings.Join(args, ", ")))
	}
}

// describeEvidence says what vouches for an environment's nightlies.
func describeEvidence(cfg *config.Config, e *config.Environment) string {
	if e.NightlyImage != "" {
		what := "images " + e.NightlyImage + " by digest"
		if c := e.Chains; c != nil {
			what += fmt.Sprintf(", with Tekton Chains provenance by pipeline %s signed with key %s",
				cmp.Or(c.Pipeline, config.DefaultReleasePipeline), keyFingerprint(c.PublicKey))
		}
		return what
	}
	var sites []string
	for _, s := range cfg.ReleaseSites(e) {
		sites = append(sites, s.Cluster+"/"+s.Namespace)
	}
	what := "release runs in " + orDash(strings.Join(sites, ", "))
	if r := e.Releases; r != nil && r.Selector != "" {
		what += " labelled " + r.Selector
	}
	return what + ", none with Pipelines-as-Code labels"
}

// keyFingerprint names a public key by the SHA-256 of its DER, as
// `openssl pkey -pubin -outform der | sha256sum` does.
func keyFingerprint(pemText string) string {
	key, err := config.ParsePublicKey(pemText)
	if err != nil {
		return "?"
	}
	der, err := x509.MarshalPKIXPublicKey(key)
	if err != nil {
		return "?"
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:8]) + "…"
}
