package audit_test

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"tekbot/audit"
	"tekbot/test/fake"
	"tekbot/test/kube"
)

// TestEventsContract runs the same tests on the in-memory Events and on
// the real adapter on a real apiserver, so the fake the auditor's tests use
// cannot drift from Kubernetes: names taken once, label and field
// selectors, a field Events cannot be selected by refused.
func TestEventsContract(t *testing.T) {
	t.Parallel()
	for _, b := range []struct {
		name string
		new  func(t *testing.T) (events audit.Events, ns, other string)
	}{
		{"fake", func(t *testing.T) (audit.Events, string, string) { return fake.NewEvents(), "tekbot", "ci" }},
		{"apiserver", func(t *testing.T) (audit.Events, string, string) {
			c := kube.Shared(t, "audit")
			return audit.EventsIn(c.Kube), c.Namespace(t), c.Namespace(t)
		}},
	} {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			events, ns, other := b.new(t)
			ctx := context.Background()
			event := func(ns, name, reason, kind string, labels map[string]string) *corev1.Event {
				return &corev1.Event{
					ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels},
					InvolvedObject: corev1.ObjectReference{Kind: kind, APIVersion: "v1", Namespace: ns, Name: "obj-" + name},
					Reason:         reason, Message: "m", Type: corev1.EventTypeNormal, Source: corev1.EventSource{Component: "tekbot"},
					FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(), Count: 1,
				}
			}
			ours := map[string]string{"app.kubernetes.io/managed-by": "tekbot"}
			for _, ev := range []*corev1.Event{
				event(ns, "a", "TekbotCommand", "ServiceAccount", ours),
				event(ns, "b", "TekbotCommand", "PipelineRun", ours),
				event(ns, "c", "Other", "ServiceAccount", ours),
				event(ns, "d", "TekbotCommand", "ServiceAccount", nil),
				event(other, "e", "TekbotCommand", "ServiceAccount", ours),
			} {
				if err := events.Create(ctx, ev); err != nil {
					t.Fatal(err)
				}
			}
			if err := events.Create(ctx, event(ns, "a", "TekbotCommand", "ServiceAccount", ours)); !apierrors.IsAlreadyExists(err) {
				t.Fatalf("a second event of the same name: %v, want AlreadyExists", err)
			}
			for _, tc := range []struct {
				ns, labels, fields string
				want               []string
			}{
				{ns, "app.kubernetes.io/managed-by=tekbot", "reason=TekbotCommand,involvedObject.kind=ServiceAccount", []string{"a"}},
				{ns, "", "reason=TekbotCommand", []string{"a", "b", "d"}},
				{ns, "", "involvedObject.name=obj-c", []string{"c"}},
				{ns, "app.kubernetes.io/managed-by=tekbot", "", []string{"a", "b", "c"}},
				{other, "", "", []string{"e"}},
			} {
				list, err := events.List(ctx, tc.ns, tc.labels, tc.fields)
				if err != nil {
					t.Fatalf("List(%q, %q): %v", tc.labels, tc.fields, err)
				}
				var got []string
				for _, ev := range list {
					got = append(got, ev.Name)
				}
				if slices.Sort(got); !slices.Equal(got, tc.want) {
					t.Errorf("List(%s, %q, %q) = %v, want %v", tc.ns, tc.labels, tc.fields, got, tc.want)
				}
			}
			if _, err := events.List(ctx, ns, "", "message=m"); err == nil {
				t.Error("selecting Events by a field the apiserver does not index succeeded")
			}
		})
	}
}
