package deploy

import (
	"bytes"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/handlers"
)

func TestShippedConfig(t *testing.T) {
	t.Parallel()
	objs := render(t)
	cfg, err := parseConfig(t, shippedConfig(t, objs), nil)
	if err != nil {
		t.Fatalf("the ConfigMap's tekbot.yaml does not validate:\n%v", err)
	}
	pod := podSpec(t, objs)
	ctr := &pod.Containers[0]
	bound := func(namespace, clusterRole string) bool {
		return slices.ContainsFunc(all[*rbacv1.RoleBinding](objs), func(rb *rbacv1.RoleBinding) bool {
			return rb.Namespace == namespace && rb.RoleRef.Kind == "ClusterRole" && rb.RoleRef.Name == clusterRole
		})
	}
	inCluster := func(name string) bool {
		c := cfg.Cluster(name)
		return c != nil && c.InCluster
	}

	checks := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"listens on the container's http and metrics ports", func(t *testing.T) {
			for field, p := range map[string]struct{ addr, name string }{
				"server.listen": {cfg.Server.Listen, "http"}, "server.metricsAddr": {cfg.Server.MetricsAddr, "metrics"},
			} {
				_, port, err := net.SplitHostPort(p.addr)
				if err != nil {
					t.Fatalf("%s %q: %v", field, p.addr, err)
				}
				i := slices.IndexFunc(ctr.Ports, func(cp corev1.ContainerPort) bool { return cp.Name == p.name })
				if i < 0 || strconv.Itoa(int(ctr.Ports[i].ContainerPort)) != port {
					t.Errorf("%s %q, container ports %+v: the %s port must be where tekbot listens", field, p.addr, ctr.Ports, p.name)
				}
			}
		}},
		{"the status page, on the webhooks' port, needs a token", func(t *testing.T) {
			if cfg.Server.StatusToken == nil || cfg.Server.StatusPublic {
				t.Errorf("server.statusToken %v, statusPublic %v: the page would be closed to all, or open to anyone who reaches the webhooks", cfg.Server.StatusToken, cfg.Server.StatusPublic)
			}
		}},
		{"in-flight work finishes before the kubelet kills the pod", func(t *testing.T) {
			grace := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
			if cfg.Server.ShutdownTimeout.Duration >= grace {
				t.Errorf("server.shutdownTimeout %v is not below terminationGracePeriodSeconds %v", cfg.Server.ShutdownTimeout.Duration, grace)
			}
		}},
		{"state lives in the cluster it runs in, in a namespace with the state Role", func(t *testing.T) {
			if !inCluster(cfg.State.Cluster) {
				t.Errorf("state.cluster %q is not the inCluster cluster", cfg.State.Cluster)
			}
			if !slices.ContainsFunc(all[*rbacv1.RoleBinding](objs), func(rb *rbacv1.RoleBinding) bool {
				return rb.Namespace == cfg.State.Namespace && rb.RoleRef.Kind == "Role" && rb.RoleRef.Name == "tekbot-state"
			}) {
				t.Errorf("no tekbot-state RoleBinding in state.namespace %q", cfg.State.Namespace)
			}
		}},
		{"state is kept apart from the config, which tekbot cannot write", func(t *testing.T) {
			if cm := one[*corev1.ConfigMap](t, objs); cfg.State.Namespace == cm.Namespace {
				t.Errorf("state.namespace %q holds the config ConfigMap %s: tekbot could rewrite its own config", cfg.State.Namespace, cm.Name)
			}
		}},
		{"one RoleBinding per namespace with PipelineRuns", func(t *testing.T) {
			// Every namespace of this cluster that tekbot reads or
			// writes PipelineRuns in; other clusters bind their own.
			var namespaces []string
			for _, c := range cfg.Clusters {
				if c.InCluster {
					namespaces = append(namespaces, c.Namespace)
				}
			}
			for _, r := range cfg.GitHub.Repositories {
				if inCluster(r.Cluster) {
					namespaces = append(namespaces, r.Namespace)
				}
			}
			for _, e := range cfg.Promotion.Environments {
				if e.Strategy == config.StrategyPipelineRun && inCluster(e.Cluster) {
					namespaces = append(namespaces, e.Namespace)
				}
			}
			if len(namespaces) == 0 {
				t.Fatal("the config names no namespace in the cluster it runs in")
			}
			for _, ns := range namespaces {
				if !bound(ns, "tekbot-pipelineruns") {
					t.Errorf("namespace %s has PipelineRuns for tekbot but no tekbot-pipelineruns RoleBinding", ns)
				}
			}
		}},
		{"every secret is a file of the credentials Secret", func(t *testing.T) {
			// parseConfig put the credentials in a temp folder; a secret
			// read from elsewhere (env, another path) would not be in it.
			for _, s := range []*config.Secret{cfg.GitHub.WebhookSecret, cfg.GitHub.Token, cfg.Slack.BotToken, cfg.Slack.AppToken, cfg.Slack.SigningSecret, cfg.Server.StatusToken} {
				if s == nil {
					continue
				}
				v, err := s.Value()
				if err != nil || !strings.HasPrefix(v, "test-") {
					t.Errorf("secret %s: %q, %v; want a key of tekbot-credentials", s, v, err)
				}
			}
		}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.check(t)
		})
	}
}

