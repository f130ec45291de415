// Package paging pages the build captain: a message in the captain channel,
// a direct message, optionally a PagerDuty incident; and if nobody acks,
// escalation to the backup and then the whole channel. Pages live in the
// cluster and every step is claimed there, so replicas and restarts neither
// lose nor repeat one.
package paging

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"tekbot/bot"
	"tekbot/config"
	"tekbot/schedule"
)

// Notifier reaches people: the captain channel, and direct messages that
// offer an Ack button for a page (ackPage "" offers none).
type Notifier interface {
	Post(ctx context.Context, channel, text string) error
	DirectMessage(ctx context.Context, to *config.Person, text, ackPage string) error
}

// Pager pages the captain and escalates.
type Pager struct {
	// Rotation returns the current rotation (config plus chat changes).
	Rotation      func(ctx context.Context) (schedule.Rotation, error)
	Config        *config.Config
	Store         *Store
	Notifier      Notifier
	PagerDuty     *PagerDuty // nil when not configured
	Channel       string
	EscalateAfter time.Duration
	// Backup is paged when the captain does not ack; "" means the next
	// person on the rotation.
	Backup string
	Claims bot.Claimer
	Log    *slog.Logger
}

// MaxPagesPerHour bounds how often one person can page: a page wakes
// someone up.
const MaxPagesPerHour = 3

// Request is a request to page.
type Request struct {
	ID        string // the chat request's ID: a retry finds the same page
	Requester string
	Reason    string
	Link      string
	Urgent    bool
}

// ErrRateLimited means the requester paged too often.
var ErrRateLimited = fmt.Errorf("you have paged %d times in the last hour; the captain has been told", MaxPagesPerHour)

// Why Ack refused, for the reply to say in words.
var (
	ErrNothingToAck = errors.New("no page is waiting for an ack")
	ErrNoSuchPage   = errors.New("no such page")
)

// AckedError refuses to ack a page acked already.
type AckedError struct{ ID, By string }

func (e *AckedError) Error() string {
	return fmt.Sprintf("page %s was already acked by %s", e.ID, e.By)
}

// Page pages the captain now, or queues the page to the next duty day's
// handoff when nobody is on duty and it is not urgent.
func (p *Pager) Page(ctx context.Context, now time.Time, r Request) (*Page, error) {
	rot, err := p.Rotation(ctx)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(r.ID))
	pg := &Page{ID: hex.EncodeToString(sum[:])[:12], Requester: r.Requester, Reason: r.Reason, Link: r.Link, Urgent: r.Urgent, Created: now, DeliverAt: now}
	if existing, err := p.Store.Get(ctx, pg.ID); err == nil {
		return existing, nil // a retry of a request that already paged
	}
	if err := p.rateLimit(ctx, r.Requester, now); err != nil {
		return nil, err
	}
	if rot.At(now).Person == "" && !r.Urgent {
		if next, ok := nextHandoff(rot, now); ok {
			pg.DeliverAt = next
		}
	}
	created, err := p.Store.Create(ctx, pg)
	if err != nil {
		return nil, err
	}
	if created && !pg.DeliverAt.After(now) {
		if err := p.deliver(ctx, rot, pg.ID, now); err != nil {
			return nil, err
		}
	}
	pg, err = p.Store.Get(ctx, pg.ID)
	return pg, err
}

// rateLimit takes one of the requester's MaxPagesPerHour slots for this
// clock hour, cluster-wide.
func (p *Pager) rateLimit(ctx context.Context, requester string, now time.Time) error {
	hour := now.UTC().Format("2006010215")
	for i := 1; i <= MaxPagesPerHour; i++ {
		ok, err := p.Claims.Claim(ctx, fmt.Sprintf("page-rate/%s/%s/%d", requester, hour, i))
		if err != nil || ok {
			return err
		}
	}
	return ErrRateLimited
}

// nextHandoff is the first handoff after now with someone on duty.
func nextHandoff(rot schedule.Rotation, now time.Time) (time.Time, bool) {
	for _, d := range rot.Next(schedule.DateOf(now, rot.Location), 3) {
		if at := rot.HandoffAt(d.Date); at.After(now) {
			return at, true
		}
	}
	return time.Time{}, false
}

// step runs a page's step once across replicas: the claim names it.
func (p *Pager) step(ctx context.Context, key string, do func() error) error {
	ok, err := p.Claims.Claim(ctx, key)
	if err != nil || !ok {
		return err
	}
	if err := do(); err != nil {
		if rerr := p.Claims.Release(ctx, key); rerr != nil {
			p.Log.Error("releasing a page step", "key", key, "err", rerr)
		}
		return err
	}
	return nil
}

func (p *Pager) mention(name string) string {
	if person := p.Config.Person(name); person != nil && person.Slack != "" {
		return "<@" + person.Slack + ">"
	}
	return name
}

