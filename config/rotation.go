package config

import (
	"errors"
	"time"

	"tekbot/schedule"
)

// Schedule turns the validated rotation into the rotation maths' input.
func (c Rotation) Schedule() (schedule.Rotation, error) {
	if len(c.Roster) == 0 {
		return schedule.Rotation{}, errors.New("rotation.roster is empty")
	}
	loc, err := time.LoadLocation(c.TimeZone)
	if err != nil {
		return schedule.Rotation{}, err
	}
	handoff, err := schedule.ParseTimeOfDay(c.Handoff)
	if err != nil {
		return schedule.Rotation{}, err
	}
	start, err := schedule.ParseDate(c.Start)
	if err != nil {
		return schedule.Rotation{}, err
	}
	rot := schedule.Rotation{
		Roster: c.Roster, Location: loc, Handoff: handoff, Start: start,
		StartPerson: c.StartPerson, Holidays: map[schedule.Date]string{},
	}
	for _, d := range c.WorkingDays {
		wd, _ := ParseWeekday(d)
		rot.WorkingDays = append(rot.WorkingDays, wd)
	}
	for _, s := range c.Holidays {
		d, err := schedule.ParseDate(s)
		if err != nil {
			return schedule.Rotation{}, err
		}
		rot.Holidays[d] = "holiday"
	}
	return rot, rot.Validate()
}
