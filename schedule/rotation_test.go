package schedule

import (
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"
)

// week is a plain Monday-to-Friday rotation starting on Monday 2024-05-06
// with ann, in UTC with a 09:00 handoff. Tests copy and adjust it.
func week(t testing.TB) Rotation {
	return Rotation{
		Roster:   []string{"ann", "bob", "cat"},
		Location: time.UTC,
		Handoff:  TimeOfDay{Hour: 9},
		Start:    mustDate(t, "2024-05-06"),
	}
}

// describe renders a duty as "person reason [note]", "-" for nobody, so
// table expectations read as a schedule.
func describe(d Duty) string {
	person := d.Person
	if person == "" {
		person = "-"
	}
	s := person + " " + d.Reason.String()
	if d.Note != "" {
		s += " [" + d.Note + "]"
	}
	return s
}

// days describes r.Day for n consecutive dates from from.
func days(r Rotation, from Date, n int) []string {
	var out []string
	for i := range n {
		out = append(out, from.AddDays(i).String()+" "+describe(r.Day(from.AddDays(i))))
	}
	return out
}

func TestDay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		adjust func(r *Rotation)
		want   []string // Sunday 2024-05-05 to Tuesday 2024-05-14
	}{
		{
			name:   "plain weeks skip the weekend",
			adjust: func(*Rotation) {},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 ann on-duty",
				"2024-05-07 bob on-duty",
				"2024-05-08 cat on-duty",
				"2024-05-09 ann on-duty",
				"2024-05-10 bob on-duty",
				"2024-05-11 - non-working-day",
				"2024-05-12 - non-working-day",
				"2024-05-13 cat on-duty",
				"2024-05-14 ann on-duty",
			},
		},
		{
			name: "a holiday uses up nobody's turn",
			adjust: func(r *Rotation) {
				r.Holidays = map[Date]string{
					mustDate(t, "2024-05-08"): "Founders' Day",
					mustDate(t, "2024-05-11"): "on a Saturday, so no effect",
				}
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 ann on-duty",
				"2024-05-07 bob on-duty",
				"2024-05-08 - holiday [Founders' Day]",
				"2024-05-09 cat on-duty",
				"2024-05-10 ann on-duty",
				"2024-05-11 - non-working-day",
				"2024-05-12 - non-working-day",
				"2024-05-13 bob on-duty",
				"2024-05-14 cat on-duty",
			},
		},
		{
			name: "an override replaces the person without shifting anyone else",
			adjust: func(r *Rotation) {
				r.Overrides = map[Date]Override{mustDate(t, "2024-05-09"): {Person: "dan", Comment: "ann at KubeCon"}}
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 ann on-duty",
				"2024-05-07 bob on-duty",
				"2024-05-08 cat on-duty",
				"2024-05-09 dan override [ann at KubeCon]",
				"2024-05-10 bob on-duty",
				"2024-05-11 - non-working-day",
				"2024-05-12 - non-working-day",
				"2024-05-13 cat on-duty",
				"2024-05-14 ann on-duty",
			},
		},
		{
			name: "an override to nobody still uses up the turn",
			adjust: func(r *Rotation) {
				r.Overrides = map[Date]Override{
					mustDate(t, "2024-05-07"): {Comment: "offsite"},
					mustDate(t, "2024-05-12"): {Comment: "nobody on a Sunday changes nothing"},
				}
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 ann on-duty",
				"2024-05-07 - override-nobody [offsite]",
				"2024-05-08 cat on-duty",
				"2024-05-09 ann on-duty",
				"2024-05-10 bob on-duty",
				"2024-05-11 - non-working-day",
				"2024-05-12 - non-working-day",
				"2024-05-13 cat on-duty",
				"2024-05-14 ann on-duty",
			},
		},
		{
			name: "an override puts someone on duty on a weekend or holiday",
			adjust: func(r *Rotation) {
				r.Holidays = map[Date]string{mustDate(t, "2024-05-13"): "Whit Monday"}
				r.Overrides = map[Date]Override{
					mustDate(t, "2024-05-11"): {Person: "bob", Comment: "release weekend"},
					mustDate(t, "2024-05-13"): {Person: "ann"},
				}
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 ann on-duty",
				"2024-05-07 bob on-duty",
				"2024-05-08 cat on-duty",
				"2024-05-09 ann on-duty",
				"2024-05-10 bob on-duty",
				"2024-05-11 bob override [release weekend]",
				"2024-05-12 - non-working-day",
				"2024-05-13 ann override",
				"2024-05-14 cat on-duty",
			},
		},
		{
			name: "start person and a weekend start",
			adjust: func(r *Rotation) {
				r.Start = mustDate(t, "2024-05-04")
				r.StartPerson = "cat"
			},
			want: []string{
				"2024-05-05 - non-working-day",
				"2024-05-06 cat on-duty",
				"2024-05-07 ann on-duty",
				"2024-05-08 bob on-duty",
				"2024-05-09 cat on-duty",
				"2024-05-10 ann on-duty",
				"2024-05-11 - non-working-day",
				"2024-05-12 - non-working-day",
				"2024-05-13 bob on-duty",
				"2024-05-14 cat on-duty",
			},
		},
		{
			name: "custom working days",
			adjust: func(r *Rotation) {
				r.WorkingDays = []time.Weekday{time.Sunday, time.Tuesday, time.Thursday}
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 - non-working-day",
				"2024-05-07 ann on-duty",
				"2024-05-08 - non-working-day",
				"2024-05-09 bob on-duty",
				"2024-05-10 - non-working-day",
				"2024-05-11 - non-working-day",
				"2024-05-12 cat on-duty",
				"2024-05-13 - non-working-day",
				"2024-05-14 ann on-duty",
			},
		},
		{
			name: "nothing is known after Until",
			adjust: func(r *Rotation) {
				r.Until = mustDate(t, "2024-05-10")
				r.Overrides = map[Date]Override{mustDate(t, "2024-05-13"): {Person: "dan"}}
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 ann on-duty",
				"2024-05-07 bob on-duty",
				"2024-05-08 cat on-duty",
				"2024-05-09 ann on-duty",
				"2024-05-10 bob on-duty",
				"2024-05-11 - after-end",
				"2024-05-12 - after-end",
				"2024-05-13 - after-end",
				"2024-05-14 - after-end",
			},
		},
		{
			name: "an empty roster has run out before it starts",
			adjust: func(r *Rotation) {
				r.Roster = nil
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 - after-end",
				"2024-05-07 - after-end",
				"2024-05-08 - after-end",
				"2024-05-09 - after-end",
				"2024-05-10 - after-end",
				"2024-05-11 - after-end",
				"2024-05-12 - after-end",
				"2024-05-13 - after-end",
				"2024-05-14 - after-end",
			},
		},
		{
			name: "an empty roster with Until reports the gaps in its overrides",
			adjust: func(r *Rotation) {
				r.Roster = nil
				r.Until = mustDate(t, "2024-05-13")
				r.Overrides = map[Date]Override{mustDate(t, "2024-05-06"): {Person: "ann"}}
			},
			want: []string{
				"2024-05-05 - before-start",
				"2024-05-06 ann override",
				"2024-05-07 - no-roster",
				"2024-05-08 - no-roster",
				"2024-05-09 - no-roster",
				"2024-05-10 - no-roster",
				"2024-05-11 - non-working-day",
				"2024-05-12 - non-working-day",
				"2024-05-13 - no-roster",
				"2024-05-14 - after-end",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := week(t)
			tc.adjust(&r)
			got := days(r, mustDate(t, "2024-05-05"), 10)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestSwap(t *testing.T) {
	t.Parallel()
	r := week(t)
	tuesday, thursday := mustDate(t, "2024-05-07"), mustDate(t, "2024-05-09")
	overrides, err := r.Swap(tuesday, thursday)
	if err != nil {
		t.Fatal(err)
	}
	r.Overrides = map[Date]Override{}
	maps.Copy(r.Overrides, overrides)
	want := []string{
		"2024-05-06 ann on-duty",
		"2024-05-07 ann override [swapped with 2024-05-09]",
		"2024-05-08 cat on-duty",
		"2024-05-09 bob override [swapped with 2024-05-07]",
		"2024-05-10 bob on-duty",
	}
	if got := days(r, mustDate(t, "2024-05-06"), 5); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("after swapping:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, tc := range []struct {
		a, b, wantErr string
	}{
		{"2024-05-07", "2024-05-07", "with itself"},
		{"2024-05-07", "2024-05-11", "nobody is on duty on 2024-05-11 (non-working-day)"},
		{"2024-05-01", "2024-05-11", "nobody is on duty on 2024-05-01 (before-start)"},
	} {
		_, err := week(t).Swap(mustDate(t, tc.a), mustDate(t, tc.b))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Swap(%s, %s) error = %v, want it to mention %q", tc.a, tc.b, err, tc.wantErr)
		}
	}
}

func TestNextAndPrevious(t *testing.T) {
	t.Parallel()
	withHoliday := week(t)
	withHoliday.Holidays = map[Date]string{mustDate(t, "2024-05-13"): "Whit Monday"}
	until := withHoliday
	until.Until = mustDate(t, "2024-05-14")
	nobodyEver := week(t)
	nobodyEver.WorkingDays = []time.Weekday{}
	emptyRoster := week(t)
	emptyRoster.Roster = nil

	for _, tc := range []struct {
		name string
		r    Rotation
		from string
		n    int
		want []string
	}{
		{"across a weekend and a holiday", withHoliday, "2024-05-10", 3, []string{"2024-05-10 bob", "2024-05-14 cat", "2024-05-15 ann"}},
		{"from before the start", withHoliday, "2020-01-01", 1, []string{"2024-05-06 ann"}},
		{"stops at Until", until, "2024-05-10", 5, []string{"2024-05-10 bob", "2024-05-14 cat"}},
		{"none asked for", withHoliday, "2024-05-10", 0, nil},
		{"nobody can ever be on duty", nobodyEver, "2024-05-06", 1, nil},
		{"empty roster", emptyRoster, "2024-05-06", 1, nil},
	} {
		var got []string
		for _, duty := range tc.r.Next(mustDate(t, tc.from), tc.n) {
			got = append(got, duty.Date.String()+" "+duty.Person)
		}
		if strings.Join(got, ", ") != strings.Join(tc.want, ", ") {
			t.Errorf("%s: Next(%s, %d) = %v, want %v", tc.name, tc.from, tc.n, got, tc.want)
		}
	}

	for _, tc := range []struct {
		name   string
		r      Rotation
		before string
		want   string // "" means none
	}{
		{"across a weekend and a holiday", withHoliday, "2024-05-14", "2024-05-10 bob"},
		{"is strictly before", withHoliday, "2024-05-10", "2024-05-09 ann"},
		{"nothing before the start", withHoliday, "2024-05-06", ""},
		{"from long after Until", until, "2030-01-01", "2024-05-14 cat"},
		{"nobody can ever be on duty", nobodyEver, "2030-01-01", ""},
		{"empty roster", emptyRoster, "2030-01-01", ""},
	} {
		duty, ok := tc.r.Previous(mustDate(t, tc.before))
		got := ""
		if ok {
			got = duty.Date.String() + " " + duty.Person
		}
		if got != tc.want {
			t.Errorf("%s: Previous(%s) = %q, want %q", tc.name, tc.before, got, tc.want)
		}
	}
}

func TestEnds(t *testing.T) {
	t.Parallel()
	unbounded := week(t)
	until := week(t)
	until.Until = mustDate(t, "2025-01-31")
	empty := week(t)
	empty.Roster = nil
	for _, tc := range []struct {
		name   string
		r      Rotation
		want   string
		wantOK bool
	}{
		{"unbounded", unbounded, "0001-01-01", false},
		{"until", until, "2025-01-31", true},
		{"empty roster", empty, "2024-05-05", true},
	} {
		got, ok := tc.r.Ends()
		if got.String() != tc.want || ok != tc.wantOK {
			t.Errorf("%s: Ends() = %s, %v; want %s, %v", tc.name, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		adjust func(r *Rotation)
		want   []string // substrings of the error; none means valid
	}{
		{"valid", func(*Rotation) {}, nil},
		{"empty roster is allowed", func(r *Rotation) { r.Roster = nil }, nil},
		{"nil location", func(r *Rotation) { r.Location = nil }, []string{"location is not set"}},
		{"no start", func(r *Rotation) { r.Start = Date{} }, []string{"start date is not set"}},
		{"unknown start person", func(r *Rotation) { r.StartPerson = "zed" }, []string{`start person "zed" is not in the roster`}},
		{"blank roster entry", func(r *Rotation) { r.Roster = []string{"ann", ""} }, []string{"roster entry 2 is empty"}},
		{"no working days", func(r *Rotation) { r.WorkingDays = []time.Weekday{} }, []string{"working days is empty"}},
		{"bad working day", func(r *Rotation) { r.WorkingDays = []time.Weekday{time.Monday, 7} }, []string{"working day 7 is not a day of the week"}},
		{"handoff out of range", func(r *Rotation) { r.Handoff = TimeOfDay{Hour: 24} }, []string{"handoff: time of day 24:0 is out of range"}},
		{"until before start", func(r *Rotation) { r.Until = mustDate(t, "2024-05-01") }, []string{"until 2024-05-01 is before start 2024-05-06"}},
		{
			name: "every problem is reported",
			adjust: func(r *Rotation) {
				r.Location, r.StartPerson, r.Handoff = nil, "zed", TimeOfDay{Minute: -1}
			},
			want: []string{"location", "zed", "handoff"},
		},
	} {
		r := week(t)
		tc.adjust(&r)
		err := r.Validate()
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: Validate() = nil, want errors %q", tc.name, tc.want)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: Validate() = %v, want it to mention %q", tc.name, err, want)
			}
		}
	}
}

