package schedule

import (
	"bytes"
	"strings"
	"testing"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	names := []string{"ann", "bob", "cat"}
	thursday := mustDate(t, "2024-05-09")
	for _, tc := range []struct {
		name      string
		startName string
		days      int
		overrides map[Date]Override
		want      string // the CSV WriteRotationCSV prints
	}{
		{
			name:      "weekends are blank and skipped",
			startName: "bob",
			days:      7,
			want:      "Date,User\n2024-05-09,bob\n2024-05-10,cat\n2024-05-11,\n2024-05-12,\n2024-05-13,ann\n2024-05-14,bob\n2024-05-15,cat\n",
		},
		{
			name:      "overrides use up a turn; a weekend one is ignored; a blank one is nobody",
			startName: "bob",
			days:      7,
			overrides: map[Date]Override{
				mustDate(t, "2024-05-10"): {Person: "ann"},
				mustDate(t, "2024-05-11"): {Person: "bob"},
				mustDate(t, "2024-05-13"): {Comment: "offsite"},
				mustDate(t, "2030-01-01"): {Person: "cat"}, // outside the range: harmless
			},
			want: "Date,User\n2024-05-09,bob\n2024-05-10,ann\n2024-05-11,\n2024-05-12,\n2024-05-13,\n2024-05-14,bob\n2024-05-15,cat\n",
		},
		{
			name: "no start name means the first name",
			days: 2,
			want: "Date,User\n2024-05-09,ann\n2024-05-10,bob\n",
		},
		{
			name: "zero days is just the header",
			want: "Date,User\n",
		},
	} {
		entries, err := Generate(names, thursday, tc.startName, tc.days, tc.overrides)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var out bytes.Buffer
		if err := WriteRotationCSV(&out, entries); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tc.name, out.String(), tc.want)
		}
	}
}

func TestGenerateErrors(t *testing.T) {
	t.Parallel()
	names := []string{"ann", "bob"}
	monday := mustDate(t, "2024-05-06")
	for _, tc := range []struct {
		name      string
		names     []string
		startName string
		days      int
		overrides map[Date]Override
		want      []string
	}{
		{"unknown start name", names, "zed", 7, nil, []string{`start name "zed" is not in the list of names`}},
		{
			name: "unknown override name, even on an ignored weekend", names: names, days: 7,
			overrides: map[Date]Override{mustDate(t, "2024-05-11"): {Person: "zed"}},
			want:      []string{"override 2024-05-11,zed: user is not in the list of names"},
		},
		{"no names", nil, "", 7, nil, []string{"no names"}},
		{"blank name", []string{"ann", ""}, "", 7, nil, []string{"name 2 is empty"}},
		{"negative days", names, "", -1, nil, []string{"days is -1"}},
		{
			name: "every problem is reported", names: names, startName: "zed", days: -1,
			overrides: map[Date]Override{monday: {Person: "yan"}, monday.AddDays(1): {Person: "xi"}},
			want:      []string{`"zed"`, "-1", "2024-05-06,yan", "2024-05-07,xi"},
		},
	} {
		_, err := Generate(tc.names, monday, tc.startName, tc.days, tc.overrides)
		for _, want := range tc.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: Generate error = %v, want it to mention %q", tc.name, err, want)
			}
		}
	}
}

// tektonFixtureInputs are the generator inputs behind the fixture, worked out
// from the file itself (Tekton did not record the command line): its weekdays
// repeat these six names in this order, except that the first two weekdays
// have dibyo and andrea.frittoli swapped, which the generator can only have
// produced from two overrides. Which name heads the list does not change the
// output, given the start name.
func tektonFixtureInputs(t *testing.T) (names []string, start Date, startName string, days int, overrides map[Date]Override) {
	return []string{"andrea.frittoli", "dibyo", "nikthoma", "sashture", "jerop", "vdemeest"},
		mustDate(t, "2022-04-29"), "andrea.frittoli", 365,
		map[Date]Override{
			mustDate(t, "2022-04-29"): {Person: "dibyo"},
			mustDate(t, "2022-05-02"): {Person: "andrea.frittoli"},
		}
}

func TestGenerateReproducesTektonFixture(t *testing.T) {
	t.Parallel()
	want := readFixture(t)
	entries, err := Generate(tektonFixtureInputs(t))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := WriteRotationCSV(&out, entries); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("Generate differs from the fixture:\n got %q…\nwant %q…", out.Bytes()[:min(200, out.Len())], want[:min(200, len(want))])
	}
}

// TestRotationMatchesGeneratorWithoutHolidays checks the one place the two
// semantics meet: with no holidays, a Rotation built from the generator's
// inputs, its two overrides made with Swap, has the same people on the same
// days as the generator's output.
func TestRotationMatchesGeneratorWithoutHolidays(t *testing.T) {
	t.Parallel()
	names, start, startName, days, _ := tektonFixtureInputs(t)
	r := Rotation{Roster: names, Start: start, StartPerson: startName, Until: start.AddDays(days - 1)}
	swap, err := r.Swap(start, start.AddDays(3))
	if err != nil {
		t.Fatal(err)
	}
	r.Overrides = swap
	entries, err := ReadRotationCSV(bytes.NewReader(readFixture(t)))
	if err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		if got := r.Day(entry.Date).Person; got != entry.User {
			t.Fatalf("Day(%s) = %q, the fixture says %q", entry.Date, got, entry.User)
		}
	}
}
