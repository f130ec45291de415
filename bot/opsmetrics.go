package bot

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientmetrics "k8s.io/client-go/tools/metrics"
)

// The series below feed the operators' alerts and dashboard
// (config/deploy/monitoring): apiserver errors, when the handoff was due,
// when the rotation's data ends, and pages nobody acked.

// apiserverRequests counts every request client-go makes, for all
// clusters. client-go reports through one process-wide hook, so the
// counter is process-wide too, and registered with every Metrics' registry.
var apiserverRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: "tekbot_apiserver_requests_total",
	Help: `Requests to Kubernetes apiservers, by HTTP code ("<error>" when none came back), method and host.`,
}, []string{"code", "method", "host"})

var clientGoHook sync.Once

type apiserverResults struct{}

func (apiserverResults) Increment(_ context.Context, code, method, host string) {
	apiserverRequests.WithLabelValues(code, method, host).Inc()
}

func countAPIServerRequests() {
	clientGoHook.Do(func() { clientmetrics.Register(clientmetrics.RegisterOpts{RequestResult: apiserverResults{}}) })
}

// Rotation publishes when the latest handoff was due, computed at scrape
// time, and when the rotation's data ends (ends zero: it never does). With
// the handoff's last-posted time these say "the handoff is late" and "the
// roster runs out soon" without asking the bot.
func (m *Metrics) Rotation(handoffDue func(now time.Time) time.Time, ends time.Time) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "tekbot_handoff_due_timestamp_seconds", Help: "When the latest handoff message was due.",
	}, func() float64 { return unixSeconds(handoffDue(time.Now())) }))
	if !ends.IsZero() {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tekbot_rotation_data_ends_timestamp_seconds", Help: "When the build-captain rotation's data runs out.",
		}, func() float64 { return unixSeconds(ends) }))
	}
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// PageCounts are the pages waiting for an ack, by escalation step
// (captain, backup, channel), and how many of them are past the time of
// their next escalation.
type PageCounts struct {
	Open           map[string]int
	PastEscalation int
}

// Pages publishes the open pages, counted at scrape time (a bounded,
// label-selected read). A failed count leaves the series out of that
// scrape, which the alerts treat as no data rather than as zero.
func (m *Metrics) Pages(count func(ctx context.Context) (PageCounts, error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&pagesCollector{
		count: count,
		open:  prometheus.NewDesc("tekbot_pages_open", "Pages waiting for an ack, by escalation step.", []string{"step"}, nil),
		past: prometheus.NewDesc("tekbot_pages_unacked_past_escalation",
			"Open pages past their next escalation: escalation is stuck, or the channel was paged and nobody acked.", nil, nil),
	})
}

// PageSteps are the escalation steps, in order.
var PageSteps = []string{"captain", "backup", "channel"}

// PageStep names a page's escalation level (paging.Page.Level).
func PageStep(level int) string { return PageSteps[min(max(level, 0), len(PageSteps)-1)] }

type pagesCollector struct {
	count      func(ctx context.Context) (PageCounts, error)
	open, past *prometheus.Desc
}

func (c *pagesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.open; ch <- c.past }

func (c *pagesCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		return
	}
	for _, step := range PageSteps {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(counts.Open[step]), step)
	}
	ch <- prometheus.MustNewConstMetric(c.past, prometheus.GaugeValue, float64(counts.PastEscalation))
}
