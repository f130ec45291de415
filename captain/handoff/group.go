package handoff

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"

	"tekbot/schedule"
	"tekbot/state"
)

// GroupSetter sets a Slack user group's members (usergroups.users.update).
type GroupSetter interface {
	SetGroupMembers(ctx context.Context, group string, users []string) error
}

// Group keeps a Slack user group (@build-captain) set to the captain on
// duty: at each handoff and after every swap, cover or day off made from
// chat. The last result is kept in the apiserver, so that every replica's
// `captain` command can tell whether the group is right, and so that a
// restart does not set it again.
type Group struct {
	ID string
	// Rotation is the rotation with the changes made from chat.
	Rotation func(ctx context.Context) (schedule.Rotation, error)
	// SlackID maps a config name to a Slack user ID ("" if unknown).
	SlackID func(person string) string
	Slack   GroupSetter
	Status  *GroupStatus
	Log     *slog.Logger
}

// Tick sets the group to the captain on duty at now, unless it already is.
// On a day with nobody on duty (a weekend, a day off) the group keeps the
// last captain: Slack refuses an empty user group, and someone should
// still answer @build-captain. A failure is recorded and returned; the
// next tick retries.
func (g *Group) Tick(ctx context.Context, now time.Time) error {
	rot, err := g.Rotation(ctx)
	if err != nil {
		return err
	}
	person := rot.At(now).Person
	if person == "" {
		return nil
	}
	user := g.SlackID(person)
	if user == "" {
		return fmt.Errorf("%s has no Slack user ID in tekbot's config", person)
	}
	st, err := g.Status.Get(ctx)
	if err != nil {
		return err
	}
	if st.Member == user && st.Failing.IsZero() {
		return nil
	}
	err = g.Slack.SetGroupMembers(ctx, g.ID, []string{user})
	next := GroupState{Person: person, Member: user, Since: now}
	if err != nil {
		next = st
		next.Person = person
		if next.Failing.IsZero() {
			next.Failing = now
		}
		g.Log.Error("setting the captain user group failed; retrying", "group", g.ID, "person", person, "err", err)
	} else {
		g.Log.Info("captain user group set", "group", g.ID, "person", person)
	}
	if serr := g.Status.Put(ctx, next); serr != nil {
		return fmt.Errorf("recording the captain group: %w", serr)
	}
	if err != nil {
		return fmt.Errorf("setting user group %s to %s: %w", g.ID, person, err)
	}
	return nil
}

// Run ticks every interval until ctx ends: a swap shows in the group
// within one interval.
func (g *Group) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := g.Tick(ctx, time.Now()); err != nil {
			g.Log.Error("captain group tick failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// GroupState is what the group was last set to. Failing, when set, says
// since when setting it to Person has failed.
type GroupState struct {
	Person  string
	Member  string
	Since   time.Time
	Failing time.Time
}

// GroupStatus keeps GroupState in a ConfigMap in the state namespace.
type GroupStatus struct {
	ConfigMaps state.ConfigMaps
}

const groupConfigMap = "tekbot-captain-group"

func (s *GroupStatus) doc() *state.Doc[GroupState] {
	return &state.Doc[GroupState]{ConfigMaps: s.ConfigMaps, Name: groupConfigMap, Decode: decodeGroup, Encode: encodeGroup}
}

// Get returns the state; it is empty before the group was first set.
func (s *GroupStatus) Get(ctx context.Context) (GroupState, error) {
	st, err := s.doc().Get(ctx)
	if err != nil {
		return GroupState{}, fmt.Errorf("reading the captain group's state: %w", err)
	}
	return st, nil
}

// Put saves the state. Only the leader writes it, so the last write wins.
func (s *GroupStatus) Put(ctx context.Context, st GroupState) error {
	_, err := s.doc().Update(ctx, func(old *GroupState) error {
		*old = st
		return nil
	})
	return err
}

func decodeGroup(cm *corev1.ConfigMap) (GroupState, error) {
	if cm == nil {
		return GroupState{}, nil
	}
	st := GroupState{Person: cm.Data["person"], Member: cm.Data["member"]}
	st.Since, _ = time.Parse(time.RFC3339, cm.Data["since"])
	st.Failing, _ = time.Parse(time.RFC3339, cm.Data["failing"])
	return st, nil
}

func encodeGroup(st GroupState, cm *corev1.ConfigMap) error {
	stamp := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	cm.Data = map[string]string{"person": st.Person, "member": st.Member, "since": stamp(st.Since), "failing": stamp(st.Failing)}
	return nil
}

// Report says in one line whether the group follows the rotation, for the
// captain command. It never shows the error, which is in the log.
func (st GroupState) Report(loc *time.Location) string {
	switch {
	case st.Person == "":
		return "@build-captain has not been set yet."
	case !st.Failing.IsZero():
		return fmt.Sprintf(":warning: @build-captain could not be set to %s since %s; tekbot keeps retrying (details in its log).", st.Person, st.Failing.In(loc).Format("Mon 15:04"))
	}
	return fmt.Sprintf("@build-captain is %s (set %s).", st.Person, st.Since.In(loc).Format("Mon 15:04"))
}
