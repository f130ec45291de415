package schedule

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
)

// Generate produces the rotation that Tekton's generator
// (tektoncd/plumbing bots/buildcaptain/cmd/generate-rotation-csv) prints for
// -names names -start-name startName -start-date start -days days and the
// given overrides; WriteRotationCSV then prints it byte for byte as that tool
// does. An empty startName means names[0], as the tool's flag default.
//
// There is one row per calendar day from start for days days. Saturdays and
// Sundays have a blank user, and an override on one is ignored. Every other
// day takes the next name, and the names advance on every such day even when
// an override replaces the name (a blank override meaning nobody); the tool
// has no holidays. So a day off written as an override still uses up that
// person's turn, whereas in a Rotation a holiday uses up nobody's turn.
//
// As the tool does, Generate rejects a startName missing from names and an
// override naming someone missing from names, even on a day it would ignore.
func Generate(names []string, start Date, startName string, days int, overrides map[Date]Override) ([]Entry, error) {
	if startName == "" && len(names) > 0 {
		startName = names[0]
	}
	var errs []error
	if len(names) == 0 {
		errs = append(errs, errors.New("no names to generate a rotation from"))
	}
	for i, name := range names {
		if name == "" {
			errs = append(errs, fmt.Errorf("name %d is empty", i+1))
		}
	}
	next := slices.Index(names, startName)
	if next < 0 && len(names) > 0 {
		errs = append(errs, fmt.Errorf("start name %q is not in the list of names", startName))
	}
	if days < 0 {
		errs = append(errs, fmt.Errorf("days is %d; want 0 or more", days))
	}
	for _, date := range slices.SortedFunc(maps.Keys(overrides), Date.Sub) {
		if person := overrides[date].Person; person != "" && !slices.Contains(names, person) {
			errs = append(errs, fmt.Errorf("override %s,%s: user is not in the list of names", date, person))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	entries := make([]Entry, 0, days)
	for i := range days {
		date := start.AddDays(i)
		if weekday := date.Weekday(); weekday == time.Saturday || weekday == time.Sunday {
			entries = append(entries, Entry{Date: date})
			continue
		}
		user := names[next]
		if override, ok := overrides[date]; ok {
			user = override.Person
		}
		entries = append(entries, Entry{Date: date, User: user})
		next = (next + 1) % len(names)
	}
	return entries, nil
}
