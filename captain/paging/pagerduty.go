package paging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// PagerDuty sends events to PagerDuty's Events API v2: a trigger when the
// captain is paged, a resolve when they ack. The dedup key is the page's
// ID, so a retried trigger does not open a second incident.
type PagerDuty struct {
	// URL defaults to PagerDuty's endpoint; tests point it elsewhere.
	URL        string
	RoutingKey string
	Client     *http.Client
}

// DefaultPagerDutyURL is the Events API v2 endpoint.
const DefaultPagerDutyURL = "https://events.pagerduty.com/v2/enqueue"

type pdEvent struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload,omitempty"`
	Links       []pdLink   `json:"links,omitempty"`
}

type pdPayload struct {
	Summary  string `json:"summary"`
	Source   string `json:"source"`
	Severity string `json:"severity"`
}

type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// Trigger opens (or, for the same dedup key, updates) an incident.
func (p *PagerDuty) Trigger(ctx context.Context, pg *Page) error {
	ev := pdEvent{EventAction: "trigger", DedupKey: pg.ID, Payload: &pdPayload{
		Summary: truncate("Build captain paged: "+pg.Reason, 1024), Source: "tekbot", Severity: "warning",
	}}
	if pg.Urgent {
		ev.Payload.Severity = "critical"
	}
	if pg.Link != "" {
		ev.Links = []pdLink{{Href: pg.Link, Text: "where it was asked"}}
	}
	return p.send(ctx, ev)
}

// Resolve closes the incident of a page.
func (p *PagerDuty) Resolve(ctx context.Context, pg *Page) error {
	return p.send(ctx, pdEvent{EventAction: "resolve", DedupKey: pg.ID})
}

func (p *PagerDuty) send(ctx context.Context, ev pdEvent) error {
	ev.RoutingKey = p.RoutingKey
	body, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	url := p.URL
	if url == "" {
		url = DefaultPagerDutyURL
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	client := p.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("pagerduty %s: %w", ev.EventAction, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("pagerduty %s: %s: %s", ev.EventAction, resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
