package kube

import (
	"context"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// listThreshold is how many objects of one resource in one namespace make a
// LIST cheaper than a GET each: a chart of 200 ConfigMaps costs one request
// instead of 200.
const listThreshold = 4

// listPage bounds one LIST response.
const listPage = 500

type group struct {
	gvr schema.GroupVersionResource
	ns  string
}

// Fetch reads the live objects of l, nil for those that do not exist,
// aligned with l. Objects of one resource and namespace are read with one
// (paged) LIST when there are enough of them; where LIST is not allowed
// (a Role granting only get), each is read with a GET, as Helm does.
func (c *Client) Fetch(ctx context.Context, l ResourceList) ([]*unstructured.Unstructured, error) {
	out := make([]*unstructured.Unstructured, len(l))
	groups := map[group][]int{}
	var order []group
	for i, r := range l {
		g := group{r.Mapping.Resource, r.Namespace()}
		if _, ok := groups[g]; !ok {
			order = append(order, g)
		}
		groups[g] = append(groups[g], i)
	}
	var mu sync.Mutex
	errs := make([]error, len(l))
	first := -1 // the first failed GET in l's order, which the error reports
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxParallel)
	get := func(i int) {
		defer wg.Done()
		sem <- struct{}{}
		defer func() { <-sem }()
		u, err := c.Get(ctx, l[i])
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			out[i] = u
		case !apierrors.IsNotFound(err):
			errs[i] = err
			if first < 0 || i < first {
				first = i
			}
		}
	}
	for _, g := range order {
		idx := groups[g]
		if len(idx) >= listThreshold {
			byName, err := c.list(ctx, l[idx[0]])
			if err == nil {
				for _, i := range idx {
					out[i] = byName[l[i].Name()]
				}
				continue
			}
			if !apierrors.IsForbidden(err) && !apierrors.IsMethodNotSupported(err) {
				return nil, err
			}
		}
		for _, i := range idx {
			wg.Add(1)
			go get(i)
		}
	}
	wg.Wait()
	if first >= 0 {
		return out, &FetchError{Resource: l[first], Err: errs[first]}
	}
	return out, nil
}

// FetchError is a failed read, naming the first object that failed.
type FetchError struct {
	Resource *Resource
	Err      error
}

func (e *FetchError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e *FetchError) Unwrap() error { return e.Err }

// list reads every object of r's resource in r's namespace, by name.
func (c *Client) list(ctx context.Context, r *Resource) (map[string]*unstructured.Unstructured, error) {
	byName := map[string]*unstructured.Unstructured{}
	opts := metav1.ListOptions{Limit: listPage}
	for {
		ul, err := c.resource(r).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range ul.Items {
			u := &ul.Items[i]
			// A LIST's items carry no kind; the patch code needs it.
			u.SetGroupVersionKind(r.Mapping.GroupVersionKind)
			byName[u.GetName()] = u
		}
		if opts.Continue = ul.GetContinue(); opts.Continue == "" {
			return byName, nil
		}
	}
}

// Lookup serves the template function lookup, as Helm's does: one object by
// name, or with name "" the List of the kind (in namespace, or everywhere
// for ""); a missing object is an empty map.
func (c *Client) Lookup(ctx context.Context, apiVersion, kind, namespace, name string) (map[string]any, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return map[string]any{}, err
	}
	m, err := c.Mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: kind}, gv.Version)
	if err != nil {
		return map[string]any{}, err
	}
	ri := c.Dynamic.Resource(m.Resource)
	var rif interface {
		Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
		List(context.Context, metav1.ListOptions) (*unstructured.UnstructuredList, error)
	} = ri
	if namespace != "" && m.Scope.Name() == "namespace" {
		rif = ri.Namespace(namespace)
	}
	if name != "" {
		u, err := rif.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return map[string]any{}, nil
		}
		if err != nil {
			return map[string]any{}, err
		}
		return u.Object, nil
	}
	l, err := rif.List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return map[string]any{}, nil
	}
	if err != nil {
		return map[string]any{}, err
	}
	return l.UnstructuredContent(), nil
}
