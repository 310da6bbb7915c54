package driver

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/chartd/chartd/release"
)

// ConfigMaps stores revisions in ConfigMaps, laid out like Secrets.
type ConfigMaps struct {
	Client    typedcorev1.ConfigMapsGetter
	Namespace string
}

// Name is the HELM_DRIVER name.
func (d *ConfigMaps) Name() string { return "ConfigMap" }

func (d *ConfigMaps) store() objectStore[corev1.ConfigMap, corev1.ConfigMapList] {
	return objectStore[corev1.ConfigMap, corev1.ConfigMapList]{
		namespace: d.Namespace,
		in: func(ns string) objects[corev1.ConfigMap, corev1.ConfigMapList] {
			return d.Client.ConfigMaps(ns)
		},
		items: func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items },
		payload: func(c *corev1.ConfigMap) (string, map[string]string, string) {
			return c.Data["release"], c.Labels, c.Namespace
		},
		build: func(meta metav1.ObjectMeta, data string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"release": data}}
		},
	}
}

// Get reads one revision.
func (d *ConfigMaps) Get(ctx context.Context, key string) (*release.Release, error) {
	return d.store().get(ctx, key)
}

// Query lists the revisions whose labels match.
func (d *ConfigMaps) Query(ctx context.Context, match map[string]string) ([]*release.Release, error) {
	return d.store().query(ctx, match)
}

// List reads every revision in the namespace (all namespaces for "").
func (d *ConfigMaps) List(ctx context.Context) ([]*release.Release, error) { return d.store().all(ctx) }

// Create stores a new revision.
func (d *ConfigMaps) Create(ctx context.Context, key string, r *release.Release) error {
	return d.store().create(ctx, key, r)
}

// Update rewrites a revision.
func (d *ConfigMaps) Update(ctx context.Context, key string, r *release.Release) error {
	return d.store().update(ctx, key, r)
}

// Delete removes a revision and returns it.
func (d *ConfigMaps) Delete(ctx context.Context, key string) (*release.Release, error) {
	return d.store().delete(ctx, key)
}
