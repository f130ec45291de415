package main

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"time"

	"tekbot/config"
	"tekbot/handlers"
	"tekbot/schedule"
)

// calendar serves the build-captain rotation as an iCalendar feed, from a
// month ago to four months ahead, with the changes made from chat.
type calendar struct {
	rotation schedule.Rotation
	changes  handlers.RotationStore
	token    string
}

func newCalendar(cfg config.Rotation, changes handlers.RotationStore) (*calendar, error) {
	rot, err := cfg.Schedule()
	if err != nil {
		return nil, fmt.Errorf("rotation: %w", err)
	}
	c := &calendar{rotation: rot, changes: changes}
	if cfg.CalendarToken != nil {
		if c.token, err = cfg.CalendarToken.Value(); err != nil {
			return nil, fmt.Errorf("rotation.calendarToken: %w", err)
		}
	}
	return c, nil
}

func (c *calendar) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if c.token != "" && subtle.ConstantTimeCompare([]byte(r.URL.Query().Get("token")), []byte(c.token)) != 1 {
		http.Error(w, "this feed needs ?token=", http.StatusUnauthorized)
		return
	}
	rot := c.rotation
	if c.changes != nil {
		changes, err := c.changes.Changes(r.Context())
		if err != nil {
			http.Error(w, "the rotation's changes cannot be read right now; try again", http.StatusServiceUnavailable)
			return
		}
		rot = changes.Apply(rot)
	}
	now := time.Now()
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	_ = rot.WriteICal(w, schedule.DateOf(now, rot.Location).AddDays(-30), 150, now)
}
