package schedule

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// tektonFixture is a real rotation.csv from tektoncd/plumbing. CI clones the
// shared directory beside the repository, so it is read relative to it.
var tektonFixture = filepath.Join("..", "..", "shared", "fixtures", "tekton-rotation.csv")

func readFixture(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(tektonFixture)
	if err != nil {
		t.Fatalf("the Tekton rotation fixture must be at %s (shared/fixtures beside the repository): %v", tektonFixture, err)
	}
	return data
}

func TestRotationCSVRoundTripsTektonFixture(t *testing.T) {
	t.Parallel()
	data := readFixture(t)
	entries, err := ReadRotationCSV(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 365 || entries[0] != (Entry{mustDate(t, "2022-04-29"), "dibyo"}) || entries[1] != (Entry{Date: mustDate(t, "2022-04-30")}) {
		t.Fatalf("read %d entries starting %v; want 365 starting 2022-04-29 dibyo, 2022-04-30 nobody", len(entries), entries[:min(2, len(entries))])
	}
	var out bytes.Buffer
	if err := WriteRotationCSV(&out, entries); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Errorf("writing the fixture back changed it:\n got %q…\nwant %q…", out.Bytes()[:min(200, out.Len())], data[:min(200, len(data))])
	}
}

// TestFromEntriesAgreesWithFixture checks that an imported CSV answers as
// Tekton's bot did: the file's user on each date, nobody after the last row.
func TestFromEntriesAgreesWithFixture(t *testing.T) {
	t.Parallel()
	entries, err := ReadRotationCSV(bytes.NewReader(readFixture(t)))
	if err != nil {
		t.Fatal(err)
	}
	r, err := FromEntries(entries, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, entry := range entries {
		duty := r.Day(entry.Date)
		wantReason := ReasonOverride
		if entry.User == "" {
			wantReason = ReasonNonWorkingDay // the fixture's blanks are all weekends
		}
		if duty.Person != entry.User || duty.Reason != wantReason {
			t.Fatalf("Day(%s) = %s, want %q (%s)", entry.Date, describe(duty), entry.User, wantReason)
		}
	}
	if end, ok := r.Ends(); !ok || end != mustDate(t, "2023-04-28") {
		t.Errorf("Ends() = %s, %v; want 2023-04-28, true", end, ok)
	}
	if got := r.Day(mustDate(t, "2023-04-29")).Reason; got != ReasonAfterEnd {
		t.Errorf("the day after the last row is %s, want after-end", got)
	}
	if got := r.Next(mustDate(t, "2023-04-27"), 5); len(got) != 2 || got[1].Person != "nikthoma" {
		t.Errorf("Next at the end of the data = %v, want the last two rows", got)
	}
	if got := r.At(time.Date(2022, 5, 2, 0, 0, 0, 0, time.UTC)); got.Person != "andrea.frittoli" {
		t.Errorf("At(midnight 2022-05-02) = %s, want andrea.frittoli", describe(got))
	}
}

func TestReadRotationCSV(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     []Entry
	}{
		{"header only", "Date,User\n", nil},
		{"any header case, CRLF, no final newline", "date,USER\r\n2024-01-01,ann\r\n2024-01-03,", []Entry{
			{Date: mustDate(t, "2024-01-01"), User: "ann"},
			{Date: mustDate(t, "2024-01-03")},
		}},
		{"quoted user", "Date,User\n2024-01-01,\"ann, the first\"\n", []Entry{
			{Date: mustDate(t, "2024-01-01"), User: "ann, the first"},
		}},
	} {
		got, err := ReadRotationCSV(strings.NewReader(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ReadRotationCSV = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

func TestReadRotationCSVErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "empty; want a Date,User header"},
		{"no header", "2024-01-01,ann\n", `line 1: header is "2024-01-01","ann"; want Date,User`},
		{"bad date", "Date,User\n2024-01-01,ann\n2024-1-2,bob\n", `line 3: invalid date "2024-1-2"`},
		{"impossible date", "Date,User\n2024-02-30,ann\n", `line 2: invalid date "2024-02-30"`},
		{"out of order", "Date,User\n2024-01-02,ann\n2024-01-01,bob\n", "line 3: date 2024-01-01 is not after 2024-01-02"},
		{"duplicate", "Date,User\n2024-01-01,ann\n\n2024-01-01,bob\n", "line 4: date 2024-01-01 is not after 2024-01-01"},
		{"extra field", "Date,User\n2024-01-01,ann\n2024-01-02,bob,cat\n", "record on line 3: wrong number of fields"},
		{"bad quoting", "Date,User\n2024-01-01,a\"b\n", "line 2"},
		// Found by FuzzReadRotationCSV: the CR of a quoted CRLF is not read back.
		{"line break in a user", "Date,User\n2024-01-01,\"ann\r\nbob\"\n", `line 2: user "ann\nbob" has a line break`},
		{"control character in a user", "Date,User\n2024-01-01,ann\x07\n", "line 2: user \"ann\\a\" has a line break or another control character"},
	} {
		_, err := ReadRotationCSV(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ReadRotationCSV error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestEntriesMustBeInOrder(t *testing.T) {
	t.Parallel()
	disordered := []Entry{{Date: mustDate(t, "2024-01-02")}, {Date: mustDate(t, "2024-01-02")}}
	const want = "entry 2: date 2024-01-02 is not after 2024-01-02"
	var out bytes.Buffer
	if err := WriteRotationCSV(&out, disordered); err == nil || !strings.Contains(err.Error(), want) || out.Len() != 0 {
		t.Errorf("WriteRotationCSV = %v after writing %q, want error %q and nothing written", err, out.String(), want)
	}
	if _, err := FromEntries(disordered, time.UTC); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("FromEntries error = %v, want %q", err, want)
	}
	if _, err := FromEntries(nil, time.UTC); err == nil {
		t.Error("FromEntries(nil) succeeded")
	}
}

func TestReadOverridesCSV(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     map[Date]Override
	}{
		{
			name: "Tekton's layout with a header and comments",
			in:   "Date,User\n2024-12-25,,Happy holidays!\n2024-12-27, bob ,covering, for ann\n2024-12-30,cat\n",
			want: map[Date]Override{
				mustDate(t, "2024-12-25"): {Comment: "Happy holidays!"},
				mustDate(t, "2024-12-27"): {Person: "bob", Comment: "covering,for ann"},
				mustDate(t, "2024-12-30"): {Person: "cat"},
			},
		},
		{
			name: "no header",
			in:   "2024-12-30,cat\n",
			want: map[Date]Override{mustDate(t, "2024-12-30"): {Person: "cat"}},
		},
		{
			name: "lower-case three-column header",
			in:   "date,user,comment\n2024-12-30,cat,\n",
			want: map[Date]Override{mustDate(t, "2024-12-30"): {Person: "cat"}},
		},
		{name: "empty", in: "", want: map[Date]Override{}},
	} {
		got, err := ReadOverridesCSV(strings.NewReader(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: ReadOverridesCSV = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}

	for _, tc := range []struct {
		name, in, want string
	}{
		// Tekton's own rotation-overrides.csv, which its generator ignored.
		{"unpadded date", "Date,User\n2021-1-1,,Happy holidays!\n", `line 2: invalid date "2021-1-1"`},
		{"duplicate date", "2024-12-25,ann\n2024-12-25,bob\n", "line 2: 2024-12-25 is already overridden on line 1"},
		{"no user column", "Date,User\n2024-12-25\n", "line 2: want date,user[,comment], got 1 field"},
		{"header after the first line", "2024-12-25,ann\nDate,User\n", `line 2: invalid date "Date"`},
		{"bad quoting", "2024-12-25,\"ann\n", "overrides CSV"},
		{"line break in a user", "2024-12-25,\"ann\nbob\",away\n", `line 1: user "ann\nbob" has a line break`},
	} {
		_, err := ReadOverridesCSV(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: ReadOverridesCSV error = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func FuzzReadRotationCSV(f *testing.F) {
	f.Add([]byte("Date,User\n2022-04-29,dibyo\n2022-04-30,\n2022-05-01,\n2022-05-02,andrea.frittoli\n"))
	f.Add([]byte("date,user\r\n2024-01-01,\"a,b\"\r\n2024-01-03,\" c\"\n"))
	f.Add([]byte("Date,User\n2024-01-01,\"x\ny\"\n"))
	f.Add([]byte("Date,User\n2024-01-01,\"x\r\r\ny\"\n"))
	f.Add([]byte("Date,User\n2024-01-02,a\n2024-01-01,b\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ReadRotationCSV(bytes.NewReader(data))
		if err != nil {
			return
		}
		var first bytes.Buffer
		if err := WriteRotationCSV(&first, entries); err != nil {
			t.Fatalf("writing what was read: %v", err)
		}
		again, err := ReadRotationCSV(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("reading what was written: %v\n%q", err, first.Bytes())
		}
		if !reflect.DeepEqual(again, entries) && !(len(again) == 0 && len(entries) == 0) {
			t.Fatalf("read %v, wrote %q, read back %v", entries, first.Bytes(), again)
		}
		var second bytes.Buffer
		if err := WriteRotationCSV(&second, again); err != nil || !bytes.Equal(second.Bytes(), first.Bytes()) {
			t.Fatalf("second write %q (%v) differs from first %q", second.Bytes(), err, first.Bytes())
		}
	})
}

func TestOverridesCSVRoundTrip(t *testing.T) {
	t.Parallel()
	in := map[Date]Override{
		NewDate(2026, 12, 24): {Person: "", Comment: "Christmas Eve, nobody"},
		NewDate(2026, 11, 30): {Person: "vincent", Comment: "swapped with 2026-12-01"},
		NewDate(2026, 12, 1):  {Person: "andrea", Comment: "covers, \"quoted\""},
	}
	var b strings.Builder
	if err := WriteOverridesCSV(&b, in); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "date,user,comment\n2026-11-30,vincent,") {
		t.Errorf("not sorted or no header:\n%s", b.String())
	}
	out, err := ReadOverridesCSV(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(in, out) {
		t.Errorf("round trip: %v != %v", out, in)
	}
}
