package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// RelatedPods is the key under which GetWithRelated returns the pods the
// workloads select, Helm's.
const RelatedPods = "v1/Pod(related)"

// tableAccept asks the apiserver for its server-side printing (a
// meta.k8s.io Table), as kubectl get and Helm's status do.
const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

// GetWithRelated reads the live objects of l, as Tables when table, keyed
// by "version/Kind" as Helm 3's status --show-resources keys them, with
// the pods each workload (Deployment, ReplicaSet, StatefulSet, DaemonSet,
// Job, ReplicationController) selects under RelatedPods, each selector
// once. Objects that cannot be read are left out, as Helm leaves them.
func (c *Client) GetWithRelated(ctx context.Context, l ResourceList, table bool) (map[string][]runtime.Object, error) {
	out := map[string][]runtime.Object{}
	var selectors []map[string]string
	for _, r := range l {
		gvk := r.Mapping.GroupVersionKind
		obj, err := c.getObject(ctx, r.Mapping, r.Namespace(), r.Name(), table)
		if err != nil {
			c.Logger.Debug("get failed", "kind", r.Kind(), "name", r.Name(), "err", err)
			continue
		}
		key := gvk.Version + "/" + gvk.Kind
		out[key] = append(out[key], obj)
		sel, ok := podSelector(r.Object)
		if !ok || containsSelector(selectors, sel) {
			continue
		}
		selectors = append(selectors, sel)
		pods, err := c.listPods(ctx, r.Namespace(), labels.Set(sel).AsSelector().String(), table)
		if err != nil {
			c.Logger.Debug("listing related pods failed", "kind", r.Kind(), "name", r.Name(), "err", err)
			continue
		}
		out[RelatedPods] = append(out[RelatedPods], pods...)
	}
	return out, nil
}

func containsSelector(l []map[string]string, s map[string]string) bool {
	for _, x := range l {
		if reflect.DeepEqual(x, s) {
			return true
		}
	}
	return false
}

// podSelector is the label selector of a workload's pods.
func podSelector(u *unstructured.Unstructured) (map[string]string, bool) {
	var sel map[string]string
	var ok bool
	switch u.GetKind() {
	case "ReplicaSet", "Deployment", "StatefulSet", "DaemonSet", "Job":
		sel, ok, _ = unstructured.NestedStringMap(u.Object, "spec", "selector", "matchLabels")
	case "ReplicationController":
		sel, ok, _ = unstructured.NestedStringMap(u.Object, "spec", "selector")
	}
	return sel, ok
}

var podsMapping = &meta.RESTMapping{
	Resource:         schema.GroupVersionResource{Version: "v1", Resource: "pods"},
	GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "Pod"},
	Scope:            meta.RESTScopeNamespace,
}

func (c *Client) listPods(ctx context.Context, ns, selector string, table bool) ([]runtime.Object, error) {
	if !table {
		// One PodList per selector, as Helm's resource builder returns.
		l, err := c.Dynamic.Resource(podsMapping.Resource).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return nil, err
		}
		return []runtime.Object{l}, nil
	}
	obj, err := c.getTable(ctx, podsMapping, ns, "", selector)
	if err != nil {
		return nil, err
	}
	return []runtime.Object{obj}, nil
}

func (c *Client) getObject(ctx context.Context, m *meta.RESTMapping, ns, name string, table bool) (runtime.Object, error) {
	if table {
		return c.getTable(ctx, m, ns, name, "")
	}
	ri := c.Dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return ri.Namespace(ns).Get(ctx, name, metav1.GetOptions{})
	}
	return ri.Get(ctx, name, metav1.GetOptions{})
}

// getTable GETs an object (or, without a name, lists by selector) as the
// apiserver's Table, with each row's object included.
func (c *Client) getTable(ctx context.Context, m *meta.RESTMapping, ns, name, selector string) (*unstructured.Unstructured, error) {
	gv := m.Resource.GroupVersion()
	prefix := "/apis/" + gv.String()
	if gv.Group == "" {
		prefix = "/api/" + gv.Version
	}
	req := c.Discovery.RESTClient().Get().AbsPath(prefix).
		NamespaceIfScoped(ns, m.Scope.Name() == meta.RESTScopeNameNamespace).
		Resource(m.Resource.Resource).SetHeader("Accept", tableAccept).Param("includeObject", "Object")
	if name != "" {
		req = req.Name(name)
	}
	if selector != "" {
		req = req.Param("labelSelector", selector)
	}
	raw, err := req.Do(ctx).Raw()
	if err != nil {
		return nil, err
	}
	var obj map[string]any
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", m.Resource.Resource, name, err)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

// ToTable decodes a Table that GetWithRelated returned, its rows' objects
// included, for a table printer; ok is false for any other object.
func ToTable(obj runtime.Object) (*metav1.Table, bool) {
	u, isU := obj.(*unstructured.Unstructured)
	if !isU || u.GetKind() != "Table" || !strings.HasPrefix(u.GetAPIVersion(), "meta.k8s.io/") {
		return nil, false
	}
	t := &metav1.Table{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t); err != nil {
		return nil, false
	}
	for i := range t.Rows {
		row := &t.Rows[i]
		if row.Object.Raw == nil || row.Object.Object != nil {
			continue
		}
		o, err := runtime.Decode(unstructured.UnstructuredJSONScheme, row.Object.Raw)
		if err != nil {
			return nil, false
		}
		row.Object.Object = o
	}
	return t, true
}