// simulate walks a rotation day by day, the obvious way, returning who is on
// duty on each date from Start through the given date. TestDayMatchesSimulation
// holds Day's arithmetic to it.
func simulate(r Rotation, through Date) map[Date]string {
	working := r.workingDays()
	turn := r.startIndex()
	out := make(map[Date]string)
	for d := r.Start; !d.After(through); d = d.AddDays(1) {
		_, holiday := r.Holidays[d]
		isDutyDay := working[d.Weekday()] && !holiday
		person := ""
		if isDutyDay {
			person = r.Roster[turn%len(r.Roster)]
			turn++
		}
		if override, ok := r.Overrides[d]; ok && (isDutyDay || override.Person != "") {
			person = override.Person
		}
		out[d] = person
	}
	return out
}

func TestDayMatchesSimulation(t *testing.T) {
	t.Parallel()
	start := mustDate(t, "2023-12-28") // a Thursday
	var holidays = map[Date]string{}
	for i := 3; i < 3000; i += 17 { // every weekday and weekend in turn
		holidays[start.AddDays(i)] = ""
	}
	var overrides = map[Date]Override{}
	for i := 5; i < 3000; i += 23 {
		overrides[start.AddDays(i)] = Override{Person: []string{"", "zed"}[i%2]}
	}
	for _, working := range [][]time.Weekday{
		nil,
		{time.Saturday},
		{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
		{time.Wednesday, time.Friday, time.Sunday, time.Wednesday},
	} {
		for _, roster := range [][]string{{"ann"}, {"ann", "bob", "cat", "dan", "eve"}, {"ann", "bob", "ann"}} {
			r := Rotation{
				Roster:      roster,
				Location:    time.UTC,
				WorkingDays: working,
				Start:       start,
				StartPerson: roster[len(roster)-1],
				Holidays:    holidays,
				Overrides:   overrides,
			}
			through := start.AddDays(3100)
			want := simulate(r, through)
			for d := start; !d.After(through); d = d.AddDays(1) {
				if got := r.Day(d).Person; got != want[d] {
					t.Fatalf("working days %v, roster %v: Day(%s) = %q, simulation says %q", working, roster, d, got, want[d])
				}
			}
		}
	}
}

func BenchmarkDay(b *testing.B) {
	r := week(b)
	r.Start = mustDate(b, "2024-01-01")
	r.Holidays = map[Date]string{}
	for year := 2024; year < 2035; year++ {
		for _, md := range []string{"01-01", "04-01", "05-01", "08-15", "12-25", "12-26"} {
			r.Holidays[mustDate(b, fmt.Sprintf("%d-%s", year, md))] = ""
		}
	}
	tenYearsOut := mustDate(b, "2034-01-03")
	if duty := r.Day(tenYearsOut); duty.Reason != ReasonOnDuty {
		b.Fatalf("%s is %s; the benchmark wants a duty day", tenYearsOut, duty.Reason)
	}
	for b.Loop() {
		r.Day(tenYearsOut)
	}
}