func TestSlackAppManifest(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("slack-app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// slack-go's Manifest is Slack's manifest schema; decoding strictly
	// catches a misspelt or misplaced key, which Slack would reject.
	var m slack.Manifest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("not a Slack app manifest: %v", err)
	}
	cfg, err := parseConfig(t, shippedConfig(t, render(t)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var slackVerbs []string
	for _, s := range handlers.NewRegistry(&handlers.Deps{}).Specs() {
		if s.Offered(bot.Slack) {
			slackVerbs = append(slackVerbs, s.Verb)
		}
	}
	slices.Sort(slackVerbs)

	checks := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"a bot user", func(t *testing.T) {
			if m.Display.Name == "" || m.Features.BotUser.DisplayName == "" {
				t.Errorf("display %+v, bot user %+v: both need a name", m.Display, m.Features.BotUser)
			}
		}},
		{"/tekton, its hint naming exactly the Slack commands", func(t *testing.T) {
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/tekton" {
				t.Fatalf("slash commands = %+v, want only /tekton", m.Features.SlashCommands)
			}
			sc := m.Features.SlashCommands[0]
			if sc.Description == "" {
				t.Error("/tekton has no description")
			}
			// The hint is "verb args | verb args | …"; pipes inside
			// brackets have no spaces around them.
			var hinted []string
			for _, alt := range strings.Split(sc.UsageHint, " | ") {
				hinted = append(hinted, strings.Fields(alt)[0])
			}
			slices.Sort(hinted)
			if !slices.Equal(hinted, slackVerbs) {
				t.Errorf("usage hint %q names %q; the Slack commands are %q", sc.UsageHint, hinted, slackVerbs)
			}
		}},
		{"exactly the minimal bot scopes", func(t *testing.T) {
			// Adding a scope asks every workspace admin for more: it
			// must be a deliberate change here.
			want := []string{"app_mentions:read", "chat:write", "commands", "usergroups:write"}
			got := slices.Sorted(slices.Values(m.OAuthConfig.Scopes.Bot))
			if !slices.Equal(got, want) || len(m.OAuthConfig.Scopes.User) > 0 {
				t.Errorf("scopes = bot %q user %q, want bot %q and no user scopes", got, m.OAuthConfig.Scopes.User, want)
			}
		}},
		{"mentions and confirm buttons reach tekbot", func(t *testing.T) {
			if e := m.Settings.EventSubscriptions; e == nil || !slices.Equal(e.BotEvents, []string{"app_mention"}) {
				t.Errorf("event subscriptions = %+v, want bot event app_mention", e)
			}
			if i := m.Settings.Interactivity; i == nil || !i.IsEnabled {
				t.Errorf("interactivity = %+v, want enabled", i)
			}
		}},
		{"socket mode, as tekbot.yaml says, so no request URLs", func(t *testing.T) {
			if !m.Settings.SocketModeEnabled || cfg.Slack.Mode != config.SlackSocket {
				t.Errorf("socket_mode_enabled %v, tekbot.yaml slack.mode %q: want socket mode in both", m.Settings.SocketModeEnabled, cfg.Slack.Mode)
			}
			if m.Features.SlashCommands[0].Url != "" || m.Settings.Interactivity.RequestUrl != "" || m.Settings.EventSubscriptions.RequestUrl != "" {
				t.Error("request URLs are set, but socket mode does not use them")
			}
		}},
		{"a fixed bot token", func(t *testing.T) {
			if m.Settings.TokenRotationEnabled {
				t.Error("token rotation would expire the bot token that tekbot reads from its Secret")
			}
		}},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.check(t)
		})
	}
}
