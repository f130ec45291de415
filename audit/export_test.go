package audit

import "time"

// Queueing reports whether Run has taken over writing the events.
func (a *EventAuditor) Queueing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queue != nil
}

// HoldFor makes Run hold events for at most d while commands run, and
// tells held each time it starts holding one.
func (a *EventAuditor) HoldFor(d time.Duration, held func()) {
	a.maxHold, a.held = d, held
}
