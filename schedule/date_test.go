package schedule

import (
	"testing"
	"time"
)

// mustDate parses a YYYY-MM-DD date in a test, failing it on error.
func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDateAgreesWithTime checks Date's day-count arithmetic against the time
// package over eight centuries, leap years and negative Unix times included.
func TestDateAgreesWithTime(t *testing.T) {
	t.Parallel()
	for day := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC); day.Year() < 2400; day = day.AddDate(0, 0, 13) {
		d := NewDate(day.Date())
		if got, want := d.String(), day.Format(dateLayout); got != want {
			t.Fatalf("String() = %s, want %s", got, want)
		}
		if got, want := d.Weekday(), day.Weekday(); got != want {
			t.Fatalf("%s: Weekday() = %s, want %s", d, got, want)
		}
		if got, want := d.AddDays(400).String(), day.AddDate(0, 0, 400).Format(dateLayout); got != want {
			t.Fatalf("%s: AddDays(400) = %s, want %s", d, got, want)
		}
		if got, want := d.AddDays(-1).String(), day.AddDate(0, 0, -1).Format(dateLayout); got != want {
			t.Fatalf("%s: AddDays(-1) = %s, want %s", d, got, want)
		}
	}
}

func TestDateBasics(t *testing.T) {
	t.Parallel()
	a, b := mustDate(t, "2024-02-28"), mustDate(t, "2024-03-01")
	if got := b.Sub(a); got != 2 {
		t.Errorf("Sub across 29 February = %d, want 2", got)
	}
	if !a.Before(b) || a.After(b) || b.Before(a) || !b.After(a) || a.Before(a) || a.After(a) {
		t.Error("Before/After disagree with the order 2024-02-28 < 2024-03-01")
	}
	if a.AddDays(2) != b {
		t.Error("2024-02-28 + 2 days != 2024-03-01 with ==")
	}
	if got := NewDate(2024, 2, 30); got != b {
		t.Errorf("NewDate(2024, 2, 30) = %s, want normalised to %s", got, b)
	}
	if year, month, day := b.Civil(); year != 2024 || month != time.March || day != 1 {
		t.Errorf("Civil() = %d, %s, %d", year, month, day)
	}
	if zero := (Date{}); !zero.IsZero() || zero.String() != "0001-01-01" || a.IsZero() {
		t.Errorf("zero Date = %s (IsZero %v), want 0001-01-01", zero, zero.IsZero())
	}
	set := map[Date]bool{a: true}
	if !set[mustDate(t, "2024-02-28")] {
		t.Error("equal dates are not the same map key")
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want string // want "" means an error
	}{
		{"2022-04-29", "2022-04-29"},
		{"2024-02-29", "2024-02-29"},
		{"0001-01-01", "0001-01-01"},
		{"2023-02-29", ""},
		{"2021-1-1", ""}, // Tekton's own overrides file has this form
		{"2022-04-29 ", ""},
		{"29/04/2022", ""},
		{"", ""},
	} {
		got, err := ParseDate(tc.in)
		switch {
		case tc.want == "" && err == nil:
			t.Errorf("ParseDate(%q) = %s, want an error", tc.in, got)
		case tc.want != "" && err != nil:
			t.Errorf("ParseDate(%q): %v", tc.in, err)
		case tc.want != "" && got.String() != tc.want:
			t.Errorf("ParseDate(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestDateOf(t *testing.T) {
	t.Parallel()
	rome, err := time.LoadLocation("Europe/Rome")
	if err != nil {
		t.Fatal(err)
	}
	instant := time.Date(2024, 3, 31, 23, 30, 0, 0, time.UTC) // 01:30 on 1 April in Rome
	if got := DateOf(instant, rome); got != mustDate(t, "2024-04-01") {
		t.Errorf("DateOf in Rome = %s, want 2024-04-01", got)
	}
	if got := DateOf(instant, nil); got != mustDate(t, "2024-03-31") {
		t.Errorf("DateOf with nil location = %s, want t's own 2024-03-31", got)
	}
}

func TestTextMarshalling(t *testing.T) {
	t.Parallel()
	var d Date
	if err := d.UnmarshalText([]byte("2023-04-28")); err != nil || d != mustDate(t, "2023-04-28") {
		t.Errorf("UnmarshalText = %s, %v", d, err)
	}
	if text, _ := d.MarshalText(); string(text) != "2023-04-28" {
		t.Errorf("MarshalText = %s", text)
	}
	if err := d.UnmarshalText([]byte("tomorrow")); err == nil {
		t.Error("UnmarshalText(tomorrow) succeeded")
	}
	var c TimeOfDay
	if err := c.UnmarshalText([]byte("09:30")); err != nil || c != (TimeOfDay{9, 30}) {
		t.Errorf("UnmarshalText = %v, %v", c, err)
	}
	if text, _ := c.MarshalText(); string(text) != "09:30" {
		t.Errorf("MarshalText = %s", text)
	}
}

func TestParseTimeOfDay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in      string
		want    TimeOfDay
		wantErr bool
	}{
		{in: "09:00", want: TimeOfDay{9, 0}},
		{in: "23:59", want: TimeOfDay{23, 59}},
		{in: "00:00", want: TimeOfDay{0, 0}},
		{in: "24:00", wantErr: true},
		{in: "09:60", wantErr: true},
		{in: "9am", wantErr: true},
	} {
		got, err := ParseTimeOfDay(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseTimeOfDay(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("%v.String() = %s, want %s", got, got.String(), tc.in)
		}
	}
}
