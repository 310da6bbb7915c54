package kube

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// Resource is one object and where it lives in the API.
type Resource struct {
	Object  *unstructured.Unstructured
	Mapping *meta.RESTMapping
}

// Kind is the object's kind.
func (r *Resource) Kind() string { return r.Mapping.GroupVersionKind.Kind }

// Name is the object's name.
func (r *Resource) Name() string { return r.Object.GetName() }

// Namespace is the object's namespace ("" for cluster-scoped kinds).
func (r *Resource) Namespace() string { return r.Object.GetNamespace() }

// String names the object as Helm's messages do: Kind "name".
func (r *Resource) String() string { return fmt.Sprintf("%s %q", r.Kind(), r.Name()) }

// sameObject compares identity: group, kind, namespace and name (not the
// version, so a manifest moving apps/v1beta2 to apps/v1 is one object).
func sameObject(a, b *Resource) bool {
	return a.Mapping.GroupVersionKind.GroupKind() == b.Mapping.GroupVersionKind.GroupKind() &&
		a.Namespace() == b.Namespace() && a.Name() == b.Name()
}

// ResourceList is an ordered list of objects.
type ResourceList []*Resource

// Get returns the entry of l that is the same object as r, or nil.
func (l ResourceList) Get(r *Resource) *Resource {
	for _, x := range l {
		if sameObject(x, r) {
			return x
		}
	}
	return nil
}

// Difference returns the entries of l that are not in o.
func (l ResourceList) Difference(o ResourceList) ResourceList {
	var out ResourceList
	for _, x := range l {
		if o.Get(x) == nil {
			out = append(out, x)
		}
	}
	return out
}

// Reverse returns l in reverse order.
func (l ResourceList) Reverse() ResourceList {
	out := make(ResourceList, len(l))
	for i, x := range l {
		out[len(l)-1-i] = x
	}
	return out
}

// ErrNoMapping: the API server serves no such kind (a CRD is missing).
var ErrNoMapping = errors.New("resource mapping not found")

// decode parses a multi-document YAML (or JSON) stream into objects,
// expanding v1 List documents.
func decode(manifest string) ([]*unstructured.Unstructured, error) {
	d := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(manifest), 4096)
	var out []*unstructured.Unstructured
	for {
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("error parsing manifest: %w", err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.IsList() {
			l, err := u.ToList()
			if err != nil {
				return nil, err
			}
			for i := range l.Items {
				out = append(out, &l.Items[i])
			}
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			var b bytes.Buffer
			fmt.Fprintf(&b, "%v", m)
			return nil, fmt.Errorf("error validating data: apiVersion and kind must be set: %.80s", b.String())
		}
		out = append(out, u)
	}
}

// noMapping words a missing kind as Helm does (the mapper's own error says
// the same, so it is not repeated).
func noMapping(u *unstructured.Unstructured, gvk schema.GroupVersionKind) error {
	return fmt.Errorf("%w for name: %q namespace: %q from \"\": no matches for kind %q in version %q\nensure CRDs are installed first",
		ErrNoMapping, u.GetName(), u.GetNamespace(), gvk.Kind, gvk.GroupVersion().String())
}

// Errors are several failures of one batch, worded as Helm's (its
// go-multierror's) "1 error occurred:\n\t* ...".
type Errors []error

func (e Errors) Error() string {
	items := make([]string, len(e))
	for i, err := range e {
		items[i] = "* " + err.Error()
	}
	word := "errors"
	if len(e) == 1 {
		word = "error"
	}
	return fmt.Sprintf("%d %s occurred:\n\t%s\n\n", len(e), word, strings.Join(items, "\n\t"))
}

// Unwrap returns the failures.
func (e Errors) Unwrap() []error { return e }
