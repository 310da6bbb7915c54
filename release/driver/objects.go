package driver

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/chartd/chartd/release"
)

// objects is what the Secret and ConfigMap drivers need of client-go's
// typed client for one namespace: typedcorev1.SecretInterface and
// ConfigMapInterface both have it.
type objects[T, L any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*T, error)
	List(ctx context.Context, opts metav1.ListOptions) (*L, error)
	Create(ctx context.Context, obj *T, opts metav1.CreateOptions) (*T, error)
	Update(ctx context.Context, obj *T, opts metav1.UpdateOptions) (*T, error)
	Delete(ctx context.Context, name string, opts metav1.DeleteOptions) error
}

// objectStore is the one implementation of a driver over Kubernetes
// objects, Helm's layout: a revision is the object named by its key, its
// encoded release under data "release", Helm's labels on it. The drivers
// differ only in the kind and how a payload sits in it.
type objectStore[T, L any] struct {
	namespace string
	in        func(namespace string) objects[T, L]
	items     func(*L) []T
	// payload reads an object's encoded release, labels and namespace.
	payload func(*T) (data string, labels map[string]string, namespace string)
	// build makes the object that stores an encoded release.
	build func(meta metav1.ObjectMeta, data string) *T
}

func (s objectStore[T, L]) get(ctx context.Context, key string) (*release.Release, error) {
	o, err := s.in(s.namespace).Get(ctx, key, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, release.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get: failed to get %q: %w", key, err)
	}
	return fromData(s.payload(o))
}

// list reads the revisions whose labels match selector. One undecodable
// object must not hide the others; Helm skips it too.
func (s objectStore[T, L]) list(ctx context.Context, selector string) ([]*release.Release, error) {
	l, err := s.in(s.namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	var out []*release.Release
	items := s.items(l)
	for i := range items {
		if r, err := fromData(s.payload(&items[i])); err == nil {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s objectStore[T, L]) query(ctx context.Context, match map[string]string) ([]*release.Release, error) {
	out, err := s.list(ctx, labels.SelectorFromSet(match).String())
	if err != nil {
		return nil, fmt.Errorf("query: failed to query with labels: %w", err)
	}
	if len(out) == 0 {
		return nil, release.ErrNotFound
	}
	return out, nil
}

func (s objectStore[T, L]) all(ctx context.Context) ([]*release.Release, error) {
	out, err := s.list(ctx, "owner="+Owner)
	if err != nil {
		return nil, fmt.Errorf("list: failed to list: %w", err)
	}
	return out, nil
}

func (s objectStore[T, L]) create(ctx context.Context, key string, r *release.Release) error {
	o, err := s.object(key, r, "createdAt")
	if err != nil {
		return fmt.Errorf("create: failed to encode release %q: %w", r.Name, err)
	}
	if _, err := s.in(r.Namespace).Create(ctx, o, metav1.CreateOptions{}); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return release.ErrExists
		}
		return fmt.Errorf("create: failed to create: %w", err)
	}
	return nil
}

func (s objectStore[T, L]) update(ctx context.Context, key string, r *release.Release) error {
	o, err := s.object(key, r, "modifiedAt")
	if err != nil {
		return fmt.Errorf("update: failed to encode release %q: %w", r.Name, err)
	}
	if _, err := s.in(r.Namespace).Update(ctx, o, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update: failed to update: %w", err)
	}
	return nil
}

func (s objectStore[T, L]) delete(ctx context.Context, key string) (*release.Release, error) {
	r, err := s.get(ctx, key)
	if err != nil {
		return nil, err
	}
	if err := s.in(s.namespace).Delete(ctx, key, metav1.DeleteOptions{}); err != nil {
		return nil, fmt.Errorf("delete: failed to delete %q: %w", key, err)
	}
	return r, nil
}

func (s objectStore[T, L]) object(key string, r *release.Release, stamp string) (*T, error) {
	data, err := Encode(r)
	if err != nil {
		return nil, err
	}
	return s.build(metav1.ObjectMeta{Name: key, Namespace: r.Namespace, Labels: labelsFor(r, stamp, time.Now())}, data), nil
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
