package schedule

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteICal writes the duty days from first for days days as an iCalendar
// feed (RFC 5545): one all-day event per day someone is on duty, so people
// see their build-captain days in their calendars. stamp is the feed's
// DTSTAMP (the caller's clock).
func (r Rotation) WriteICal(w io.Writer, first Date, days int, stamp time.Time) error {
	lines := []string{
		"BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tekbot//build captain//EN",
		"CALSCALE:GREGORIAN", "METHOD:PUBLISH", "X-WR-CALNAME:Build captain",
	}
	dtstamp := stamp.UTC().Format("20060102T150405Z")
	for i := range days {
		d := r.Day(first.AddDays(i))
		if d.Person == "" {
			continue
		}
		desc := "On duty from the handoff at " + r.Handoff.String() + " " + r.Location.String()
		if d.Note != "" {
			desc += " (" + d.Note + ")"
		}
		lines = append(lines,
			"BEGIN:VEVENT",
			"UID:"+d.Date.String()+"@build-captain.tekbot",
			"DTSTAMP:"+dtstamp,
			"DTSTART;VALUE=DATE:"+icalDate(d.Date),
			"DTEND;VALUE=DATE:"+icalDate(d.Date.AddDays(1)),
			"SUMMARY:"+icalText("Build captain: "+d.Person),
			"DESCRIPTION:"+icalText(desc),
			"TRANSP:TRANSPARENT",
			"END:VEVENT",
		)
	}
	lines = append(lines, "END:VCALENDAR")
	for _, l := range lines {
		if _, err := io.WriteString(w, foldICal(l)+"\r\n"); err != nil {
			return err
		}
	}
	return nil
}

func icalDate(d Date) string {
	y, m, day := d.Civil()
	return fmt.Sprintf("%04d%02d%02d", y, m, day)
}

// icalText escapes TEXT values as RFC 5545 §3.3.11 requires.
func icalText(s string) string {
	return strings.NewReplacer(`\`, `\\`, ";", `\;`, ",", `\,`, "\n", `\n`).Replace(s)
}

// foldICal folds lines longer than 75 octets (RFC 5545 §3.1), never inside
// a UTF-8 sequence.
func foldICal(l string) string {
	var b strings.Builder
	n := 0
	for _, r := range l {
		size := len(string(r))
		if n+size > 75 {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	return b.String()
}
