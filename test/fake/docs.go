package fake

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ConfigMaps is the state.ConfigMaps port in memory: the ConfigMaps of one
// namespace, answering as the apiserver does (AlreadyExists, NotFound,
// Conflict on a stale resourceVersion or a failed precondition, copies in
// and out). The contract suite in package state runs the same tests on it
// and on the real adapter.
type ConfigMaps struct {
	namespace string

	mu      sync.Mutex
	version int
	objects map[string]*corev1.ConfigMap
}

// NewConfigMaps returns an empty namespace.
func NewConfigMaps(namespace string) *ConfigMaps {
	return &ConfigMaps{namespace: namespace, objects: map[string]*corev1.ConfigMap{}}
}

var (
	configMapsResource = corev1.Resource("configmaps")
	configMapKind      = schema.GroupKind{Kind: "ConfigMap"}
)

// maxConfigMapData is the apiserver's limit on a ConfigMap's data.
const maxConfigMapData = 1 << 20

// Get implements state.ConfigMaps.
func (f *ConfigMaps) Get(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	cm, ok := f.objects[name]
	if !ok {
		return nil, apierrors.NewNotFound(configMapsResource, name)
	}
	return cm.DeepCopy(), nil
}

// List implements state.ConfigMaps, in name order as the apiserver lists.
func (f *ConfigMaps) List(ctx context.Context, labelSelector string) ([]corev1.ConfigMap, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sel, err := labels.Parse(labelSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []corev1.ConfigMap
	for _, name := range slices.Sorted(maps.Keys(f.objects)) {
		if cm := f.objects[name]; sel.Matches(labels.Set(cm.Labels)) {
			out = append(out, *cm.DeepCopy())
		}
	}
	return out, nil
}

// Create implements state.ConfigMaps.
func (f *ConfigMaps) Create(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.valid(cm); err != nil {
		return nil, err
	}
	if cm.ResourceVersion != "" {
		return nil, apierrors.NewBadRequest("resourceVersion should not be set on objects to be created")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.objects[cm.Name]; ok {
		return nil, apierrors.NewAlreadyExists(configMapsResource, cm.Name)
	}
	stored := cm.DeepCopy()
	stored.Namespace = f.namespace
	stored.UID = types.UID(uuid.NewUUID())
	stored.CreationTimestamp = metav1.NewTime(time.Now().Truncate(time.Second))
	f.store(stored)
	return stored.DeepCopy(), nil
}

// Update implements state.ConfigMaps: an empty resourceVersion updates
// unconditionally, as the apiserver allows for ConfigMaps.
func (f *ConfigMaps) Update(ctx context.Context, cm *corev1.ConfigMap) (*corev1.ConfigMap, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := f.valid(cm); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.objects[cm.Name]
	switch {
	case !ok:
		return nil, apierrors.NewNotFound(configMapsResource, cm.Name)
	case cm.ResourceVersion != "" && cm.ResourceVersion != old.ResourceVersion:
		return nil, apierrors.NewConflict(configMapsResource, cm.Name,
			fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	case cm.UID != "" && cm.UID != old.UID:
		return nil, apierrors.NewConflict(configMapsResource, cm.Name, fmt.Errorf("UID in object meta: %s does not match stored %s", cm.UID, old.UID))
	}
	stored := cm.DeepCopy()
	stored.Namespace, stored.UID, stored.CreationTimestamp = f.namespace, old.UID, old.CreationTimestamp
	if configMapUnchanged(old, stored) {
		// The apiserver does not write an update that changes nothing.
		return old.DeepCopy(), nil
	}
	f.store(stored)
	return stored.DeepCopy(), nil
}

// Delete implements state.ConfigMaps.
func (f *ConfigMaps) Delete(ctx context.Context, name string, pre *metav1.Preconditions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	old, ok := f.objects[name]
	if !ok {
		return apierrors.NewNotFound(configMapsResource, name)
	}
	if pre != nil {
		if pre.UID != nil && *pre.UID != old.UID {
			return apierrors.NewConflict(configMapsResource, name, fmt.Errorf("precondition failed: UID in precondition: %v, UID in object meta: %v", *pre.UID, old.UID))
		}
		if pre.ResourceVersion != nil && *pre.ResourceVersion != old.ResourceVersion {
			return apierrors.NewConflict(configMapsResource, name, fmt.Errorf("precondition failed: ResourceVersion in precondition: %v, ResourceVersion in object meta: %v", *pre.ResourceVersion, old.ResourceVersion))
		}
	}
	delete(f.objects, name)
	return nil
}

func configMapUnchanged(old, cm *corev1.ConfigMap) bool {
	return maps.Equal(old.Data, cm.Data) && maps.EqualFunc(old.BinaryData, cm.BinaryData, bytes.Equal) &&
		maps.Equal(old.Labels, cm.Labels) && maps.Equal(old.Annotations, cm.Annotations)
}

// store keeps cm with the next resourceVersion; f.mu is held.
func (f *ConfigMaps) store(cm *corev1.ConfigMap) {
	f.version++
	cm.ResourceVersion = strconv.Itoa(f.version)
	f.objects[cm.Name] = cm
}

// valid refuses what the apiserver's validation refuses and a store could
// get wrong: no name, another namespace, data over 1 MiB.
func (f *ConfigMaps) valid(cm *corev1.ConfigMap) error {
	if cm.Name == "" {
		return apierrors.NewInvalid(configMapKind, "", field.ErrorList{field.Required(field.NewPath("metadata", "name"), "name or generateName is required")})
	}
	if cm.Namespace != "" && cm.Namespace != f.namespace {
		return apierrors.NewBadRequest("the namespace of the provided object does not match the namespace sent on the request")
	}
	size := 0
	for _, v := range cm.Data {
		size += len(v)
	}
	for _, v := range cm.BinaryData {
		size += len(v)
	}
	if size > maxConfigMapData {
		return apierrors.NewInvalid(configMapKind, cm.Name, field.ErrorList{field.TooLong(field.NewPath("data"), "", maxConfigMapData)})
	}
	return nil
}

// Events is audit's Events port in memory, for every namespace: names are
// taken once (AlreadyExists), and List filters by label and by the field
// selectors the apiserver supports for Events, refusing the others as it
// does. audit's contract test runs the same tests on it and on the real
// adapter.
type Events struct {
	mu      sync.Mutex
	version int
	events  map[types.NamespacedName]*corev1.Event
}

// NewEvents returns a cluster without events.
func NewEvents() *Events {
	return &Events{events: map[types.NamespacedName]*corev1.Event{}}
}

var eventsResource = corev1.Resource("events")

// Create implements audit.Events.
func (f *Events) Create(ctx context.Context, ev *corev1.Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if ev.Name == "" || ev.Namespace == "" {
		return apierrors.NewInvalid(schema.GroupKind{Kind: "Event"}, ev.Name, field.ErrorList{field.Required(field.NewPath("metadata"), "name and namespace are required")})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	key := types.NamespacedName{Namespace: ev.Namespace, Name: ev.Name}
	if _, ok := f.events[key]; ok {
		return apierrors.NewAlreadyExists(eventsResource, ev.Name)
	}
	stored := ev.DeepCopy()
	f.version++
	stored.ResourceVersion = strconv.Itoa(f.version)
	stored.UID = types.UID(uuid.NewUUID())
	f.events[key] = stored
	return nil
}

// List implements audit.Events.
func (f *Events) List(ctx context.Context, namespace, labelSelector, fieldSelector string) ([]corev1.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lsel, err := labels.Parse(labelSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("unable to parse requirement: %v", err))
	}
	fsel, err := fields.ParseSelector(fieldSelector)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	for _, r := range fsel.Requirements() {
		if _, ok := eventFields(&corev1.Event{})[r.Field]; !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("field label not supported: %s", r.Field))
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []corev1.Event
	for _, key := range slices.SortedFunc(maps.Keys(f.events), func(a, b types.NamespacedName) int { return strings.Compare(a.String(), b.String()) }) {
		ev := f.events[key]
		if key.Namespace == namespace && lsel.Matches(labels.Set(ev.Labels)) && fsel.Matches(eventFields(ev)) {
			out = append(out, *ev.DeepCopy())
		}
	}
	return out, nil
}

// eventFields are the fields the apiserver lets Events be selected by.
func eventFields(ev *corev1.Event) fields.Set {
	return fields.Set{
		"metadata.name":                  ev.Name,
		"metadata.namespace":             ev.Namespace,
		"involvedObject.kind":            ev.InvolvedObject.Kind,
		"involvedObject.namespace":       ev.InvolvedObject.Namespace,
		"involvedObject.name":            ev.InvolvedObject.Name,
		"involvedObject.uid":             string(ev.InvolvedObject.UID),
		"involvedObject.apiVersion":      ev.InvolvedObject.APIVersion,
		"involvedObject.resourceVersion": ev.InvolvedObject.ResourceVersion,
		"involvedObject.fieldPath":       ev.InvolvedObject.FieldPath,
		"reason":                         ev.Reason,
		"reportingComponent":             ev.ReportingController,
		"source":                         ev.Source.Component,
		"type":                           ev.Type,
	}
}
