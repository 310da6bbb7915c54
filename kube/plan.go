package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
)

// Planned is one object before and after a change.
type Planned struct {
	Resource *Resource
	// Live is the object in the cluster now; nil when it does not exist.
	Live *unstructured.Unstructured
	// After is what the change leaves; nil when the object is deleted.
	After *unstructured.Unstructured
}

// PlanOptions say how the change would be written.
type PlanOptions struct {
	ServerSide     bool
	ForceConflicts bool
	// Force replaces objects instead of patching them (client-side).
	Force bool
	// Enforce makes a client-side write of a kind without a Go type (a
	// custom resource) a merge patch of the whole target, not Helm 3's
	// patch from the old manifest, which is empty when the manifest did
	// not change: drift detection asks what the manifest says, not what
	// an upgrade would touch.
	Enforce bool
}

// Plan computes what Update (or, server-side, Apply) would do to the
// cluster without doing it. For every target that exists, the write the
// change would send is sent with dryRun=All, and the apiserver's answer is
// the object as it would be, defaults and admission included; so fields
// changed out of band show, where the change would undo them. A target
// that does not exist is shown as its manifest, as helm-diff shows new
// objects. Objects of original absent from target are deleted (After nil)
// unless annotated helm.sh/resource-policy: keep or already gone. The
// result is in target's order, then original's.
func (c *Client) Plan(ctx context.Context, original, target ResourceList, opt PlanOptions) ([]Planned, error) {
	lives, err := c.Fetch(ctx, target)
	if err != nil {
		return nil, fmt.Errorf("could not get information about the resource: %w", err)
	}
	out := make([]Planned, len(target))
	err = parallel(target, func(r *Resource) error {
		i := indexOf(target, r)
		out[i] = Planned{Resource: r, Live: lives[i], After: r.Object}
		if lives[i] == nil {
			return nil
		}
		after, err := c.dryRun(ctx, original.Get(r), r, lives[i], opt)
		if err != nil {
			return err
		}
		out[i].After = after
		return nil
	})
	if err != nil {
		return nil, err
	}
	gone := original.Difference(target)
	goneLive, err := c.Fetch(ctx, gone)
	if err != nil {
		return nil, fmt.Errorf("could not get information about the resource: %w", err)
	}
	for i, r := range gone {
		live := goneLive[i]
		if live == nil || live.GetAnnotations()[ResourcePolicyAnno] == KeepPolicy {
			continue
		}
		out = append(out, Planned{Resource: r, Live: live})
	}
	return out, nil
}

func indexOf(l ResourceList, r *Resource) int {
	for i, x := range l {
		if x == r {
			return i
		}
	}
	return -1
}

// dryRun sends the write of target to its live object with dryRun=All:
// an apply server-side, else Helm 3's patch (3-way against old, the
// target itself where there is no old, as for an adopted object) or,
// with Force, a replacement.
func (c *Client) dryRun(ctx context.Context, old, target *Resource, live *unstructured.Unstructured, opt PlanOptions) (*unstructured.Unstructured, error) {
	dry := []string{metav1.DryRunAll}
	switch {
	case opt.ServerSide:
		return c.applyOne(ctx, target, opt.ForceConflicts, true)
	case opt.Force:
		obj := target.Object.DeepCopy()
		obj.SetResourceVersion(live.GetResourceVersion())
		out, err := c.resource(target).Update(ctx, obj, metav1.UpdateOptions{FieldManager: FieldManager, DryRun: dry})
		if err != nil {
			return nil, fmt.Errorf("failed to replace object: %w", err)
		}
		return out, nil
	}
	if old == nil {
		old = target
	}
	patch, pt, err := CreatePatch(old.Object, target.Object, live)
	if err != nil {
		return nil, fmt.Errorf("failed to create patch: %w", err)
	}
	if opt.Enforce && pt == types.MergePatchType {
		if patch, err = json.Marshal(target.Object); err != nil {
			return nil, err
		}
	}
	if string(patch) == "{}" {
		return live, nil
	}
	out, err := c.resource(target).Patch(ctx, target.Name(), pt, patch, metav1.PatchOptions{FieldManager: FieldManager, DryRun: dry})
	if err != nil {
		return nil, fmt.Errorf("cannot patch %q with kind %s: %w", target.Name(), target.Kind(), err)
	}
	return out, nil
}

// serverAnnotations are written by the cluster or by Helm's bookkeeping,
// not by charts; helm-diff leaves them out of its comparison too.
var serverAnnotations = []string{
	"deployment.kubernetes.io/revision",
	"kubectl.kubernetes.io/last-applied-configuration",
	"meta.helm.sh/release-name",
	"meta.helm.sh/release-namespace",
}

// Tidy returns a copy of u without the fields the server keeps for itself
// (status, managedFields, resourceVersion, uid, creationTimestamp,
// generation, selfLink) and the annotations above, so what remains is
// what a chart or a user decides.
func Tidy(u *unstructured.Unstructured) *unstructured.Unstructured {
	if u == nil {
		return nil
	}
	out := u.DeepCopy()
	unstructured.RemoveNestedField(out.Object, "status")
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"} {
		unstructured.RemoveNestedField(out.Object, "metadata", f)
	}
	if a := out.GetAnnotations(); a != nil {
		for _, k := range serverAnnotations {
			delete(a, k)
		}
		if len(a) == 0 {
			unstructured.RemoveNestedField(out.Object, "metadata", "annotations")
		} else {
			out.SetAnnotations(a)
		}
	}
	return out
}

// Key names an object as helm-diff does: "namespace, name, Kind (group)",
// the group being the apiVersion without its version ("v1" for the core
// group), so reports and scripts read the same.
func Key(r *Resource) string {
	return fmt.Sprintf("%s, %s, %s (%s)", r.Namespace(), r.Name(), r.Kind(), APIGroup(r))
}

// APIGroup is the object's apiVersion without its version, as helm-diff
// reports it: "apps", or "v1" for the core group.
func APIGroup(r *Resource) string {
	api := r.Object.GetAPIVersion()
	if i := strings.LastIndex(api, "/"); i >= 0 {
		api = api[:i]
	}
	return api
}