func (p *Pager) deliver(ctx context.Context, rot schedule.Rotation, id string, now time.Time) error {
	pg, err := p.Store.Get(ctx, id)
	if err != nil {
		return err
	}
	captain := rot.At(now).Person
	if captain == "" { // urgent with nobody on duty: the next captain
		if next := rot.Next(schedule.DateOf(now, rot.Location), 1); len(next) > 0 {
			captain = next[0].Person
		}
	}
	text := fmt.Sprintf("%s :rotating_light: page from %s: %s%s\nAck with `/tekton page ack %s`.", p.mention(captain), pg.Requester, bot.UserText(pg.Reason), linkSuffix(pg.Link), pg.ID)
	err = p.step(ctx, "page/"+id+"/deliver", func() error {
		var errs []error
		errs = append(errs, p.Notifier.Post(ctx, p.Channel, text))
		if person := p.Config.Person(captain); person != nil {
			errs = append(errs, p.Notifier.DirectMessage(ctx, person, text, pg.ID))
		}
		if p.PagerDuty != nil {
			errs = append(errs, p.PagerDuty.Trigger(ctx, pg))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return err
	}
	_, err = p.Store.Change(ctx, id, func(pg *Page) error {
		pg.Delivered, pg.Paged, pg.NextEscalation = true, []string{captain}, now.Add(p.EscalateAfter)
		return nil
	})
	return err
}

func linkSuffix(link string) string {
	if link == "" {
		return ""
	}
	return " (" + link + ")"
}

// Tick delivers queued pages that are due and escalates unacked ones. Run
// it on the leader every minute; claims keep each step exactly once.
func (p *Pager) Tick(ctx context.Context, now time.Time) error {
	rot, err := p.Rotation(ctx)
	if err != nil {
		return err
	}
	pages, err := p.Store.Open(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, pg := range pages {
		switch {
		case !pg.Delivered && !pg.DeliverAt.After(now):
			errs = append(errs, p.deliver(ctx, rot, pg.ID, now))
		case pg.Delivered && pg.Level < 2 && !pg.NextEscalation.After(now):
			errs = append(errs, p.escalate(ctx, rot, pg, now))
		}
	}
	return errors.Join(errs...)
}

func (p *Pager) escalate(ctx context.Context, rot schedule.Rotation, pg *Page, now time.Time) error {
	level := pg.Level + 1
	var who, text string
	if level == 1 {
		who = p.Backup
		if who == "" {
			for _, d := range rot.Next(schedule.DateOf(now, rot.Location).AddDays(1), 5) {
				if d.Person != pg.Paged[0] {
					who = d.Person
					break
				}
			}
		}
		text = fmt.Sprintf("%s :rotating_light: %s did not ack page %s in %s, so you are paged as backup: %s%s\nAck with `/tekton page ack %s`.",
			p.mention(who), strings.Join(pg.Paged, ", "), pg.ID, p.EscalateAfter, bot.UserText(pg.Reason), linkSuffix(pg.Link), pg.ID)
	} else {
		text = fmt.Sprintf("<!here> :rotating_light: nobody acked page %s from %s: %s%s\nAnyone: ack with `/tekton page ack %s`.", pg.ID, pg.Requester, bot.UserText(pg.Reason), linkSuffix(pg.Link), pg.ID)
	}
	err := p.step(ctx, fmt.Sprintf("page/%s/level/%d", pg.ID, level), func() error {
		errs := []error{p.Notifier.Post(ctx, p.Channel, text)}
		if person := p.Config.Person(who); person != nil {
			errs = append(errs, p.Notifier.DirectMessage(ctx, person, text, pg.ID))
		}
		return errors.Join(errs...)
	})
	if err != nil {
		return err
	}
	_, err = p.Store.Change(ctx, pg.ID, func(pg *Page) error {
		pg.Level = level
		if who != "" {
			pg.Paged = append(pg.Paged, who)
		}
		pg.NextEscalation = now.Add(p.EscalateAfter)
		return nil
	})
	return err
}

// Ack acknowledges a page (the newest open one when id is ""), stopping
// its escalation and resolving its PagerDuty incident.
func (p *Pager) Ack(ctx context.Context, now time.Time, id, by string) (*Page, error) {
	if id == "" {
		open, err := p.Store.Open(ctx)
		if err != nil {
			return nil, err
		}
		var newest *Page
		for _, pg := range open {
			if newest == nil || pg.Created.After(newest.Created) {
				newest = pg
			}
		}
		if newest != nil {
			id = newest.ID
		}
		if id == "" {
			return nil, ErrNothingToAck
		}
	}
	pg, err := p.Store.Change(ctx, id, func(pg *Page) error {
		if !pg.Open() {
			return &AckedError{ID: pg.ID, By: pg.AckedBy}
		}
		pg.AckedBy, pg.AckedAt = by, now
		return nil
	})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchPage, id)
	}
	if err != nil {
		return nil, err
	}
	var errs []error
	if p.PagerDuty != nil && pg.Delivered {
		errs = append(errs, p.PagerDuty.Resolve(ctx, pg))
	}
	errs = append(errs, p.Notifier.Post(ctx, p.Channel, fmt.Sprintf(":white_check_mark: %s acked page %s (%s).", by, pg.ID, bot.UserText(pg.Reason))))
	return pg, errors.Join(errs...)
}
