package schedule

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestWriteICal(t *testing.T) {
	t.Parallel()
	rome, _ := time.LoadLocation("Europe/Rome")
	r := Rotation{
		Roster: []string{"andrea", "vincent"}, Location: rome, Handoff: TimeOfDay{Hour: 9},
		Start:     NewDate(2026, 11, 20), // a Friday
		Overrides: map[Date]Override{NewDate(2026, 11, 24): {Person: "jérôme, the covering; hero", Comment: strings.Repeat("long comment ", 10)}},
	}
	var b strings.Builder
	if err := r.WriteICal(&b, NewDate(2026, 11, 20), 5, time.Date(2026, 11, 19, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	// Fri andrea, Mon vincent, Tue the override; the weekend has no event.
	if n := strings.Count(out, "BEGIN:VEVENT"); n != 3 {
		t.Fatalf("%d events, want 3:\n%s", n, out)
	}
	for _, want := range []string{
		"DTSTART;VALUE=DATE:20261120\r\nDTEND;VALUE=DATE:20261121\r\nSUMMARY:Build captain: andrea\r\n",
		"SUMMARY:Build captain: vincent", `SUMMARY:Build captain: jérôme\, the covering\; hero`,
		"UID:2026-11-23@build-captain.tekbot", "DTSTAMP:20261119T120000Z", "END:VCALENDAR\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("feed lacks %q", want)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) > 75 || !utf8.ValidString(line) {
			t.Errorf("line not folded at 75 octets on a character boundary: %q", line)
		}
	}
	if strings.Contains(strings.ReplaceAll(out, "\r\n", ""), "\n") {
		t.Error("a bare LF in the feed")
	}
}
