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
	"tekbot/flakes"
	"tekbot/promotion"
	"tekbot/schedule"
	"tekbot/state"
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
	Flakes      *flakesView
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

// storesSnapshot is what the page reads besides the runs: small, bounded
// reads, done together in the background at most every storesMaxAge.
type storesSnapshot struct {
	changes    *state.RotationChanges
	pages      []*paging.Page
	actions    []bot.Record
	book       *promotion.Book
	changesErr bool
	pagesErr   bool
	actionsErr bool
	bookErr    bool
	flakes     []flakes.Flake
	flakesErr  bool
}

// loadStores reads every store at once: a refresh waits for the slowest
// read, not their sum.
func (p *Page) loadStores(ctx context.Context) *storesSnapshot {
	s := &storesSnapshot{}
	var wg sync.WaitGroup
	if p.Changes != nil {
		wg.Go(func() {
			changes, err := p.Changes.Changes(ctx)
			if s.changesErr = p.failed("the rotation's changes", err); !s.changesErr {
				s.changes = &changes
			}
		})
	}
	if p.Pages != nil {
		wg.Go(func() {
			var err error
			s.pages, err = p.Pages.Open(ctx)
			s.pagesErr = p.failed("open pages", err)
		})
	}
	if p.Actions != nil {
		wg.Go(func() {
			var err error
			s.actions, err = p.Actions.Last(ctx, shownActions)
			s.actionsErr = p.failed("recent actions", err)
		})
	}
	if p.Promotions != nil {
		wg.Go(func() {
			var err error
			s.book, err = p.Promotions.Read(ctx)
			s.bookErr = p.failed("the promotion record", err)
		})
	}
	if p.Flakes != nil {
		wg.Go(func() { p.loadFlakes(ctx, s, p.now()) })
	}
	wg.Wait()
	return s
}

// unread stands for the stores before their first read ends.
var unread = &storesSnapshot{changesErr: true, pagesErr: true, actionsErr: true, bookErr: true, flakesErr: true}

// snapshots returns what the page shows, starting refreshes as due: nil
// for what has not been read yet.
func (p *Page) snapshots(ctx context.Context, now time.Time) (st *storesSnapshot, runs *runsSnapshot) {
	var wg sync.WaitGroup
	wg.Go(func() { st = p.stores.get(ctx, now, storesMaxAge, p.loadStores) })
	if p.Clusters != nil {
		wg.Go(func() { runs = p.runs.get(ctx, now, p.runsMaxAge(), p.loadRuns) })
	}
	wg.Wait()
	return st, runs
}

// view composes the page from the snapshots as of now.
func (p *Page) view(st *storesSnapshot, runs *runsSnapshot, now time.Time) *view {
	v := &view{Title: p.Title, Now: now, Refresh: refreshSecond, Runs: runs}
	if v.Title == "" {
		v.Title = "tekbot"
	}
	if st == nil {
		st = unread
	}
	if p.Rotation != nil {
		v.Captain = p.captain(st, now)
	}
	if p.Pages != nil {
		v.HasPages = true
		v.Pages, v.PagesErr = pages(st, now), st.pagesErr
	}
	if p.Actions != nil {
		v.HasActions = true
		v.Actions, v.ActionsErr = p.actions(st), st.actionsErr
	}
	if p.Promotions != nil {
		v.Promos = promotions(st)
	}
	if p.Flakes != nil {
		v.Flakes = &flakesView{Err: st.flakesErr, List: st.flakes}
	}
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

func (p *Page) captain(st *storesSnapshot, now time.Time) *captainView {
	rot := *p.Rotation
	if p.Changes != nil {
		if st.changesErr {
			return &captainView{Err: true}
		}
		rot = st.changes.Apply(rot)
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

func pages(st *storesSnapshot, now time.Time) []pageView {
	// Sorted on a copy: the snapshot is shared by concurrent views.
	open := slices.Clone(st.pages)
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
	return out
}

func (p *Page) actions(st *storesSnapshot) []actionView {
	out := make([]actionView, 0, len(st.actions))
	for _, r := range st.actions {
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
	return out
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

func promotions(st *storesSnapshot) *promosView {
	if st.bookErr {
		return &promosView{Err: true}
	}
	book := st.book
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
