package schedule

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// searchHorizonDays bounds Next and Previous: after scanning this many
// consecutive days (about three years) without finding anyone on duty they
// give up, so a rotation in which nobody can ever be on duty (an empty
// roster, or every day overridden to nobody) cannot make them loop forever.
const searchHorizonDays = 3 * 366

// Override replaces whoever the roster puts on duty on one day.
type Override struct {
	// Person is who is on duty instead; "" means nobody is.
	Person string
	// Comment says why, for people reading the schedule (for example
	// "swapped with 2024-05-06" or "Happy holidays!").
	Comment string
}

// Rotation is a duty rotation: the people in Roster take turns, one per duty
// day, starting with StartPerson on Start.
//
// A duty day is a working day that is not a holiday. The roster advances by
// one person on every duty day and on no other day, so a holiday does not use
// up anyone's turn: whoever would have been on duty takes the next duty day.
// An override replaces the person for one day without shifting the sequence:
// on a duty day the roster still advances, so everyone else keeps their days.
// An override naming a person also puts that person on duty on a non-working
// day or holiday (someone covering a weekend), again without moving the
// roster. These are tekbot's semantics; see Generate for Tekton's, which
// differ.
//
// The methods assume Validate has passed; in particular At and HandoffAt
// panic if Location is nil, like time.Date.
type Rotation struct {
	// Roster lists the people who take turns, in order. A name may appear
	// more than once to give that person more turns.
	Roster []string
	// Location is the time zone in which dates and the handoff time are
	// reckoned.
	Location *time.Location
	// WorkingDays are the days of the week on which someone is on duty;
	// nil means Monday to Friday.
	WorkingDays []time.Weekday
	// Handoff is the local time of day at which one day's duty passes to
	// the next day's.
	Handoff TimeOfDay
	// Start is the first day of the rotation; nobody is on duty before it.
	Start Date
	// StartPerson is on duty on the first duty day on or after Start. It
	// must be in Roster; "" means Roster[0].
	StartPerson string
	// Holidays maps dates on which nobody is on duty to the holiday's name
	// (which may be "").
	Holidays map[Date]string
	// Overrides replace the roster's choice on single days.
	Overrides map[Date]Override
	// Until is the last date the rotation's data is meaningful, such as the
	// last row of an imported CSV; the zero Date means the rotation never
	// ends.
	Until Date
}

// Reason says why a Duty has the person it has.
type Reason int

// The reasons for a day's duty.
const (
	_ Reason = iota // the zero Reason belongs to no Duty Day returns
	// ReasonOnDuty: a duty day; the roster's person is on duty.
	ReasonOnDuty
	// ReasonNonWorkingDay: not a working day (by default a weekend); nobody.
	ReasonNonWorkingDay
	// ReasonHoliday: a holiday on a working day; nobody.
	ReasonHoliday
	// ReasonOverride: an override put someone on duty.
	ReasonOverride
	// ReasonOverrideNobody: an override took a duty day away from everyone.
	ReasonOverrideNobody
	// ReasonBeforeStart: the day is before the rotation starts; nobody.
	ReasonBeforeStart
	// ReasonAfterEnd: the day is after the rotation's data ends (see Ends);
	// whoever is on duty is unknown, so nobody is reported.
	ReasonAfterEnd
	// ReasonNoRoster: a duty day with no override and an empty roster
	// (possible only in data with a gap, such as an imported CSV missing a
	// weekday); nobody.
	ReasonNoRoster
)

var reasonNames = map[Reason]string{
	ReasonOnDuty:         "on-duty",
	ReasonNonWorkingDay:  "non-working-day",
	ReasonHoliday:        "holiday",
	ReasonOverride:       "override",
	ReasonOverrideNobody: "override-nobody",
	ReasonBeforeStart:    "before-start",
	ReasonAfterEnd:       "after-end",
	ReasonNoRoster:       "no-roster",
}

