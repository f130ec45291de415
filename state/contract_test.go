package state_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"tekbot/state"
	"tekbot/test/fake"
	"tekbot/test/kube"
)

// backends are the implementations of the ConfigMaps port the contract
// holds for: the in-memory fake (short tier) and the real adapter on a
// real apiserver, so the fake cannot drift from Kubernetes.
var backends = []struct {
	name string
	new  func(t *testing.T) state.ConfigMaps
}{
	{"fake", func(t *testing.T) state.ConfigMaps { return fake.NewConfigMaps("tekbot") }},
	{"apiserver", func(t *testing.T) state.ConfigMaps {
		c := kube.Shared(t, "state")
		return state.ConfigMapsIn(c.Kube, c.Namespace(t))
	}},
}

// contract runs test against every backend.
func contract(t *testing.T, test func(t *testing.T, cms state.ConfigMaps)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			test(t, b.new(t))
		})
	}
}

func configMap(name string, labels, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}, Data: data}
}

func TestConfigMapsContractCreateGetUpdate(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, cms state.ConfigMaps) {
		ctx := context.Background()
		if _, err := cms.Get(ctx, "doc"); !apierrors.IsNotFound(err) {
			t.Fatalf("Get before Create: %v, want NotFound", err)
		}
		if _, err := cms.Update(ctx, configMap("doc", nil, map[string]string{"k": "v"})); !apierrors.IsNotFound(err) {
			t.Fatalf("Update before Create: %v, want NotFound", err)
		}
		created, err := cms.Create(ctx, configMap("doc", map[string]string{"a": "1"}, map[string]string{"k": "v1"}))
		if err != nil {
			t.Fatal(err)
		}
		if created.ResourceVersion == "" || created.UID == "" || created.Namespace == "" || created.CreationTimestamp.IsZero() {
			t.Fatalf("Create returned %+v, want resourceVersion, UID, namespace and creation time set", created.ObjectMeta)
		}
		if _, err := cms.Create(ctx, configMap("doc", nil, nil)); !apierrors.IsAlreadyExists(err) {
			t.Fatalf("second Create: %v, want AlreadyExists", err)
		}
		withVersion := configMap("other", nil, nil)
		withVersion.ResourceVersion = "1"
		if _, err := cms.Create(ctx, withVersion); err == nil {
			t.Fatal("Create with a resourceVersion succeeded")
		}

		got, err := cms.Get(ctx, "doc")
		if err != nil || got.Data["k"] != "v1" || got.ResourceVersion != created.ResourceVersion {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		// What Get returns is a copy: changing it changes nothing stored.
		got.Data["k"] = "scribbled"
		if again, _ := cms.Get(ctx, "doc"); again.Data["k"] != "v1" {
			t.Fatalf("a caller's change to a Get result was stored: %q", again.Data["k"])
		}

		got.Data["k"] = "v2"
		updated, err := cms.Update(ctx, got)
		if err != nil {
			t.Fatal(err)
		}
		if updated.ResourceVersion == got.ResourceVersion || updated.UID != created.UID {
			t.Fatalf("Update kept resourceVersion %s or changed UID %s → %s", updated.ResourceVersion, created.UID, updated.UID)
		}
		// The writer holding the old version loses.
		got.Data["k"] = "stale"
		if _, err := cms.Update(ctx, got); !apierrors.IsConflict(err) {
			t.Fatalf("Update with a stale resourceVersion: %v, want Conflict", err)
		}
		// Without a resourceVersion a ConfigMap update is unconditional.
		blind := configMap("doc", nil, map[string]string{"k": "v3"})
		if _, err := cms.Update(ctx, blind); err != nil {
			t.Fatalf("Update without resourceVersion: %v", err)
		}
		if now, _ := cms.Get(ctx, "doc"); now.Data["k"] != "v3" {
			t.Fatalf("after the unconditional update: %q", now.Data["k"])
		}

		huge := configMap("huge", nil, map[string]string{"k": strings.Repeat("x", 3<<19)})
		if _, err := cms.Create(ctx, huge); !apierrors.IsInvalid(err) {
			t.Fatalf("Create of 1.5 MiB: %v, want Invalid", err)
		}
	})
}

