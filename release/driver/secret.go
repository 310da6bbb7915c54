package driver

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/chartd/chartd/release"
)

// Secrets stores revisions in Secrets of one namespace ("" lists all
// namespaces).
type Secrets struct {
	Client typedcorev1.SecretsGetter
	// Namespace is the release namespace; "" reads every namespace.
	Namespace string
}

// Name is the HELM_DRIVER name.
func (d *Secrets) Name() string { return "Secret" }

func (d *Secrets) store() objectStore[corev1.Secret, corev1.SecretList] {
	return objectStore[corev1.Secret, corev1.SecretList]{
		namespace: d.Namespace,
		in: func(ns string) objects[corev1.Secret, corev1.SecretList] {
			return d.Client.Secrets(ns)
		},
		items: func(l *corev1.SecretList) []corev1.Secret { return l.Items },
		payload: func(s *corev1.Secret) (string, map[string]string, string) {
			return string(s.Data["release"]), s.Labels, s.Namespace
		},
		build: func(meta metav1.ObjectMeta, data string) *corev1.Secret {
			return &corev1.Secret{ObjectMeta: meta, Type: SecretType, Data: map[string][]byte{"release": []byte(data)}}
		},
	}
}

// Get reads one revision.
func (d *Secrets) Get(ctx context.Context, key string) (*release.Release, error) {
	return d.store().get(ctx, key)
}

// Query lists the revisions whose labels match.
func (d *Secrets) Query(ctx context.Context, match map[string]string) ([]*release.Release, error) {
	return d.store().query(ctx, match)
}

// List reads every revision in the namespace (all namespaces for "").
func (d *Secrets) List(ctx context.Context) ([]*release.Release, error) { return d.store().all(ctx) }

// Create stores a new revision.
func (d *Secrets) Create(ctx context.Context, key string, r *release.Release) error {
	return d.store().create(ctx, key, r)
}

// Update rewrites a revision.
func (d *Secrets) Update(ctx context.Context, key string, r *release.Release) error {
	return d.store().update(ctx, key, r)
}

// Delete removes a revision and returns it.
func (d *Secrets) Delete(ctx context.Context, key string) (*release.Release, error) {
	return d.store().delete(ctx, key)
}
