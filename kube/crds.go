package kube

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// WaitCRDsServed waits, up to a minute, until each of crds (just created)
// is established and its kinds map through the client's discovery, and
// leaves the client's mapper knowing them. Established alone is not
// enough: the apiserver sets it before its discovery serves the new group,
// and a release built in between fails with "no matches for kind". With no
// CRDs it only resets the mapper, as any CRD install ends.
func (c *Client) WaitCRDsServed(ctx context.Context, crds ResourceList) error {
	c.ResetMapper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for _, r := range crds {
		for {
			live, err := c.Get(ctx, r)
			if err == nil && crdEstablished(live) {
				c.ResetMapper()
				if c.crdMapped(live) {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("CRD %s was not established: %w", r.Name(), ctx.Err())
			case <-tick.C:
			}
		}
	}
	return nil
}

// crdMapped reports whether every served version of crd's kind maps.
func (c *Client) crdMapped(crd *unstructured.Unstructured) bool {
	group, _, _ := unstructured.NestedString(crd.Object, "spec", "group")
	kind, _, _ := unstructured.NestedString(crd.Object, "spec", "names", "kind")
	versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
	for _, v := range versions {
		m, _ := v.(map[string]any)
		name, _ := m["name"].(string)
		if served, _ := m["served"].(bool); !served {
			continue
		}
		if _, err := c.Mapper.RESTMapping(schema.GroupKind{Group: group, Kind: kind}, name); err != nil {
			return false
		}
	}
	return true
}

// crdEstablished reports a CRD whose Established condition holds.
func crdEstablished(crd *unstructured.Unstructured) bool {
	return crdCondition(crd, "Established", "True")
}

// crdCondition reports whether crd has the condition typ with status.
func crdCondition(crd *unstructured.Unstructured, typ, status string) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ && m["status"] == status {
			return true
		}
	}
	return false
}
