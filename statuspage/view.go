package statuspage

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/handlers/promotion"
	"tekbot/schedule"
)

// view is what the template renders. Texts from users (page reasons, run
// names, command arguments) stay plain strings: html/template escapes
// them.
type view struct {
	Title   string
	Now     time.Time
	Refresh int

	Captain  *captainView
	Pages    []pageView
	PagesErr bool
	HasPages bool
	Runs     *runsSnapshot
	// RunsLoading: clusters are configured but the first snapshot is
	// not there yet.
	RunsLoading bool
	Actions     []actionView
	ActionsErr  bool
	HasActions  bool
	Promos      *promosView
}

type dutyView struct {
	Date   string
	Person string
	Note   string
}

type dayView struct {
	Date    string
	Weekday string
	Person  string
	// Mark is a holiday, swap, cover, override or day off, in words.
	Mark  string
	Class string
	Today bool
}

type captainView struct {
	Err      bool
	Today    dutyView
	Previous *dutyView
	Next     *dutyView
	Days     []dayView
	// Expires is the last date of the rotation's data, when it is near.
	Expires string
}

type pageView struct {
	ID, Reason, Requester, Link string
	Urgent                      bool
	Created                     time.Time
	// Step is the escalation step: captain, backup or channel.
	Step string
	// Ack says where it stands: waiting for whom, or not delivered yet.
	Ack string
	// Overdue: past its next escalation.
	Overdue bool
}

type actionView struct {
	When                   time.Time
	Who, What, Via, Result string
	Where                  []link
	Failed                 bool
}

type link struct{ Text, URL string }

type promosView struct {
	Err      bool
	Deployed []deployedView
	Recent   []promoView
}

type deployedView struct {
	Project, Environment, Version, By, URL string
	At                                     time.Time
}

type promoView struct {
	Asked                                           time.Time
	Who, Project, From, Version, Environment, State string
	Result, URL, Target                             string
	Failed                                          bool
}

// view reads every source at once: the page waits for the slowest read,
// not their sum.
func (p *Page) view(ctx context.Context) *view {
	now := p.now()
	v := &view{Title: p.Title, Now: now, Refresh: refreshSecond}
	if v.Title == "" {
		v.Title = "tekbot"
	}
	var wg sync.WaitGroup
	if p.Rotation != nil {
		wg.Go(func() { v.Captain = p.captain(ctx, now) })
	}
	if p.Pages != nil {
		v.HasPages = true
		wg.Go(func() { v.Pages, v.PagesErr = p.pages(ctx, now) })
	}
	if p.Actions != nil {
		v.HasActions = true
		wg.Go(func() { v.Actions, v.ActionsErr = p.actions(ctx) })
	}
	if p.Promotions != nil {
		wg.Go(func() { v.Promos = p.promotions(ctx) })
	}
	if p.Clusters != nil {
		wg.Go(func() { v.Runs = p.latestRuns(ctx) })
	}
	wg.Wait()
	v.RunsLoading = p.Clusters != nil && v.Runs == nil
	return v
}

// failed logs a store's error: the page itself only says that a part could
// not be read, never the error (it may name endpoints).
func (p *Page) failed(what string, err error) bool {
	if err != nil {
		p.log().Error("status page: reading "+what, "err", err)
	}
	return err != nil
}

func (p *Page) captain(ctx context.Context, now time.Time) *captainView {
	rot := *p.Rotation
	if p.Changes != nil {
		changes, err := p.Changes.Changes(ctx)
		if p.failed("the rotation's changes", err) {
			return &captainView{Err: true}
		}
		rot = changes.Apply(rot)
	}
	today := rot.At(now)
	c := &captainView{Today: duty(today)}
	if prev, ok := rot.Previous(today.Date); ok {
		d := duty(prev)
		c.Previous = &d
	}
	if next := rot.Next(today.Date.AddDays(1), 1); len(next) > 0 {
		d := duty(next[0])
		c.Next = &d
	}
	for i := range calendarDays {
		c.Days = append(c.Days, day(rot, rot.Day(today.Date.AddDays(i)), i == 0))
	}
	if end, soon := rot.RunsOutSoon(schedule.DateOf(now, rot.Location)); soon {
		c.Expires = end.String()
	}
	return c
}

func duty(d schedule.Duty) dutyView {
	return dutyView{Date: d.Date.Weekday().String()[:3] + " " + d.Date.String(), Person: d.Person, Note: d.Note}
}