func TestConfigMapsContractDeleteAndList(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, cms state.ConfigMaps) {
		ctx := context.Background()
		for _, cm := range []*corev1.ConfigMap{
			configMap("page-a", map[string]string{"page": "open", "team": "x"}, nil),
			configMap("page-b", map[string]string{"page": "acked", "team": "x"}, nil),
			configMap("page-c", map[string]string{"page": "open"}, nil),
			configMap("unlabelled", nil, nil),
		} {
			if _, err := cms.Create(ctx, cm); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			selector string
			want     []string
		}{
			{"page=open", []string{"page-a", "page-c"}},
			{"page=open,team=x", []string{"page-a"}},
			{"page!=open", []string{"page-b", "unlabelled"}},
			{"team", []string{"page-a", "page-b"}},
			{"page in (open,acked),!team", []string{"page-c"}},
			{"", []string{"page-a", "page-b", "page-c", "unlabelled"}},
		} {
			list, err := cms.List(ctx, tc.selector)
			if err != nil {
				t.Fatalf("List(%q): %v", tc.selector, err)
			}
			var got []string
			for _, cm := range list {
				got = append(got, cm.Name)
			}
			if slices.Sort(got); !slices.Equal(got, tc.want) {
				t.Errorf("List(%q) = %v, want %v", tc.selector, got, tc.want)
			}
		}
		if _, err := cms.List(ctx, "page=(open"); err == nil {
			t.Error("List with a broken selector succeeded")
		}

		old, err := cms.Get(ctx, "page-a")
		if err != nil {
			t.Fatal(err)
		}
		// An update that changes nothing is not a write: the version stays.
		if same, err := cms.Update(ctx, old); err != nil || same.ResourceVersion != old.ResourceVersion {
			t.Fatalf("an update changing nothing: version %s → %v, %v", old.ResourceVersion, same.ResourceVersion, err)
		}
		changed := old.DeepCopy()
		changed.Data = map[string]string{"acked": "no"}
		a, err := cms.Update(ctx, changed)
		if err != nil {
			t.Fatal(err)
		}
		otherUID, staleVersion := types.UID("0e7b4f0c-0000-4000-8000-000000000000"), old.ResourceVersion
		for _, pre := range []*metav1.Preconditions{{UID: &otherUID}, {ResourceVersion: &staleVersion}} {
			if err := cms.Delete(ctx, "page-a", pre); !apierrors.IsConflict(err) {
				t.Fatalf("Delete with precondition %+v: %v, want Conflict", pre, err)
			}
		}
		if err := cms.Delete(ctx, "page-a", &metav1.Preconditions{UID: &a.UID, ResourceVersion: &a.ResourceVersion}); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "page-a", nil); !apierrors.IsNotFound(err) {
			t.Fatalf("second Delete: %v, want NotFound", err)
		}
		// A new object of the same name is another object: a precondition
		// on the old one's UID refuses to delete it.
		if _, err := cms.Create(ctx, configMap("page-a", nil, nil)); err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "page-a", &metav1.Preconditions{UID: &a.UID}); !apierrors.IsConflict(err) {
			t.Fatalf("Delete of a re-created object on the old UID: %v, want Conflict", err)
		}
	})
}

// counter is the smallest document: a number and who wrote it.
type counter struct {
	N       int
	Writers []string
}

func counterDoc(cms state.ConfigMaps) *state.Doc[counter] {
	return &state.Doc[counter]{
		ConfigMaps: cms, Name: "tekbot-counter",
		Decode: func(cm *corev1.ConfigMap) (counter, error) {
			var c counter
			if cm == nil {
				return c, nil
			}
			if cm.Data["n"] == "" {
				return c, errors.New("no n")
			}
			for _, w := range strings.Fields(cm.Data["writers"]) {
				c.N++
				c.Writers = append(c.Writers, w)
			}
			return c, nil
		},
		Encode: func(c counter, cm *corev1.ConfigMap) error {
			cm.Data = map[string]string{"n": strings.Repeat("|", c.N), "writers": strings.Join(c.Writers, " ")}
			return nil
		},
	}
}

