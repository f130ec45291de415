package deploy

import (
	"context"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	k8syaml "sigs.k8s.io/yaml"

	"tekbot/bot"
)

// describing is a Registerer that keeps what is registered, so the test
// can list every series tekbot may export, before any has a value.
type describing struct{ names []string }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d *describing) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 16)
	go func() { c.Describe(ch); close(ch) }()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			d.names = append(d.names, m[1])
		}
	}
	return nil
}

func (d *describing) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (d *describing) Unregister(prometheus.Collector) bool { return false }

// tekbotSeries lists the tekbot_* series names that tekbot exports,
// histograms with their _bucket, _sum and _count.
func tekbotSeries() []string {
	d := &describing{}
	m := bot.NewMetrics(d)
	m.Rotation(func(time.Time) time.Time { return time.Time{} }, time.Unix(1, 0))
	m.Pages(func(context.Context) (bot.PageCounts, error) { return bot.PageCounts{}, nil })
	var out []string
	for _, n := range d.names {
		out = append(out, n, n+"_bucket", n+"_sum", n+"_count")
	}
	return out
}

type ruleFile struct {
	Kind string `yaml:"kind"`
	Spec struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	} `yaml:"spec"`
}

var seriesName = regexp.MustCompile(`\btekbot_[a-z_]+`)

// The operators' kit renders, alerts on what the issue asks for, and every
// series its alerts and dashboard read is one tekbot exports: a renamed
// metric fails here, not silently in production. (promtool checks the
// rules' syntax and behaviour in test/run.sh.)
func TestMonitoringKit(t *testing.T) {
	t.Parallel()
	opts := krusty.MakeDefaultOptions()
	res, err := krusty.MakeKustomizer(opts).Run(filesys.MakeFsOnDisk(), "monitoring")
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string][]byte{}
	var dashboard string
	for _, r := range res.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		kinds[r.GetKind()] = y
		if r.GetKind() == "ConfigMap" {
			var cm corev1.ConfigMap
			if err := k8syaml.Unmarshal(y, &cm); err != nil {
				t.Fatal(err)
			}
			if cm.Labels["grafana_dashboard"] != "1" {
				t.Errorf("dashboard ConfigMap labels %v: Grafana's sidecar looks for grafana_dashboard", cm.Labels)
			}
			dashboard = cm.Data["tekbot.json"]
		}
	}
	for _, k := range []string{"ServiceMonitor", "PrometheusRule", "ConfigMap"} {
		if kinds[k] == nil {
			t.Fatalf("config/deploy/monitoring renders no %s", k)
		}
	}
	if !strings.Contains(string(kinds["ServiceMonitor"]), "port: metrics") {
		t.Errorf("the ServiceMonitor does not scrape port metrics:\n%s", kinds["ServiceMonitor"])
	}

	var rules ruleFile
	if err := yaml.Unmarshal(kinds["PrometheusRule"], &rules); err != nil {
		t.Fatal(err)
	}
	var alerts, exprs []string
	for _, g := range rules.Spec.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			exprs = append(exprs, r.Expr)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s needs a severity and a summary", r.Alert)
			}
		}
	}
	for _, want := range []string{"TekbotHandoffLate", "TekbotRotationEndingSoon", "TekbotWebhookVerificationFailures", "TekbotAPIServerErrors", "TekbotPageUnacked"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("no alert %s; have %v", want, alerts)
		}
	}

	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal([]byte(dashboard), &dash); err != nil {
		t.Fatalf("the Grafana dashboard is not JSON: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	exported := tekbotSeries()
	for _, e := range exprs {
		for _, name := range seriesName.FindAllString(e, -1) {
			if !slices.Contains(exported, name) {
				t.Errorf("%s is not a series tekbot exports (in %q)", name, e)
			}
		}
	}
}
