package driver

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
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

// Get reads one revision.
func (d *Secrets) Get(ctx context.Context, key string) (*release.Release, error) {
	s, err := d.Client.Secrets(d.Namespace).Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, release.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get: failed to get %q: %w", key, err)
	}
	return fromData(string(s.Data["release"]), s.Labels, s.Namespace)
}

// Query lists the revisions whose labels match.
func (d *Secrets) Query(ctx context.Context, match map[string]string) ([]*release.Release, error) {
	l, err := d.Client.Secrets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(match).String()})
	if err != nil {
		return nil, fmt.Errorf("query: failed to query with labels: %w", err)
	}
	var out []*release.Release
	for i := range l.Items {
		s := &l.Items[i]
		r, err := fromData(string(s.Data["release"]), s.Labels, s.Namespace)
		if err != nil {
			// One undecodable object must not hide the others; Helm skips it too.
			continue
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, release.ErrNotFound
	}
	return out, nil
}

// List reads every revision in the namespace (all namespaces for "").
func (d *Secrets) List(ctx context.Context) ([]*release.Release, error) {
	l, err := d.Client.Secrets(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "owner=" + Owner})
	if err != nil {
		return nil, fmt.Errorf("list: failed to list: %w", err)
	}
	var out []*release.Release
	for i := range l.Items {
		if r, err := fromData(string(l.Items[i].Data["release"]), l.Items[i].Labels, l.Items[i].Namespace); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// Create stores a new revision.
func (d *Secrets) Create(ctx context.Context, key string, r *release.Release) error {
	s, err := d.object(key, r, "createdAt")
	if err != nil {
		return fmt.Errorf("create: failed to encode release %q: %w", r.Name, err)
	}
	if _, err := d.Client.Secrets(r.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return release.ErrExists
		}
		return fmt.Errorf("create: failed to create: %w", err)
	}
	return nil
}

// Update rewrites a revision.
func (d *Secrets) Update(ctx context.Context, key string, r *release.Release) error {
	s, err := d.object(key, r, "modifiedAt")
	if err != nil {
		return fmt.Errorf("update: failed to encode release %q: %w", r.Name, err)
	}
	if _, err := d.Client.Secrets(r.Namespace).Update(ctx, s, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update: failed to update: %w", err)
	}
	return nil
}

// Delete removes a revision and returns it.
func (d *Secrets) Delete(ctx context.Context, key string) (*release.Release, error) {
	r, err := d.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := d.Client.Secrets(d.Namespace).Delete(ctx, key, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("delete: failed to delete %q: %w", key, err)
	}
	return r, nil
}

func (d *Secrets) object(key string, r *release.Release, stamp string) (*corev1.Secret, error) {
	data, err := Encode(r)
	if err != nil {
		return nil, err
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: key, Namespace: r.Namespace, Labels: labelsFor(r, stamp, time.Now())},
		Type:       SecretType,
		Data:       map[string][]byte{"release": []byte(data)},
	}, nil
}

func fromData(data string, l map[string]string, ns string) (*release.Release, error) {
	r, err := Decode(data)
	if err != nil {
		return nil, err
	}
	r.Labels = userLabels(l)
	if r.Namespace == "" {
		r.Namespace = ns
	}
	return r, nil
}
