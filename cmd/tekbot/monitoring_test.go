package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tekbot/bot"
	"tekbot/captain/paging"
	"tekbot/schedule"
	"tekbot/test/poll"
)

func TestHandoffDue(t *testing.T) {
	t.Parallel()
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	rot := schedule.Rotation{
		Roster: []string{"ana", "bo"}, Location: paris, Handoff: schedule.TimeOfDay{Hour: 9},
		Start: schedule.NewDate(2026, 11, 2), Holidays: map[schedule.Date]string{schedule.NewDate(2026, 12, 1): "off"},
	}
	at := func(y int, m time.Month, d, h, min int) time.Time { return time.Date(y, m, d, h, min, 0, 0, paris) }
	for _, tc := range []struct {
		name     string
		now, due time.Time
	}{
		{"a weekday after the handoff", at(2026, 11, 30, 9, 20), at(2026, 11, 30, 9, 0)},
		{"at the handoff", at(2026, 11, 30, 9, 0), at(2026, 11, 30, 9, 0)},
		{"a weekday before the handoff: yesterday's", at(2026, 11, 27, 8, 59), at(2026, 11, 26, 9, 0)},
		{"Monday before the handoff: Friday's", at(2026, 11, 30, 8, 0), at(2026, 11, 27, 9, 0)},
		{"the weekend: Friday's", at(2026, 11, 29, 15, 0), at(2026, 11, 27, 9, 0)},
		// A holiday still gets a handoff ("nobody is on duty today").
		{"a holiday", at(2026, 12, 1, 10, 0), at(2026, 12, 1, 9, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := handoffDue(rot, tc.now); !got.Equal(tc.due) {
				t.Errorf("handoffDue(%v) = %v, want %v", tc.now, got, tc.due)
			}
		})
	}
}

func TestCountPages(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	got := countPages([]*paging.Page{
		{ID: "a", Delivered: true, NextEscalation: now.Add(time.Minute)},
		{ID: "b", Delivered: true, Level: 1, NextEscalation: now.Add(-time.Minute)},
		{ID: "c", Delivered: true, Level: 2, NextEscalation: now.Add(-time.Hour)},
		// Waiting for the next duty day: not escalating yet.
		{ID: "d", DeliverAt: now.Add(12 * time.Hour)},
	}, now)
	want := bot.PageCounts{Open: map[string]int{"captain": 2, "backup": 1, "channel": 1}, PastEscalation: 2}
	if got.PastEscalation != want.PastEscalation || len(got.Open) != len(want.Open) {
		t.Fatalf("countPages = %+v, want %+v", got, want)
	}
	for step, n := range want.Open {
		if got.Open[step] != n {
			t.Errorf("open at %s = %d, want %d", step, got.Open[step], n)
		}
	}
}

// Requests to the apiservers are counted by code, for the apiserver-errors
// alert.
func TestAPIServerRequestsInMetrics(t *testing.T) {
	t.Parallel()
	a, _ := testApp(t)
	srv := httptest.NewServer(a.mux)
	defer srv.Close()
	startApp(t, a)
	poll.Until(t, "/readyz answers 200", time.Minute, func() bool {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `tekbot_apiserver_requests_total{code="200",host="127.0.0.1:`) {
		t.Errorf("/metrics lacks apiserver requests by code:\n%s", body)
	}
}
