package triage

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// numbered is n log lines "line 1" … "line n", with the given lines
// replaced.
func numbered(n int, at map[int]string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if l, ok := at[i]; ok {
			b.WriteString(l + "\n")
		} else {
			fmt.Fprintf(&b, "line %d\n", i)
		}
	}
	return b.String()
}

func TestPick(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		log  string
		want []string
	}{
		{name: "empty log", log: "", want: nil},
		{name: "error at line 20 of 220, with context",
			log:  numbered(220, map[int]string{20: "main.go:12: error: undefined: x"}),
			want: []string{gap, "line 18", "line 19", "main.go:12: error: undefined: x", "line 21", "line 22", "line 23", gap}},
		{name: "go test failure and its summary, in order",
			log: numbered(100, map[int]string{10: "--- FAIL: TestA (0.00s)", 98: "FAIL\ttekbot/x\t0.1s"}),
			want: []string{gap, "line 8", "line 9", "--- FAIL: TestA (0.00s)", "line 11", "line 12", "line 13", gap,
				"line 96", "line 97", "FAIL\ttekbot/x\t0.1s", "line 99", "line 100"}},
		{name: "overlapping windows merge",
			log:  numbered(10, map[int]string{4: "panic: boom", 6: "Error: again"}),
			want: []string{gap, "line 2", "line 3", "panic: boom", "line 5", "Error: again", "line 7", "line 8", "line 9", gap}},
		{name: "no signal: the last lines",
			log:  numbered(30, nil),
			want: []string{gap, "line 21", "line 22", "line 23", "line 24", "line 25", "line 26", "line 27", "line 28", "line 29", "line 30"}},
		{name: "a signal on the first line: no leading gap",
			log:  numbered(3, map[int]string{1: "fatal: not a git repository"}),
			want: []string{"fatal: not a git repository", "line 2", "line 3"}},
		{name: "CRLF log", log: "a\r\nerror: b\r\n", want: []string{"a", "error: b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := pick(tc.log); !slices.Equal(got, tc.want) {
				t.Errorf("pick() =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestPickIsBounded(t *testing.T) {
	t.Parallel()
	at := map[int]string{}
	for i := 5; i <= 1000; i += 10 {
		at[i] = "Error: number " + fmt.Sprint(i)
	}
	got := pick(numbered(1000, at))
	if len(got) > maxTaskLines {
		t.Errorf("pick kept %d lines, want at most %d", len(got), maxTaskLines)
	}
	if got[len(got)-1] != gap {
		t.Errorf("pick's last line = %q, want %q to say lines were left out", got[len(got)-1], gap)
	}
	if !slices.Contains(got, "Error: number 5") {
		t.Errorf("pick lost the first error: %q", got)
	}
}