func (r Reason) String() string {
	if name, ok := reasonNames[r]; ok {
		return name
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Duty is who is on duty on one date, and why.
type Duty struct {
	Date Date
	// Person is who is on duty; "" means nobody.
	Person string
	Reason Reason
	// Note is the holiday's name or the override's comment, if any.
	Note string
}

// Validate reports every problem with the rotation's settings, joined with
// errors.Join, or nil if there are none. An empty roster is allowed (an
// imported CSV has none); Ends reports when such a rotation runs out.
func (r Rotation) Validate() error {
	var errs []error
	if r.Location == nil {
		errs = append(errs, errors.New("location is not set"))
	}
	if r.Start.IsZero() {
		errs = append(errs, errors.New("start date is not set"))
	}
	for i, name := range r.Roster {
		if name == "" {
			errs = append(errs, fmt.Errorf("roster entry %d is empty", i+1))
		}
	}
	if r.StartPerson != "" && !slices.Contains(r.Roster, r.StartPerson) {
		errs = append(errs, fmt.Errorf("start person %q is not in the roster", r.StartPerson))
	}
	if r.WorkingDays != nil && len(r.WorkingDays) == 0 {
		errs = append(errs, errors.New("working days is empty; leave it unset for Monday to Friday"))
	}
	for _, day := range r.WorkingDays {
		if day < time.Sunday || day > time.Saturday {
			errs = append(errs, fmt.Errorf("working day %d is not a day of the week", int(day)))
		}
	}
	if err := r.Handoff.validate(); err != nil {
		errs = append(errs, fmt.Errorf("handoff: %w", err))
	}
	if !r.Until.IsZero() && r.Until.Before(r.Start) {
		errs = append(errs, fmt.Errorf("until %s is before start %s", r.Until, r.Start))
	}
	return errors.Join(errs...)
}

// Ends returns the last date on which the rotation's data is meaningful, and
// false if it never runs out. That is Until if set; otherwise, with an empty
// roster, the day before Start, since nobody can ever be scheduled (the data
// has run out before it began). Callers use it to warn ahead of time.
func (r Rotation) Ends() (Date, bool) {
	if !r.Until.IsZero() {
		return r.Until, true
	}
	if len(r.Roster) == 0 {
		return r.Start.AddDays(-1), true
	}
	return Date{}, false
}

// Day returns who is on duty on local date d. It takes time proportional to
// the number of holidays, not to the distance from Start.
func (r Rotation) Day(d Date) Duty {
	duty := Duty{Date: d}
	if d.Before(r.Start) {
		duty.Reason = ReasonBeforeStart
		return duty
	}
	if end, bounded := r.Ends(); bounded && d.After(end) {
		duty.Reason = ReasonAfterEnd
		return duty
	}
	working := r.workingDays()
	holiday, isHoliday := r.Holidays[d]
	override, isOverridden := r.Overrides[d]
	switch {
	case isOverridden && override.Person != "":
		duty.Person, duty.Reason, duty.Note = override.Person, ReasonOverride, override.Comment
	case !working[d.Weekday()]:
		// An override to nobody changes nothing on a day nobody works.
		duty.Reason = ReasonNonWorkingDay
	case isHoliday:
		duty.Reason, duty.Note = ReasonHoliday, holiday
	case isOverridden:
		duty.Reason, duty.Note = ReasonOverrideNobody, override.Comment
	case len(r.Roster) == 0:
		duty.Reason = ReasonNoRoster
	default:
		turn := r.startIndex() + r.dutyDaysBetween(working, r.Start, d)
		duty.Person, duty.Reason = r.Roster[turn%len(r.Roster)], ReasonOnDuty
	}
	return duty
}

// At returns the duty in force at instant t. The duty for date D runs from
// the handoff on D (see HandoffAt) until the handoff on the next calendar
// day, so before the handoff time the previous date's duty applies, even if
// that was nobody because it was a weekend.
func (r Rotation) At(t time.Time) Duty {
	d := DateOf(t, r.Location)
	// A handoff pushed later by a DST gap could in principle land on the
	// next date, so step back until the handoff is not after t.
	for t.Before(r.HandoffAt(d)) {
		d = d.AddDays(-1)
	}
	return r.Day(d)
}

// HandoffAt returns the instant of the handoff on local date d, in
// r.Location.
//
// Daylight-saving changes make some wall-clock times happen twice and skip
// others. A handoff time that happens twice (the autumn change) is taken at
// its first occurrence. A handoff time skipped by the spring change happens
// as long after the change as it would have been after the last hour before
// it, so 02:30 on the day New York jumps from 02:00 to 03:00 is 03:30 EDT.
// The resolution is explicit rather than time.Date's, which leaves the choice
// unspecified and in practice chooses differently either side of Greenwich:
// a skipped 02:30 becomes 01:30 EST in New York but 03:30 CEST in Rome, and a
// repeated one the first occurrence in New York but the second in Rome.
func (r Rotation) HandoffAt(d Date) time.Time {
	year, month, day := d.Civil()
	return wallClockInstant(year, month, day, r.Handoff, r.Location)
}

// wallClockInstant resolves the wall-clock time clock on the given date in
// loc to an instant, by the rules HandoffAt documents.
func wallClockInstant(year int, month time.Month, day int, clock TimeOfDay, loc *time.Location) time.Time {
	// wall is the wall-clock reading written as seconds since the Unix
	// epoch; an instant u shows that reading in loc if u + offset(u) == wall.
	wall := time.Date(year, month, day, clock.Hour, clock.Minute, 0, 0, time.UTC).Unix()
	guess := time.Date(year, month, day, clock.Hour, clock.Minute, 0, 0, loc)
	// Real zones change offset at most once within a day either side of a
	// time, so the offsets in force a day before, at and a day after the
	// guess include every offset that could apply.
	var earliest time.Time
	found := false
	smallestOffset := 0
	for i, probe := range []time.Time{guess.Add(-24 * time.Hour), guess, guess.Add(24 * time.Hour)} {
		_, offset := probe.Zone()
		if i == 0 || offset < smallestOffset {
			smallestOffset = offset
		}
		candidate := time.Unix(wall-int64(offset), 0).In(loc)
		if _, actual := candidate.Zone(); actual != offset {
			continue
		}
		if !found || candidate.Before(earliest) {
			earliest, found = candidate, true
		}
	}
	if found {
		return earliest
	}
	// The time was skipped: clocks jumped from the smaller offset to the
	// larger one, and reading the time with the smaller, earlier offset
	// places it the right distance after the jump.
	return time.Unix(wall-int64(smallestOffset), 0).In(loc)
}

// Next returns up to n days on which someone is on duty, in order, starting
// at from inclusive. It returns fewer if the data ends (see Ends) or if
// nobody is on duty for about three years of consecutive days.
func (r Rotation) Next(from Date, n int) []Duty {
	var duties []Duty
	d := from
	if d.Before(r.Start) {
		d = r.Start
	}
	end, bounded := r.Ends()
	for lastFound := d; len(duties) < n && d.Sub(lastFound) < searchHorizonDays; d = d.AddDays(1) {
		if bounded && d.After(end) {
			break
		}
		if duty := r.Day(d); duty.Person != "" {
			duties = append(duties, duty)
			lastFound = d
		}
	}
	return duties
}

// Previous returns the last day strictly before the given date on which
// someone was on duty, and false if there is none between Start (or about
// three years back) and then.
func (r Rotation) Previous(before Date) (Duty, bool) {
	d := before.AddDays(-1)
	if end, bounded := r.Ends(); bounded && d.After(end) {
		d = end
	}
	for stop := d.AddDays(-searchHorizonDays); d.After(stop) && !d.Before(r.Start); d = d.AddDays(-1) {
		if duty := r.Day(d); duty.Person != "" {
			return duty, true
		}
	}
	return Duty{}, false
}

// Swap returns the two overrides that exchange the people on duty on dates a
// and b, to be merged into Overrides (for example with maps.Copy). Because
// overrides do not shift the roster, nobody else's days change. Both dates
// must have someone on duty.
func (r Rotation) Swap(a, b Date) (map[Date]Override, error) {
	if a == b {
		return nil, fmt.Errorf("cannot swap %s with itself", a)
	}
	dutyA, dutyB := r.Day(a), r.Day(b)
	var errs []error
	for _, duty := range []Duty{dutyA, dutyB} {
		if duty.Person == "" {
			errs = append(errs, fmt.Errorf("nobody is on duty on %s (%s) to swap", duty.Date, duty.Reason))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return map[Date]Override{
		a: {Person: dutyB.Person, Comment: "swapped with " + b.String()},
		b: {Person: dutyA.Person, Comment: "swapped with " + a.String()},
	}, nil
}

// weekdaySet holds which days of the week are working days, indexed by
// time.Weekday.
type weekdaySet [7]bool

func (r Rotation) workingDays() weekdaySet {
	if r.WorkingDays == nil {
		return weekdaySet{time.Monday: true, time.Tuesday: true, time.Wednesday: true, time.Thursday: true, time.Friday: true}
	}
	var set weekdaySet
	for _, day := range r.WorkingDays {
		if day >= time.Sunday && day <= time.Saturday {
			set[day] = true
		}
	}
	return set
}

// startIndex is StartPerson's position in Roster (its first, if it appears
// more than once).
func (r Rotation) startIndex() int {
	return max(slices.Index(r.Roster, r.StartPerson), 0)
}

// dutyDaysBetween counts the duty days in [from, to): working days that are
// not holidays. Whole weeks are counted arithmetically and only the partial
// week and the holidays are looked at one by one.
func (r Rotation) dutyDaysBetween(working weekdaySet, from, to Date) int {
	days := to.Sub(from)
	perWeek := 0
	for _, isWorking := range working {
		if isWorking {
			perWeek++
		}
	}
	count := days / 7 * perWeek
	for d := from.AddDays(days / 7 * 7); d.Before(to); d = d.AddDays(1) {
		if working[d.Weekday()] {
			count++
		}
	}
	for holiday := range r.Holidays {
		if !holiday.Before(from) && holiday.Before(to) && working[holiday.Weekday()] {
			count--
		}
	}
	return count
}

// ExpiryWarningDays is how many days ahead tekbot warns that the rotation's
// data runs out: Tekton's old bot ran out silently and nobody noticed for
// years.
const ExpiryWarningDays = 14

// RunsOutSoon returns the rotation's last date when that is at most
// ExpiryWarningDays after today (or already past).
func (r Rotation) RunsOutSoon(today Date) (Date, bool) {
	end, ok := r.Ends()
	return end, ok && end.Sub(today) <= ExpiryWarningDays
}
