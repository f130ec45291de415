package handlers

import (
	"context"
	"maps"
	"slices"
	"strings"

	"tekbot/bot"
	"tekbot/captain/alerts"
	"tekbot/promotion"
)

func (h *commands) promotionsSpec() *bot.Spec {
	return &bot.Spec{
		Verb:       "promotions",
		Usage:      "promotions [project]",
		Summary:    "what runs in each environment, and recent promotions: who, what, when, result",
		Transports: onSlack,
		ReadOnly:   true,
		Handle:     h.promotions,
	}
}

// listedPromotions bounds the listing to what a chat message can show.
const listedPromotions = 15

func (h *commands) promotions(ctx context.Context, req *bot.Request) bot.Reply {
	project := ""
	switch args := req.Command.Args; len(args) {
	case 0:
	case 1:
		project = strings.ToLower(args[0])
		if err := promotion.CheckProject(project); err != nil {
			return refused("%v", err)
		}
	default:
		return refused("Usage: `promotions [project]`")
	}
	book, err := h.Promotions().Book(ctx)
	if err != nil {
		return h.trouble(ctx, req, "tekbot's state store", err, "read the promotion record")
	}
	observed := h.observe(ctx, book)
	const when = "2006-01-02 15:04 MST"
	var b strings.Builder
	b.WriteString("*What runs where*\n")
	shown := 0
	for _, key := range slices.Sorted(maps.Keys(book.Production)) {
		proj, env, _ := strings.Cut(key, "/")
		if project != "" && proj != project {
			continue
		}
		d := book.Production[key]
		via := ""
		if d.URL != "" {
			via = " (" + d.URL + ")"
		}
		seen := ""
		if o, ok := alerts.Find(observed, proj, env); ok {
			seen = "; " + o.Reported()
			if o.Drifted() {
				seen = "; :warning: drift: " + o.Reported()
			}
		}
		bullet(&b, "%s on %s: `%s` since %s, by %s%s%s", proj, env, d.Version, d.At.UTC().Format(when), d.By, via, seen)
		shown++
	}
	if shown == 0 {
		b.WriteString("Nothing promoted yet.\n")
	}
	b.WriteString("*Recent promotions*\n")
	shown = 0
	for _, p := range book.Promotions {
		// Unconfirmed requests are nobody's promotion yet.
		if p.State == promotion.Asked || (project != "" && p.Project != project) || shown == listedPromotions {
			continue
		}
		approved := ""
		if p.ApprovedBy != "" {
			approved = ", approved by " + p.ApprovedBy
		}
		if p.Rollback {
			approved += " (rollback)"
		}
		result := string(p.State)
		if len(p.Steps) > 1 {
			result = p.History()
		}
		if p.Result != "" {
			result += ": " + p.Result
		}
		who := p.RequestedBy
		if who == "" {
			who = "tekbot (offered)"
		}
		bullet(&b, "%s, %s%s: %s %s to %s, %s. %s", p.Asked.UTC().Format(when), who, approved, p.Project, p.Change(), p.Environment, result, p.Link())
		shown++
	}
	if shown == 0 {
		b.WriteString("None.\n")
	}
	return bot.Reply{Outcome: bot.Noop, Text: strings.TrimRight(b.String(), "\n")}
}

// observe reads what each environment's cluster reports it runs, to set
// beside what tekbot promoted; clusters that cannot be read are logged.
func (h *commands) observe(ctx context.Context, book *promotion.Book) []alerts.Observation {
	promoted := alerts.Versions{}
	for k, d := range book.Production {
		promoted[k] = d.Version
	}
	o := &alerts.Observer{Environments: h.Config.Promotion.Environments, Clusters: h.Clusters, Promoted: promoted}
	obs, _ := o.Observe(ctx) // Versions never fail
	for _, ob := range obs {
		if ob.Err != nil {
			h.Log.Warn("reading installed versions", "cluster", ob.Cluster, "project", ob.Project, "err", ob.Err)
		}
	}
	return obs
}
