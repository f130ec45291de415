package audit

// Queueing reports whether Run has taken over writing the events.
func (a *EventAuditor) Queueing() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queue != nil
}
