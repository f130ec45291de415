package bot

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are tekbot's Prometheus series. A nil *Metrics records nothing,
// so tests and tools need not set it up.
type Metrics struct {
	commands      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	verifyFailure *prometheus.CounterVec
	apiErrors     *prometheus.CounterVec
	handoffs      prometheus.Counter
	githubRate    prometheus.Gauge
	// handoffLast, and what opsmetrics.go adds through reg, feed the
	// operators' alerts (config/deploy/monitoring).
	handoffLast prometheus.Gauge
	reg         prometheus.Registerer
}

// UnknownVerb is the verb label of anything that is not a registered
// command.
const UnknownVerb = "unknown"

// NewMetrics registers the series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tekbot_commands_total", Help: "Commands handled, by verb, transport and outcome.",
		}, []string{"verb", "transport", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tekbot_action_duration_seconds", Help: "Time to run a command, from dispatch to reply.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"verb"}),
		verifyFailure: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tekbot_webhook_verification_failures_total", Help: "Requests refused for a missing or wrong signature.",
		}, []string{"transport"}),
		apiErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tekbot_api_errors_total", Help: "Errors from Slack's and GitHub's APIs; kind is rate_limited, server or client.",
		}, []string{"api", "kind"}),
		handoffs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tekbot_handoffs_posted_total", Help: "Build-captain handoff messages posted.",
		}),
		githubRate: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tekbot_github_rate_remaining", Help: "Requests GitHub's REST rate limit had left at its last answer (X-RateLimit-Remaining).",
		}),
		handoffLast: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tekbot_handoff_last_posted_timestamp_seconds", Help: "When this replica last posted a handoff message.",
		}),
		reg: reg,
	}
	reg.MustRegister(m.commands, m.duration, m.verifyFailure, m.apiErrors, m.githubRate, m.handoffs, m.handoffLast, apiserverRequests)
	countAPIServerRequests()
	return m
}

// Command records a finished command under verb: the registered command
// it ran (an alias counts as its command), or UnknownVerb. Anyone may type
// any word, and each label value is a series kept for the process's life.
func (m *Metrics) Command(verb string, r Record) {
	if m == nil {
		return
	}
	m.commands.WithLabelValues(verb, string(r.Transport), string(r.Outcome)).Inc()
	m.duration.WithLabelValues(verb).Observe(r.Duration.Seconds())
}

// VerificationFailed counts a request refused for its signature.
func (m *Metrics) VerificationFailed(t Transport) {
	if m != nil {
		m.verifyFailure.WithLabelValues(string(t)).Inc()
	}
}

// APIError counts a failed call to a third party's API by the HTTP status
// it answered (0 when it did not answer).
func (m *Metrics) APIError(api string, status int) {
	if m == nil {
		return
	}
	kind := "client"
	switch {
	case status == 429:
		kind = "rate_limited"
	case status == 0 || status >= 500:
		kind = "server"
	}
	m.apiErrors.WithLabelValues(api, kind).Inc()
}

// GitHubRateRemaining records what GitHub said was left of its rate limit.
func (m *Metrics) GitHubRateRemaining(n int) {
	if m != nil {
		m.githubRate.Set(float64(n))
	}
}

// HandoffPosted counts a handoff message.
func (m *Metrics) HandoffPosted() {
	if m != nil {
		m.handoffs.Inc()
		m.handoffLast.SetToCurrentTime()
	}
}
