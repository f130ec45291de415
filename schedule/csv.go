package schedule

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Entry is one row of a Tekton rotation.csv: the user on duty on a date, ""
// for nobody.
type Entry struct {
	Date Date
	User string
}

// rotationHeader is the header row of Tekton's rotation.csv.
var rotationHeader = []string{"Date", "User"}

// ReadRotationCSV reads a rotation in Tekton's rotation.csv format: a
// Date,User header, then one date,user row per day with strictly increasing
// dates. Days may be missing; a blank user means nobody. Errors name the line.
func ReadRotationCSV(r io.Reader) ([]Entry, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(rotationHeader)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("rotation CSV: empty; want a Date,User header")
	}
	if err != nil {
		return nil, fmt.Errorf("rotation CSV: %w", err)
	}
	if !strings.EqualFold(header[0], rotationHeader[0]) || !strings.EqualFold(header[1], rotationHeader[1]) {
		line, _ := cr.FieldPos(0)
		return nil, fmt.Errorf("rotation CSV: line %d: header is %q,%q; want Date,User", line, header[0], header[1])
	}
	var entries []Entry
	for {
		record, err := cr.Read()
		if err == io.EOF {
			return entries, nil
		}
		if err != nil {
			return nil, fmt.Errorf("rotation CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		date, err := ParseDate(record[0])
		if err != nil {
			return nil, fmt.Errorf("rotation CSV: line %d: %w", line, err)
		}
		if n := len(entries); n > 0 && !date.After(entries[n-1].Date) {
			return nil, fmt.Errorf("rotation CSV: line %d: date %s is not after %s on the row before", line, date, entries[n-1].Date)
		}
		if err := checkUser(record[1]); err != nil {
			return nil, fmt.Errorf("rotation CSV: line %d: %w", line, err)
		}
		entries = append(entries, Entry{Date: date, User: record[1]})
	}
}

// checkUser refuses a user with a line break or another control character:
// no handle has one, and CSV would not give it back as written (a reader
// drops the carriage return of a quoted CRLF).
func checkUser(user string) error {
	if strings.ContainsFunc(user, unicode.IsControl) {
		return fmt.Errorf("user %q has a line break or another control character", user)
	}
	return nil
}

// WriteRotationCSV writes entries in Tekton's rotation.csv format, exactly as
// Tekton's generator prints it: a Date,User header, LF line endings and
// fields quoted only where CSV requires. Entries must be in strictly
// increasing date order, so that ReadRotationCSV accepts the result.
func WriteRotationCSV(w io.Writer, entries []Entry) error {
	if err := checkOrder(entries); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(rotationHeader); err != nil {
		return err
	}
	for _, entry := range entries {
		if err := cw.Write([]string{entry.Date.String(), entry.User}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// FromEntries turns an imported, finite rotation into a Rotation in loc:
// every entry becomes an override (a blank user an override to nobody),
// Start is the first entry's date and Until the last's, and the roster is
// empty, so a date the entries skip has nobody on duty. The handoff is left at
// midnight, which is how Tekton's bot read the file (by date alone); set
// Handoff to change it.
func FromEntries(entries []Entry, loc *time.Location) (Rotation, error) {
	if len(entries) == 0 {
		return Rotation{}, errors.New("no entries to make a rotation from")
	}
	if err := checkOrder(entries); err != nil {
		return Rotation{}, err
	}
	overrides := make(map[Date]Override, len(entries))
	for _, entry := range entries {
		overrides[entry.Date] = Override{Person: entry.User}
	}
	return Rotation{
		Location:  loc,
		Start:     entries[0].Date,
		Until:     entries[len(entries)-1].Date,
		Overrides: overrides,
	}, nil
}

func checkOrder(entries []Entry) error {
	for i := 1; i < len(entries); i++ {
		if !entries[i].Date.After(entries[i-1].Date) {
			return fmt.Errorf("entry %d: date %s is not after %s in the entry before", i+1, entries[i].Date, entries[i-1].Date)
		}
	}
	return nil
}

// ReadOverridesCSV reads overrides in the format of Tekton's
// rotation-overrides.csv: date,user[,comment...] rows, a blank user meaning
// nobody, and an optional header row whose first field is "date" (in any
// case), as Tekton's generator accepts. Fields after the user are joined
// into the comment. Unlike Tekton's generator, which looked overrides up by
// the date's exact text and so silently ignored a row dated 2021-1-1, this
// rejects anything but YYYY-MM-DD, and rejects a date given twice rather than
// letting the later row win. Errors name the line.
func ReadOverridesCSV(r io.Reader) (map[Date]Override, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // the comment is optional and may itself contain commas
	cr.TrimLeadingSpace = true
	overrides := make(map[Date]Override)
	lineOf := make(map[Date]int)
	for first := true; ; first = false {
		record, err := cr.Read()
		if err == io.EOF {
			return overrides, nil
		}
		if err != nil {
			return nil, fmt.Errorf("overrides CSV: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if first && strings.EqualFold(strings.TrimSpace(record[0]), "date") {
			continue
		}
		if len(record) < 2 {
			return nil, fmt.Errorf("overrides CSV: line %d: want date,user[,comment], got %d field", line, len(record))
		}
		date, err := ParseDate(strings.TrimSpace(record[0]))
		if err != nil {
			return nil, fmt.Errorf("overrides CSV: line %d: %w", line, err)
		}
		if earlier, dup := lineOf[date]; dup {
			return nil, fmt.Errorf("overrides CSV: line %d: %s is already overridden on line %d", line, date, earlier)
		}
		person := strings.TrimSpace(record[1])
		if err := checkUser(person); err != nil {
			return nil, fmt.Errorf("overrides CSV: line %d: %w", line, err)
		}
		lineOf[date] = line
		overrides[date] = Override{
			Person:  person,
			Comment: strings.TrimSpace(strings.Join(record[2:], ",")),
		}
	}
}

// WriteOverridesCSV writes overrides in the format ReadOverridesCSV reads,
// with a header and in date order, so the file diffs well.
func WriteOverridesCSV(w io.Writer, overrides map[Date]Override) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"date", "user", "comment"}); err != nil {
		return err
	}
	for _, d := range slices.SortedFunc(maps.Keys(overrides), func(a, b Date) int { return a.Sub(b) }) {
		o := overrides[d]
		if err := cw.Write([]string{d.String(), o.Person, o.Comment}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