// day describes one calendar day, marking what is not the plain roster.
func day(rot schedule.Rotation, d schedule.Duty, today bool) dayView {
	v := dayView{Date: d.Date.String(), Weekday: d.Date.Weekday().String()[:3], Person: d.Person, Today: today}
	switch d.Reason {
	case schedule.ReasonOnDuty:
	case schedule.ReasonOverride:
		// Chat's changes say what they were in their comment.
		switch {
		case strings.HasPrefix(d.Note, "swapped"):
			v.Mark, v.Class = "swap: "+d.Note, "swap"
		case strings.HasPrefix(d.Note, "covers"):
			v.Mark, v.Class = "cover: "+d.Note, "cover"
		default:
			v.Mark, v.Class = "override", "swap"
			if d.Note != "" {
				v.Mark += ": " + d.Note
			}
		}
	case schedule.ReasonHoliday:
		v.Mark, v.Class = "holiday", "off"
		if d.Note != "" && d.Note != "holiday" {
			v.Mark += ": " + d.Note
		}
	case schedule.ReasonNonWorkingDay:
		v.Mark, v.Class = "no duty (weekend)", "weekend"
	case schedule.ReasonOverrideNobody:
		v.Mark, v.Class = "day off", "off"
	case schedule.ReasonAfterEnd:
		end, _ := rot.Ends()
		v.Mark, v.Class = "no data: the roster ends "+end.String(), "off"
	default:
		v.Mark, v.Class = "nobody: "+d.Reason.String(), "off"
	}
	return v
}

func (p *Page) pages(ctx context.Context, now time.Time) ([]pageView, bool) {
	open, err := p.Pages.Open(ctx)
	if p.failed("open pages", err) {
		return nil, true
	}
	slices.SortFunc(open, func(a, b *paging.Page) int { return a.Created.Compare(b.Created) })
	var out []pageView
	for _, pg := range open {
		v := pageView{
			ID: pg.ID, Reason: pg.Reason, Requester: pg.Requester, Link: pg.Link, Urgent: pg.Urgent, Created: pg.Created,
			Step: bot.PageStep(pg.Level),
		}
		switch {
		case !pg.Delivered:
			v.Ack = "not delivered yet: due " + pg.DeliverAt.UTC().Format("Mon 15:04 UTC")
		case len(pg.Paged) > 0:
			v.Ack = "unacked; paged " + strings.Join(pg.Paged, ", ")
		default:
			v.Ack = "unacked"
		}
		if pg.Delivered && !pg.NextEscalation.IsZero() {
			if now.After(pg.NextEscalation) {
				v.Overdue = true
				v.Ack += "; past its escalation time"
			} else {
				v.Ack += "; escalates at " + pg.NextEscalation.UTC().Format("15:04 UTC")
			}
		}
		out = append(out, v)
	}
	return out, false
}

func (p *Page) actions(ctx context.Context) ([]actionView, bool) {
	records, err := p.Actions.Last(ctx, shownActions)
	if p.failed("recent actions", err) {
		return nil, true
	}
	out := make([]actionView, 0, len(records))
	for _, r := range records {
		who := r.Person
		if who == "" {
			who = string(r.Transport) + ":" + r.CallerID
		}
		a := actionView{
			When: r.Time, Who: who, What: strings.TrimSpace(r.Verb + " " + strings.Join(r.Args, " ")),
			Result: string(r.Outcome), Failed: r.Outcome == bot.Failed || r.Outcome == bot.Denied,
			Via: string(r.Transport),
		}
		for _, t := range r.Targets {
			a.Where = append(a.Where, p.target(t))
		}
		out = append(out, a)
	}
	return out, false
}

// target links an audit target (cluster/namespace/name) to the dashboard
// when its cluster has one.
func (p *Page) target(t string) link {
	parts := strings.Split(t, "/")
	if len(parts) == 3 && p.Clusters != nil {
		for _, c := range p.Clusters.All() {
			if c.Name == parts[0] {
				return link{Text: t, URL: c.URL(parts[1], parts[2])}
			}
		}
	}
	return link{Text: t}
}

func (p *Page) promotions(ctx context.Context) *promosView {
	book, err := p.Promotions.Read(ctx)
	if p.failed("the promotion record", err) {
		return &promosView{Err: true}
	}
	v := &promosView{}
	for _, key := range slices.Sorted(maps.Keys(book.Production)) {
		proj, env, _ := strings.Cut(key, "/")
		d := book.Production[key]
		v.Deployed = append(v.Deployed, deployedView{Project: proj, Environment: env, Version: d.Version, By: d.By, URL: d.URL, At: d.At})
	}
	for _, pr := range book.Promotions {
		// Unconfirmed requests are nobody's promotion yet.
		if pr.State == promotion.Asked {
			continue
		}
		if len(v.Recent) == shownPromos {
			break
		}
		who := pr.RequestedBy
		if who == "" {
			who = "tekbot (offered)"
		}
		if pr.ApprovedBy != "" {
			who += ", approved by " + pr.ApprovedBy
		}
		state := string(pr.State)
		if pr.Rollback {
			state += " (rollback)"
		}
		from := pr.From
		if from == "" {
			from = "none"
		}
		v.Recent = append(v.Recent, promoView{
			Asked: pr.Asked, Who: who, Project: pr.Project, From: from, Version: pr.Version, Environment: pr.Environment,
			State: state, Result: pr.Result, URL: pr.URL, Target: pr.Target(), Failed: pr.State == promotion.Failed,
		})
	}
	return v
}