func TestDocContract(t *testing.T) {
	t.Parallel()
	contract(t, func(t *testing.T, cms state.ConfigMaps) {
		ctx := context.Background()
		doc := counterDoc(cms)
		if c, err := doc.Get(ctx); err != nil || c.N != 0 {
			t.Fatalf("Get before the first write: %+v, %v", c, err)
		}

		// Ten replicas change it at once: every change lands, the first
		// writers racing to create it included.
		var wg sync.WaitGroup
		for i := range 10 {
			wg.Go(func() {
				_, err := doc.Update(ctx, func(c *counter) error {
					c.Writers = append(c.Writers, string(rune('a'+i)))
					c.N++
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		c, err := doc.Get(ctx)
		if err != nil || c.N != 10 {
			t.Fatalf("after 10 concurrent updates: %+v, %v; want 10 writers", c, err)
		}
		cm, err := cms.Get(ctx, "tekbot-counter")
		if err != nil || cm.Labels[state.LabelManagedBy] != "tekbot" {
			t.Fatalf("the document's ConfigMap: %+v, %v; want it labelled managed-by tekbot", cm, err)
		}

		// A writer that loses to another runs its change again on what the
		// other wrote: both land.
		calls := 0
		saved, err := doc.Update(ctx, func(c *counter) error {
			if calls++; calls == 1 {
				other, err := doc.Decode(mustGet(t, cms, "tekbot-counter"))
				if err != nil {
					return err
				}
				other.N, other.Writers = other.N+1, append(other.Writers, "other")
				cm := mustGet(t, cms, "tekbot-counter")
				if err := doc.Encode(other, cm); err != nil {
					return err
				}
				if _, err := cms.Update(ctx, cm); err != nil {
					return err
				}
			}
			c.N, c.Writers = c.N+1, append(c.Writers, "loser")
			return nil
		})
		if err != nil || calls != 2 || saved.N != 12 || !slices.Contains(saved.Writers, "other") || !slices.Contains(saved.Writers, "loser") {
			t.Fatalf("a writer that lost once: %+v, %v after %d calls; want both writes, 12 writers, after 2 calls", saved, err, calls)
		}

		// A refusal from change reaches the caller as is, and saves nothing.
		refused := errors.New("refused")
		if _, err := doc.Update(ctx, func(c *counter) error { c.N = 99; return refused }); err != refused {
			t.Fatalf("Update's refusal: %v, want the change's own error", err)
		}
		// A Conflict from change is change's error, not a reason to retry.
		tries := 0
		changeConflict := apierrors.NewConflict(corev1.Resource("configmaps"), "elsewhere", errors.New("not ours"))
		if _, err := doc.Update(ctx, func(*counter) error { tries++; return changeConflict }); err != changeConflict || tries != 1 {
			t.Fatalf("a Conflict from change: %v after %d tries, want it returned after 1", err, tries)
		}
		saved, err = doc.Update(ctx, func(c *counter) error { c.Writers = append(c.Writers, "z"); c.N++; return nil })
		if err != nil || saved.N != 13 {
			t.Fatalf("Update returned %+v, %v; want the saved document, 13 writers", saved, err)
		}

		// Create stores once: a retried request finds the first's.
		created := make(chan bool, 8)
		for i := range cap(created) {
			wg.Go(func() {
				ok, err := counterDoc(cms).Create(ctx, counter{N: 1, Writers: []string{string(rune('a' + i))}})
				if err != nil {
					t.Error(err)
				}
				created <- ok
			})
		}
		wg.Wait()
		close(created)
		// The counter exists already: none of them creates it.
		for ok := range created {
			if ok {
				t.Fatal("Create replaced an existing document")
			}
		}
		fresh := &state.Doc[counter]{ConfigMaps: cms, Name: "tekbot-fresh", Decode: doc.Decode, Encode: doc.Encode}
		if ok, err := fresh.Create(ctx, counter{N: 1, Writers: []string{"first"}}); !ok || err != nil {
			t.Fatalf("Create of a new document: %v, %v", ok, err)
		}
		if ok, err := fresh.Create(ctx, counter{N: 1, Writers: []string{"second"}}); ok || err != nil {
			t.Fatalf("second Create: %v, %v; want false, nil", ok, err)
		}
		if c, err := fresh.Get(ctx); err != nil || c.Writers[0] != "first" {
			t.Fatalf("after two Creates: %+v, %v; want the first", c, err)
		}

		// A document that does not decode is an error, and Update does
		// not overwrite it.
		broken, err := cms.Get(ctx, "tekbot-fresh")
		if err != nil {
			t.Fatal(err)
		}
		broken.Data = map[string]string{"writers": "x"}
		if _, err := cms.Update(ctx, broken); err != nil {
			t.Fatal(err)
		}
		if _, err := fresh.Update(ctx, func(c *counter) error { c.N = 0; return nil }); err == nil {
			t.Fatal("Update over an undecodable document succeeded")
		}
		if kept, _ := cms.Get(ctx, "tekbot-fresh"); kept.Data["writers"] != "x" {
			t.Fatalf("Update overwrote an undecodable document: %v", kept.Data)
		}
	})
}

// TestDocUpdateEndsWithItsContext: a writer that keeps losing to another
// stops when its context ends, saying why, and saves nothing.
func TestDocUpdateEndsWithItsContext(t *testing.T) {
	t.Parallel()
	cms := fake.NewConfigMaps("tekbot")
	doc := counterDoc(cms)
	if _, err := doc.Update(context.Background(), func(c *counter) error { c.N = 1; c.Writers = []string{"a"}; return nil }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := doc.Update(ctx, func(c *counter) error {
		// Another replica writes between this read and its write, every
		// time.
		cm, err := cms.Get(context.Background(), "tekbot-counter")
		if err != nil {
			return err
		}
		cm.Data["writers"] += " other"
		if _, err := cms.Update(context.Background(), cm); err != nil {
			return err
		}
		c.Writers = append(c.Writers, "loser")
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update against a writer that always wins: %v, want context.DeadlineExceeded", err)
	}
	if c, _ := doc.Get(context.Background()); slices.Contains(c.Writers, "loser") {
		t.Fatalf("the losing writer's change was saved: %v", c.Writers)
	}
}

func mustGet(t *testing.T, cms state.ConfigMaps, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := cms.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return cm
}
