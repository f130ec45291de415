// Package schedule holds tekbot's rotation maths: who is on duty when, as
// pure functions of the rotation's data and of the instant asked about. It
// does no I/O beyond the io.Reader and io.Writer it is handed, never reads
// the clock and starts no goroutines; the engine that acts on a rotation
// (announcing handoffs, warning that the data runs out) lives elsewhere.
package schedule

import (
	"fmt"
	"time"
)

// dateLayout is the ISO 8601 calendar date, the only form Tekton's
// rotation files use.
const dateLayout = "2006-01-02"

// epochOffset is the number of days from 0001-01-01 to 1970-01-01, so that a
// Date's day count and Unix time can be converted into each other.
const epochOffset = 719162

const secondsPerDay = 24 * 60 * 60

// Date is a civil calendar date: a year, month and day with no time of day
// and no location. Dates are comparable with == and usable as map keys. The
// zero Date is 0001-01-01, mirroring the zero time.Time.
type Date struct {
	// days counts days since 0001-01-01 in the proleptic Gregorian
	// calendar. Storing a single count makes comparison, AddDays and
	// Weekday plain integer arithmetic, which keeps Rotation.Day cheap.
	days int
}

// NewDate returns the date year-month-day. Out-of-range months and days are
// normalised the way time.Date normalises them, so NewDate(2024, 2, 30) is
// 2024-03-01.
func NewDate(year int, month time.Month, day int) Date {
	unix := time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix()
	// Midnight UTC is an exact multiple of a day, so the division is exact
	// for dates before 1970 too.
	return Date{days: int(unix/secondsPerDay) + epochOffset}
}

// ParseDate parses a date in YYYY-MM-DD form, rejecting anything else
// (including unpadded forms such as 2021-1-1) and impossible dates.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return NewDate(t.Date()), nil
}

// DateOf returns the calendar date of instant t as seen in loc. A nil loc
// means t's own location.
func DateOf(t time.Time, loc *time.Location) Date {
	if loc != nil {
		t = t.In(loc)
	}
	return NewDate(t.Date())
}

// Civil returns the date's year, month and day of the month.
func (d Date) Civil() (year int, month time.Month, day int) {
	return time.Unix(int64(d.days-epochOffset)*secondsPerDay, 0).UTC().Date()
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string {
	year, month, day := d.Civil()
	return fmt.Sprintf("%04d-%02d-%02d", year, int(month), day)
}

// MarshalText formats the date as YYYY-MM-DD, so dates can be used in
// configuration files and as map keys in encoded data.
func (d Date) MarshalText() ([]byte, error) {
	return []byte(d.String()), nil
}

// UnmarshalText parses a YYYY-MM-DD date.
func (d *Date) UnmarshalText(text []byte) error {
	parsed, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = parsed
	return nil
}

// AddDays returns the date n days after d (before d if n is negative).
func (d Date) AddDays(n int) Date {
	return Date{days: d.days + n}
}

// Sub returns the number of days from u to d: positive when d is after u.
func (d Date) Sub(u Date) int {
	return d.days - u.days
}

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	// 0001-01-01 was a Monday in the proleptic Gregorian calendar.
	return time.Weekday(((d.days+int(time.Monday))%7 + 7) % 7)
}

// Before reports whether d is earlier than u.
func (d Date) Before(u Date) bool { return d.days < u.days }

// After reports whether d is later than u.
func (d Date) After(u Date) bool { return d.days > u.days }

// IsZero reports whether d is the zero Date, which Rotation uses to mean
// "not set".
func (d Date) IsZero() bool { return d.days == 0 }

// TimeOfDay is a wall-clock time of day with minute precision, such as the
// 09:00 at which one captain hands over to the next.
type TimeOfDay struct {
	Hour   int // 0–23
	Minute int // 0–59
}

// ParseTimeOfDay parses a 24-hour HH:MM time of day such as "09:00".
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return TimeOfDay{}, fmt.Errorf("invalid time of day %q: want HH:MM", s)
	}
	return TimeOfDay{Hour: t.Hour(), Minute: t.Minute()}, nil
}

// String formats the time of day as HH:MM.
func (c TimeOfDay) String() string {
	return fmt.Sprintf("%02d:%02d", c.Hour, c.Minute)
}

// MarshalText formats the time of day as HH:MM.
func (c TimeOfDay) MarshalText() ([]byte, error) {
	return []byte(c.String()), nil
}

// UnmarshalText parses an HH:MM time of day.
func (c *TimeOfDay) UnmarshalText(text []byte) error {
	parsed, err := ParseTimeOfDay(string(text))
	if err != nil {
		return err
	}
	*c = parsed
	return nil
}

func (c TimeOfDay) validate() error {
	if c.Hour < 0 || c.Hour > 23 || c.Minute < 0 || c.Minute > 59 {
		return fmt.Errorf("time of day %d:%d is out of range 00:00–23:59", c.Hour, c.Minute)
	}
	return nil
}
