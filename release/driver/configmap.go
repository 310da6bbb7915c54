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

// ConfigMaps stores revisions in ConfigMaps, laid out like Secrets.
type ConfigMaps struct {
	Client    typedcorev1.ConfigMapsGetter
	Namespace string
}

// Name is the HELM_DRIVER name.
func (d *ConfigMaps) Name() string { return "ConfigMap" }

// Get reads one revision.
func (d *ConfigMaps) Get(ctx context.Context, key string) (*release.Release, error) {
	c, err := d.Client.ConfigMaps(d.Namespace).Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, release.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get: failed to get %q: %w", key, err)
	}
	return fromData(c.Data["release"], c.Labels, c.Namespace)
}

// Query lists the revisions whose labels match.
func (d *ConfigMaps) Query(ctx context.Context, match map[string]string) ([]*release.Release, error) {
	l, err := d.Client.ConfigMaps(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: labels.SelectorFromSet(match).String()})
	if err != nil {
		return nil, fmt.Errorf("query: failed to query with labels: %w", err)
	}
	var out []*release.Release
	for i := range l.Items {
		c := &l.Items[i]
		r, err := fromData(c.Data["release"], c.Labels, c.Namespace)
		if err != nil {
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
func (d *ConfigMaps) List(ctx context.Context) ([]*release.Release, error) {
	l, err := d.Client.ConfigMaps(d.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "owner=" + Owner})
	if err != nil {
		return nil, fmt.Errorf("list: failed to list: %w", err)
	}
	var out []*release.Release
	for i := range l.Items {
		if r, err := fromData(l.Items[i].Data["release"], l.Items[i].Labels, l.Items[i].Namespace); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

// Create stores a new revision.
func (d *ConfigMaps) Create(ctx context.Context, key string, r *release.Release) error {
	c, err := d.object(key, r, "createdAt")
	if err != nil {
		return fmt.Errorf("create: failed to encode release %q: %w", r.Name, err)
	}
	if _, err := d.Client.ConfigMaps(r.Namespace).Create(ctx, c, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return release.ErrExists
		}
		return fmt.Errorf("create: failed to create: %w", err)
	}
	return nil
}

// Update rewrites a revision.
func (d *ConfigMaps) Update(ctx context.Context, key string, r *release.Release) error {
	c, err := d.object(key, r, "modifiedAt")
	if err != nil {
		return fmt.Errorf("update: failed to encode release %q: %w", r.Name, err)
	}
	if _, err := d.Client.ConfigMaps(r.Namespace).Update(ctx, c, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update: failed to update: %w", err)
	}
	return nil
}

// Delete removes a revision and returns it.
func (d *ConfigMaps) Delete(ctx context.Context, key string) (*release.Release, error) {
	r, err := d.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := d.Client.ConfigMaps(d.Namespace).Delete(ctx, key, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("delete: failed to delete %q: %w", key, err)
	}
	return r, nil
}

func (d *ConfigMaps) object(key string, r *release.Release, stamp string) (*corev1.ConfigMap, error) {
	data, err := Encode(r)
	if err != nil {
		return nil, err
	}
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: key, Namespace: r.Namespace, Labels: labelsFor(r, stamp, time.Now())},
		Data:       map[string]string{"release": data},
	}, nil
}
